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



def test_gc_deleting_a_reused_orphan_mid_publish_cannot_break_the_new_version(
        store: Store, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The worst interleaving: publish finds an orphan chunk already stored (so it uploads nothing),
    and a gc that read the manifests before this publish wrote its own deletes that chunk right
    after. publish checks such chunks once its manifest exists and uploads them again before the
    channel moves, so the new version is whole."""
    level = noise(1 << 20, seed=7)
    first = publish(build_pong(tmp_path, "1.0.0", assets={"level.bin": level}), store)
    publish(build_pong(tmp_path, "1.1.0", "2"), store)
    store.delete_version("pong", "1.0.0")  # level.bin's chunks are orphans now
    orphans = {c.id for c in first.manifest.assets["level.bin"].chunks}
    put_manifest = store.put_manifest

    def then_gc_deletes_the_orphans(manifest: object) -> None:
        put_manifest(manifest)  # type: ignore[arg-type]
        for id_ in orphans:  # what the racing gc does: it listed them as old orphans
            store.delete(chunk_key(id_))

    monkeypatch.setattr(store, "put_manifest", then_gc_deletes_the_orphans)
    with caplog.at_level("WARNING", logger="layerw.store"):
        again = publish(build_pong(tmp_path, "1.2.0", "3", assets={"level.bin": level}), store)
    assert again.chunks_reused >= len(orphans)  # they were found stored, so not uploaded at first
    assert f"{len(orphans)} reused chunks of pong 1.2.0 were deleted" in caplog.text
    assert all(store.has_chunk(id_) for id_ in again.manifest.chunk_ids())
    with StoreBundle(store.url, "pong", options=store.options, cache_dir=cache_dir) as bundle:
        assert bundle.manifest.version == "1.2.0" and bundle.read_asset("level.bin") == level


def test_publish_rechecks_only_chunks_the_channels_version_does_not_name(
        local_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(build_pong(tmp_path, "1.0.0", assets={"level.bin": noise(1 << 20, seed=7)}), local_store)
    asked: list[str] = []
    has_chunk = local_store.has_chunk

    def counting(id_: str) -> bool:
        asked.append(id_)
        return has_chunk(id_)

    monkeypatch.setattr(local_store, "has_chunk", counting)
    publish(build_pong(tmp_path, "1.1.0", "2", assets={"level.bin": noise(1 << 20, seed=7)}), local_store)
    assert len(asked) <= 1  # at most the delta's check: every reused chunk is named by 1.0.0
