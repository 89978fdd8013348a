"""Chunk: SHA-256 ids of the decoded bytes, zstd only when smaller, every read verified."""

from __future__ import annotations

import hashlib
import random

import pytest

from layerw.errors import ChunkCorrupt
from layerw.store.chunk import IDENTITY, ZSTD, chunk_key, decode, encode


def test_compressible_chunks_are_stored_as_zstd_and_verified() -> None:
    data = b"layer-w " * 4096
    ref, stored = encode(data)
    assert ref.id == hashlib.sha256(data).hexdigest()
    assert (ref.encoding, ref.size, ref.stored_size) == (ZSTD, len(data), len(stored)) and len(stored) < 200
    assert decode(ref.id, stored, ZSTD) == (data, ZSTD)
    assert decode(ref.id, stored) == (data, ZSTD)  # a server that knows only the id


def test_incompressible_chunks_are_stored_as_they_are() -> None:
    data = random.Random(2).randbytes(5000)
    ref, stored = encode(data)
    assert ref.encoding == IDENTITY and stored == data and ref.stored_size == len(data)
    assert decode(ref.id, stored) == (data, IDENTITY)


def test_an_identity_chunk_that_looks_like_zstd_is_still_read_right() -> None:
    ref, frame = encode(b"x" * 10000)
    assert ref.encoding == ZSTD
    ref2, stored = encode(frame)  # a .zst asset: stored as is, starts with the zstd magic
    assert ref2.encoding == IDENTITY
    assert decode(ref2.id, stored) == (frame, IDENTITY)


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_damaged_bytes_raise_chunk_corrupt(damage: str) -> None:
    ref, stored = encode(b"abc" * 5000)
    other = encode(b"xyz" * 5000)[1]
    bad = {"flip": stored[:-1] + bytes([stored[-1] ^ 1]), "truncate": stored[:10], "swap": other}[damage]
    with pytest.raises(ChunkCorrupt, match=ref.id):
        decode(ref.id, bad)
    with pytest.raises(ChunkCorrupt):
        decode(ref.id, bad, ZSTD)


def test_keys_accept_only_chunk_ids() -> None:
    id_ = "ab" + "0" * 62
    assert chunk_key(id_) == f"chunks/ab/{id_}"
    for bad in ("../../etc/passwd", "AB" + "0" * 62, "0" * 63, ""):
        with pytest.raises(ValueError):
            chunk_key(bad)
