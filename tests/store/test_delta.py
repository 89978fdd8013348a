"""Delta: a one-function change ships as a tiny standard zstd patch, and a client with the old module uses it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from layerw.errors import ChunkCorrupt
from layerw.store.bundle import StoreBundle
from layerw.store.delta import apply_delta, make_delta
from layerw.store.local import LocalStore
from layerw.store.publish import publish

MODULE = "game.wasm"


def test_delta_for_a_one_function_change_is_small_and_exact(pong_versions: Callable[..., Path]) -> None:
    old = (pong_versions("1.0.0") / MODULE).read_bytes()
    new = (pong_versions("1.1.0", "5") / MODULE).read_bytes()
    assert old != new
    delta = make_delta(old, new)
    assert len(delta) <= 0.02 * len(new), (len(delta), len(new))
    assert len(delta) < len(zstandard.ZstdCompressor(level=19).compress(new)) / 20
    assert apply_delta(old, delta, hashlib.sha256(new).hexdigest()) == new
    # A standard frame: any zstd decoder given the old module as raw-content dictionary applies it.
    d = zstandard.ZstdCompressionDict(old, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    assert zstandard.ZstdDecompressor(dict_data=d).decompress(delta) == new


def test_a_delta_that_does_not_give_the_module_is_rejected(pong_versions: Callable[..., Path]) -> None:
    old = (pong_versions("1.0.0") / MODULE).read_bytes()
    new = (pong_versions("1.1.0", "5") / MODULE).read_bytes()
    delta = make_delta(old, new)
    with pytest.raises(ChunkCorrupt):
        apply_delta(new, delta, hashlib.sha256(new).hexdigest())  # wrong base
    with pytest.raises(ChunkCorrupt):
        apply_delta(old, delta, "0" * 64)


def test_publish_stores_a_delta_and_a_client_with_the_old_module_fetches_only_it(
        local_store: LocalStore, pong_versions: Callable[..., Path], cache_dir: Path) -> None:
    v1 = publish(pong_versions("1.0.0"), local_store)
    assert v1.delta is None
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as first:
        assert first.stats.module_from == "chunks"
    v2 = publish(pong_versions("1.1.0", "5"), local_store)
    assert v2.delta is not None and v2.delta.from_sha256 == v1.manifest.module.sha256
    assert v2.manifest.deltas == (v2.delta,) and v2.delta.id in v2.manifest.chunk_ids()
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as second:
        assert second.module == (pong_versions("1.1.0", "5") / MODULE).read_bytes()
        assert second.stats.module_from == "delta"
        assert second.stats.bytes_fetched == v2.delta.size  # preloads were cached by the first run
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as third:
        assert third.stats.module_from == "cache" and third.stats.bytes_fetched == 0
