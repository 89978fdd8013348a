"""gc: delete the chunks that no manifest references any more.

A chunk is deleted only when no manifest of any game names it (delta blobs included) *and* it was
written at least ``min_age_s`` ago (an hour by default), so gc cannot delete the chunks of a
publish still in progress, whose manifest does not exist yet. Chunks are listed before manifests
are read, so a manifest that appears meanwhile still protects its chunks. A publish that reuses an
old orphan chunk while gc runs checks it again after writing its manifest and re-uploads it if gc
took it (``layerw.store.publish``). Manifests and channels are never deleted here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from layerw.store.chunk import is_chunk_id
from layerw.store.store import CHUNKS, Store

MIN_AGE_S = 3600.0


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
