"""Chunker: content-defined cut points — deterministic, bounded, and local to an edit."""

from __future__ import annotations

import random

import pytest

from layerw.store.chunk import chunk_id
from layerw.store.chunker import Chunker


def noise(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def ids(chunker: Chunker, data: bytes) -> list[str]:
    return [chunk_id(c) for c in chunker.cut(data)]


def test_chunks_cover_the_data_in_order_within_bounds() -> None:
    data = noise(4 << 20)
    chunker = Chunker()
    chunks = list(chunker.cut(data))
    assert b"".join(chunks) == data
    assert all(len(c) <= chunker.max_size for c in chunks)
    assert all(len(c) >= chunker.min_size for c in chunks[:-1])
    mean = len(data) / len(chunks)
    assert 48 * 1024 < mean < 128 * 1024, mean  # avg 64 KiB + min 16 KiB (cut-point skipping)


def test_cutting_is_deterministic_across_instances_and_buffer_types() -> None:
    data = noise(1 << 20, seed=7)
    assert ids(Chunker(), data) == ids(Chunker(), bytearray(data)) == ids(Chunker(), memoryview(data))


def test_inserting_bytes_changes_only_nearby_chunks() -> None:
    data = noise(8 << 20, seed=3)
    edited = data[:3_000_000] + b"an insertion in the middle of a large asset" + data[3_000_000:]
    before, after = ids(Chunker(), data), ids(Chunker(), edited)
    changed = set(after) - set(before)
    assert len(after) > 80
    assert 1 <= len(changed) <= 2, changed
    assert before[:10] == after[:10] and before[-10:] == after[-10:]


def test_sizes_are_tunable_and_checked() -> None:
    data = noise(1 << 20)
    small = list(Chunker(min_size=2048, avg_size=8192, max_size=32768).cut(data))
    assert len(small) > 60 and max(len(c) for c in small) <= 32768
    assert list(Chunker().cut(b"")) == []
    with pytest.raises(ValueError, match="power of two"):
        Chunker(avg_size=60000)
    with pytest.raises(ValueError):
        Chunker(min_size=1 << 20, avg_size=1 << 16, max_size=1 << 18)
