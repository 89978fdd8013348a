"""StoreBundle: a published game as a Bundle — module and preloads up front, other assets on demand.

Opening resolves the manifest (by channel or version), then fetches the module (from the local
cache, else as a delta from a cached older module, else as chunks) and every preload asset's
chunks, concurrently. Any other asset is fetched when the game requests it: ``read_asset`` blocks
on that asset's chunks only. Everything fetched lands in the on-disk ``ChunkCache``, so a second
run downloads nothing, and verified against its id on the way.

A StoreBundle is picklable: it carries the store URL, its options and the manifest, not a
connection; a worker process opens its own connection on first use and shares the disk cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from layerw.bundle import Bundle, DirBundle
from layerw.cart import CartBundle
from layerw.errors import AssetError, AssetNotFound, ChunkCorrupt, NotPublished, StoreError, StoreUnavailable
from layerw.observability import tracing
from layerw.store.cache import ChunkCache
from layerw.store.chunk import IDENTITY, ChunkRef, chunk_id
from layerw.store.delta import apply_delta
from layerw.store.manifest import FileEntry
from layerw.store.store import Store, StoredChunk

log = logging.getLogger("layerw.store")
RESUME_S = 60.0  # how long a fetch keeps retrying an unreachable store before the game sees an error


@dataclass
class FetchStats:
    """What this bundle (in this process) took from the store and from the cache."""

    chunks_fetched: int = 0
    bytes_fetched: int = 0  # stored (compressed) bytes over the wire
    chunks_cached: int = 0
    module_from: str = ""  # "cache", "delta" or "chunks"


class StoreBundle(Bundle):
    def __init__(self, url: str, game: str, *, channel: str | None = None, version: str | None = None,
                 options: dict[str, Any] | None = None, cache_dir: Path | None = None, store: Store | None = None) -> None:
        self.url = url
        self.options = dict(options or {})
        self.cache = ChunkCache(cache_dir)
        self.stats = FetchStats()
        self._lock = threading.Lock()
        self._store: Store | None = store  # given: the caller's, shared (an S3 client costs ~0.1-0.5 s of CPU to make)
        self._owns_store = store is None
        with tracing.span("load", game=game, store=url, channel=channel or "", version=version or ""):
            self.manifest = self.store.resolve(game, channel, version)
            self.config = self.manifest.config
            self.module = self._load_module()
            self.check_preload(f"{game} {self.config.version} in {url}")
            self._fetch([c for name in self.config.preload for c in self.manifest.assets[name].chunks])

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                from layerw.store import open_store

                self._store, self._owns_store = open_store(self.url, **self.options), True
            return self._store

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_store"], state["_lock"], state["_owns_store"] = None, None, True  # reopened where it is unpickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._store is not None and self._owns_store:
            self._store.close()
        self._store = None

    def __enter__(self) -> StoreBundle:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- Bundle ---------------------------------------------------------------------------------

    def asset_names(self) -> set[str]:
        return set(self.manifest.assets)

    def read_symbols(self) -> bytes | None:
        """The version's source-line table from the store (the host reads it only on a trap); a component
        version's is of its game core module (GAME_CORE), as DirBundle's."""
        try:
            return self.store.symbols(self.config.name, self.manifest.version)
        except NotPublished:
            return None

    def read_asset(self, name: str) -> bytes:
        try:
            entry = self.manifest.assets[name]
        except KeyError:
            raise AssetNotFound(f"{self.config.name} has no asset {name!r}") from None
        try:
            return self._read_entry(entry, name)
        except StoreError as e:
            raise AssetError(f"{self.config.name}: asset {name!r} could not be fetched from {self.url}: {e}") from e

    # --- fetching -------------------------------------------------------------------------------

    def _load_module(self) -> bytes:
        entry = self.manifest.module
        data = self.cache.module(entry.sha256)
        how = "cache"
        if data is None:
            cached = self.cache.modules()
            delta = next((d for d in self.manifest.deltas if d.from_sha256 in cached), None)
            base = self.cache.module(delta.from_sha256) if delta else None
            if delta is not None and base is not None:
                blob = self._chunk(ChunkRef(delta.id, delta.size, IDENTITY, delta.size), keep=False)
                data, how = apply_delta(base, blob, entry.sha256, entry.size), "delta"
            else:
                data, how = self._read_entry(entry, "module"), "chunks"
            self.cache.put_module(entry.sha256, data)
        self.stats.module_from = how
        return data

    def _read_entry(self, entry: FileEntry, what: str) -> bytes:
        data = b"".join(self._fetch(entry.chunks))
        if chunk_id(data) != entry.sha256:
            raise ChunkCorrupt(f"{self.config.name} {what}: "
                               "chunks verified but the whole does not hash to the manifest's sha256")
        return data

    def _fetch(self, refs: Iterable[ChunkRef]) -> list[bytes]:
        refs = list(refs)
        if len(refs) <= 1:
            return [self._chunk(r) for r in refs]
        with ThreadPoolExecutor(max_workers=min(len(refs), self.store.parallelism)) as pool:
            return list(pool.map(tracing.carry(self._chunk), refs))

    def _chunk(self, ref: ChunkRef, keep: bool = True) -> bytes:
        data = self.cache.chunk(ref.id)
        if data is not None:
            with self._lock:
                self.stats.chunks_cached += 1
            return data
        with tracing.span("chunk fetch", chunk=ref.id, bytes=ref.stored_size):
            got = self._read_resuming(ref)
        with self._lock:
            self.stats.chunks_fetched += 1
            self.stats.bytes_fetched += len(got.data)
        if keep:
            self.cache.put_chunk(ref.id, got.content)
        return got.content


    def _read_resuming(self, ref: ChunkRef) -> StoredChunk:
        """Read a chunk; while the store is unreachable, keep trying with capped exponential
        backoff for up to ``RESUME_S`` (a store restarting mid-stream costs a pause, not the game)."""
        deadline = time.monotonic() + RESUME_S
        delay = 0.2
        while True:
            try:
                return self.store.read_stored_chunk(ref.id, ref.encoding, ref.size)
            except StoreUnavailable as e:
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(f"{e} (gave up after {RESUME_S:.0f} s of retries)") from e
                log.warning("store unreachable while fetching chunk %s; retrying in %.1f s", ref.id[:12], delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def open_bundle(game: str, store: str | None = None, *, channel: str | None = None, version: str | None = None,
                options: dict[str, Any] | None = None) -> Bundle:
    """A build directory or a WASM-4 cart file (``store`` None), or a game published in ``store``
    (by channel or version)."""
    if store is None:
        return CartBundle(Path(game)) if Path(game).is_file() else DirBundle(Path(game))
    return StoreBundle(store, game, channel=channel, version=version, options=options)
