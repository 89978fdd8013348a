"""gc: delete the chunks that no manifest references any more.

A chunk is deleted only when no manifest of any game names it (delta blobs included) *and* it was
written at least ``min_age_s`` ago (an hour by default), so gc cannot delete the chunks of a
publish still in progress, whose manifest does not exist yet. Chunks are listed before manifests
are read, so a manifest that appears meanwhile still protects its chunks. A publish that reuses an
old orphan chunk while gc runs checks it again after writing its manifest and re-uploads it if gc
took it (``layerw.store.publish``). Manifests and channels are never deleted here.

``gc_rooms`` collects abandoned room checkpoints: every object of a room whose newest object is
older than ``max_age_s`` (a live room rewrites its head every fraction of a second; a room nobody
rejoined for that long is never resumed, ``checkpoint.resume``). ``layerw gc`` runs both, and
``layerw serve`` runs ``gc_rooms`` when it starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from layerw.store.chunk import is_chunk_id
from layerw.store.store import CHUNKS, ROOMS, Store

MIN_AGE_S = 3600.0
ROOM_MAX_AGE_S = 3600.0  # a room checkpoint untouched this long is abandoned: never resumed, collected


@dataclass(frozen=True)
class GcResult:
    referenced: int  # distinct chunks named by some manifest
    kept_young: int  # unreferenced, but written less than min_age_s ago
    deleted: int
    deleted_bytes: int


def gc(store: Store, *, now: float | None = None, min_age_s: float = MIN_AGE_S, dry_run: bool = False) -> GcResult:
    """Delete unreferenced chunks older than ``min_age_s``; ``now`` is injectable for tests."""
    stored = [o for o in store.list(CHUNKS) if is_chunk_id(o.key.rsplit("/", 1)[-1])]
    referenced: set[str] = set()
    for game in store.games():
        for v in store.versions(game):
            referenced |= store.manifest(game, v.version).chunk_ids()
    now = time.time() if now is None else now
    young = deleted = deleted_bytes = 0
    for obj in stored:
        if obj.key.rsplit("/", 1)[-1] in referenced:
            continue
        if now - obj.modified < min_age_s:
            young += 1
            continue
        if not dry_run:
            store.delete(obj.key)
        deleted += 1
        deleted_bytes += obj.size
    return GcResult(len(referenced), young, deleted, deleted_bytes)


@dataclass(frozen=True)
class RoomsGcResult:
    kept: int  # rooms whose newest checkpoint object is younger than max_age_s
    rooms: int  # abandoned rooms collected
    deleted: int  # their objects
    deleted_bytes: int


def gc_rooms(store: Store, *, max_age_s: float = ROOM_MAX_AGE_S, now: float | None = None,
             dry_run: bool = False) -> RoomsGcResult:
    """Delete every object of the rooms whose newest checkpoint object is older than ``max_age_s``."""
    rooms: dict[str, list[tuple[str, int, float]]] = {}
    for obj in store.list(ROOMS):
        parts = obj.key[len(ROOMS):].split("/")
        if len(parts) >= 3:  # <game>/<room>/<object...>
            rooms.setdefault(f"{parts[0]}/{parts[1]}", []).append((obj.key, obj.size, obj.modified))
    now = time.time() if now is None else now
    kept = collected = deleted = deleted_bytes = 0
    for objects in rooms.values():
        if now - max(modified for _, _, modified in objects) < max_age_s:
            kept += 1
            continue
        collected += 1
        for key, size, _ in sorted(objects, key=lambda o: not o[0].rsplit("/", 1)[-1].startswith("head")):
            if not dry_run:  # heads first: no process resumes from a head whose snapshots are going
                store.delete(key)
            deleted += 1
            deleted_bytes += size
    return RoomsGcResult(kept, collected, deleted, deleted_bytes)
