"""ReplayTwins: the replay twins of published versions, for pages that replay a game worker's timeout.

``layerw build`` writes a twin only into development builds; a store holds none. Where the operator
serves debug files (``layerw serve --serve-symbols``) the server makes a version's twin and offset
map on first request from the version's module (``layerw.toolchain.replaytwin``), so a store page's
timeout names its frames too, and keeps the latest few (a MemoryLRU: a stream of versions costs
memory within its bounds only).
"""

from __future__ import annotations

import threading

from layerw.errors import ChunkCorrupt
from layerw.server.lru import MemoryLRU
from layerw.store.chunk import chunk_id
from layerw.store.store import Store
from layerw.toolchain.replaytwin import twin_of

MAX_TWINS = 8
MAX_BYTES = 64 << 20


class ReplayTwins:
    """A version's twin and offset map, made once while it stays among the latest MAX_TWINS."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._made: MemoryLRU[tuple[str, str], tuple[bytes, bytes]] = MemoryLRU(
            MAX_TWINS, MAX_BYTES, lambda pair: len(pair[0]) + len(pair[1]))
        self._lock = threading.Lock()  # routes ask from the thread pool

    def get(self, game: str, version: str) -> tuple[bytes, bytes]:
        """``game`` ``version``'s twin and offset map (NotPublished where the store has no such version)."""
        key = (game, version)
        with self._lock:
            made = self._made.get(key)
            if made is None:
                made = twin_of(self._module(game, version))
                self._made.put(key, made)
            return made

    def _module(self, game: str, version: str) -> bytes:
        entry = self.store.manifest(game, version).module
        data = b"".join(self.store.read_chunk(ref.id, ref.encoding) for ref in entry.chunks)
        if chunk_id(data) != entry.sha256:
            raise ChunkCorrupt(f"{game} {version}'s module: its chunks do not hash to the manifest's sha256")
        return data
