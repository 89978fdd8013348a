"""gc: every referenced chunk stays; unreferenced ones go, but never young ones (a publish in flight)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from layerw.errors import StoreError
from layerw.store.bundle import StoreBundle
from layerw.store.chunk import chunk_key, encode
from layerw.store.gc import gc
from layerw.store.publish import publish
from layerw.store.store import CHUNKS, Store
from tests.store.conftest import build_pong, noise

HOUR = 3600.0


def test_gc_keeps_referenced_and_young_chunks_and_deletes_old_orphans(store: Store, tmp_path: Path,
                                                                     cache_dir: Path) -> None:
    old = publish(build_pong(tmp_path, "1.0.0", assets={"level.bin": noise(1 << 20, seed=1)}), store)
    new = publish(build_pong(tmp_path, "1.1.0", "2", assets={"level.bin": noise(1 << 20, seed=2)}), store)
    stray_ref, stray = encode(b"left behind by an interrupted publish" * 100)
    store.write_chunk(stray_ref, stray)
    store.delete_version("pong", "1.0.0")  # unpublished: its unshared chunks are now orphans
    orphans = old.manifest.chunk_ids() - new.manifest.chunk_ids() | {stray_ref.id}
    before = {o.key for o in store.list(CHUNKS)}

    young = gc(store)  # everything was written just now
    assert (young.deleted, young.kept_young) == (0, len(orphans))
    assert {o.key for o in store.list(CHUNKS)} == before

    dry = gc(store, now=time.time() + 2 * HOUR, dry_run=True)
    assert dry.deleted == len(orphans) and {o.key for o in store.list(CHUNKS)} == before

    done = gc(store, now=time.time() + 2 * HOUR)
    assert done.deleted == len(orphans) and done.deleted_bytes > 1 << 20
    assert done.referenced == len(new.manifest.chunk_ids())
    left = {o.key for o in store.list(CHUNKS)}
    assert left == {chunk_key(i) for i in new.manifest.chunk_ids()}
    assert all(not store.exists(chunk_key(i)) for i in orphans)
    with StoreBundle(store.url, "pong", options=store.options, cache_dir=cache_dir) as bundle:
        assert bundle.read_asset("level.bin") == noise(1 << 20, seed=2)  # the live version still runs


def test_a_version_on_a_channel_cannot_be_unpublished(store: Store, tmp_path: Path) -> None:
    publish(build_pong(tmp_path, "1.0.0"), store)
    with pytest.raises(StoreError, match="promote another version"):
        store.delete_version("pong", "1.0.0")
    assert gc(store, now=time.time() + 2 * HOUR).deleted == 0

