"""ReplayTwins: the replay twins of published versions, for pages that replay a game worker's timeout.

``layerw publish`` stores a core module's (or a WASM-4 cart's) twin and offset map with the version (``Manifest.replay``; a
component build's: of its transpiled core module that holds the game's code, ``GAME_CORE``);
pages read them as chunks, and ``stored`` reads them for the debug route, to anyone: they hold nothing
the module does not (the twin is the module with a poll import at each loop head, the map pairs of code
offsets and SHA-256s). A version published before publish made twins has none; where the operator
serves debug files (``layerw serve --serve-symbols``, development) the server makes one on request from
the module (``made``) and keeps the latest few (a MemoryLRU: a stream of versions costs memory within
its bounds only). Making one costs CPU, so it is never done for an anonymous request without that gate.
"""

from __future__ import annotations

import threading

from layerw.bundle import GAME_CORE
from layerw.errors import ChunkCorrupt, NotPublished
from layerw.server.lru import MemoryLRU
from layerw.store.chunk import chunk_id
from layerw.store.manifest import FileEntry, Manifest
from layerw.store.store import Store
from layerw.toolchain.replaytwin import twin_of

MAX_TWINS = 8
MAX_BYTES = 64 << 20


class ReplayTwins:
    """A version's twin and offset map: the stored ones, or made once while among the latest MAX_TWINS."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._made: MemoryLRU[tuple[str, str], tuple[bytes, bytes]] = MemoryLRU(
            MAX_TWINS, MAX_BYTES, lambda pair: len(pair[0]) + len(pair[1]))
        self._lock = threading.Lock()  # routes ask from the thread pool

    def stored(self, game: str, version: str) -> tuple[bytes, bytes] | None:
        """The twin and map ``layerw publish`` stored with ``game`` ``version``; None where it stored none
        (NotPublished where the store has no such version). Reads only: safe for any request."""
        replay = self.store.manifest(game, version).replay
        if replay is None:
            return None
        what = f"{game} {version}'s replay"
        return self._file(replay.twin, f"{what} twin"), self._file(replay.map, f"{what} map")

    def made(self, game: str, version: str) -> tuple[bytes, bytes]:
        """``game`` ``version``'s twin and offset map made from its module (CPU: only behind --serve-symbols)."""
        key = (game, version)
        with self._lock:
            made = self._made.get(key)
            if made is None:
                manifest = self.store.manifest(game, version)
                if manifest.config.component:  # of the core module that holds the game's code, which browsers run
                    made = twin_of(self._file(self._game_core(manifest, game, version), f"{game} {version}'s {GAME_CORE}"),
                                   GAME_CORE)
                else:
                    made = twin_of(self._file(manifest.module, f"{game} {version}'s module"))
                self._made.put(key, made)
            return made

    @staticmethod
    def _game_core(manifest: Manifest, game: str, version: str) -> FileEntry:
        entry = manifest.transpiled.get(GAME_CORE)
        if entry is None:
            raise NotPublished(f"{game} {version} is a component build published without its browser form "
                               f"({GAME_CORE}): it has no replay twin")
        return entry

    def _file(self, entry: FileEntry, what: str) -> bytes:
        data = b"".join(self.store.read_chunk(ref.id, ref.encoding) for ref in entry.chunks)
        if chunk_id(data) != entry.sha256:
            raise ChunkCorrupt(f"{what}: its chunks do not hash to the manifest's sha256")
        return data
