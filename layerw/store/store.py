"""Store: where published games live — the interface, and the content-addressed layer on top of it.

Backends (``LocalStore``, ``S3Store``; chosen once by ``open_store(url)``) implement six key
operations: get, put, head, list, delete, close. Every ``put`` is atomic: a reader sees the whole
object or nothing, so an interrupted publish never leaves a half chunk that looks present. On top
of them this class gives what publish, the loader and a server need:

    chunks/<id[:2]>/<id>              immutable, verified against the id on every read
    manifests/<game>/<version>.json   immutable once written, after all its chunks
    channels/<game>/<channel>.json    the only mutable keys, written last
    debug/<game>/<version>/symbols.json  the module's source-line table (``layerw.symbols``), written
                                      before the manifest; for crash reports, never served by default

``read_stored_chunk`` returns the stored bytes with their encoding (a server sends them as they
are), ``channel`` gives the manifest's SHA-256 (a strong ETag) without reading the manifest.
"""

from __future__ import annotations

import builtins
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from layerw.errors import ManifestError, NotPublished, StoreError
from layerw.store.channel import Channel, check_name
from layerw.store.chunk import ChunkRef, chunk_key, decode
from layerw.store.manifest import Manifest, check_version

CHUNKS, MANIFESTS, CHANNELS, DEBUG = "chunks/", "manifests/", "channels/", "debug/"
ROOMS = "rooms/"  # room checkpoints: rooms/<game>/<room>/... (layerw.session.checkpoint)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: float  # seconds since the epoch, when it was written


@dataclass(frozen=True)
class StoredChunk:
    """A verified chunk: ``data`` as stored in ``encoding`` (what a server sends), ``content`` decoded."""

    id: str
    data: bytes
    encoding: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    published: float
    channels: tuple[str, ...]


class Store(ABC):
    url: str
    parallelism: int = 8  # concurrent requests a caller should make (uploads, chunk fetches)

    @property
    def options(self) -> dict[str, Any]:
        """Keyword arguments that, with ``url``, reopen this store: ``open_store(url, **options)``."""
        return {"parallelism": self.parallelism}

    # --- keys: what a backend implements ----------------------------------------------------

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; NotPublished when there is none."""

    @abstractmethod
    def put(self, key: str, data: bytes, *, durable: bool = False) -> None:
        """Write the whole object atomically; ``durable`` waits until it survives a power cut."""

    @abstractmethod
    def head(self, key: str) -> StoredObject | None:
        """The object's size and write time, or None when there is none."""

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    @abstractmethod
    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``, in no particular order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""

    def close(self) -> None:  # noqa: B027 - backends without handles need nothing here
        """Release connections and handles."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # --- chunks ---------------------------------------------------------------------------------

    def has_chunk(self, id_: str) -> bool:
        return self.exists(chunk_key(id_))

    def write_chunk(self, ref: ChunkRef, stored: bytes) -> None:
        """Store a chunk's encoded bytes (from ``chunk.encode``) under its id."""
        self.put(chunk_key(ref.id), stored)

    def read_stored_chunk(self, id_: str, encoding: str | None = None, size: int | None = None) -> StoredChunk:
        """The chunk as stored, verified against its id (ChunkCorrupt otherwise); ``size`` is the
        decoded size a manifest gives, which a zstd frame may not exceed."""
        try:
            stored = self.get(chunk_key(id_))
        except NotPublished:
            raise NotPublished(f"chunk {id_} is not in {self.url}") from None
        content, enc = decode(id_, stored, encoding, size)
        return StoredChunk(id_, stored, enc, content)

    def read_chunk(self, id_: str, encoding: str | None = None) -> bytes:
        """The chunk's decoded bytes, verified against its id (ChunkCorrupt otherwise)."""
        return self.read_stored_chunk(id_, encoding).content

    # --- manifests and channels -----------------------------------------------------------------

    def games(self) -> builtins.list[str]:
        """Every game with at least one published version."""
        return sorted({o.key.split("/")[1] for o in self.list(MANIFESTS) if o.key.count("/") == 2})

    def versions(self, game: str) -> builtins.list[VersionInfo]:
        """A game's published versions, oldest first, with the channels pointing at each."""
        prefix = f"{MANIFESTS}{check_name(game, 'game')}/"
        found = [(o.modified, o.key[len(prefix):-len(".json")]) for o in self.list(prefix) if o.key.endswith(".json")]
        by_version: dict[str, builtins.list[str]] = {}
        for ch in self.channels(game).values():
            by_version.setdefault(ch.version, []).append(ch.name)
        return [VersionInfo(v, t, tuple(sorted(by_version.get(v, ())))) for t, v in sorted(found)]

    def manifest_bytes(self, game: str, version: str) -> bytes:
        key = f"{MANIFESTS}{check_name(game, 'game')}/{check_version(version)}.json"
        try:
            return self.get(key)
        except NotPublished:
            raise NotPublished(f"{game} {version} is not published in {self.url} (see `layerw versions {game}`)") from None

    def manifest(self, game: str, version: str, data: bytes | None = None) -> Manifest:
        if data is None:
            data = self.manifest_bytes(game, version)
        m = Manifest.parse(data, where=f"{game} {version} manifest")
        if (m.game, m.version) != (game, version):
            raise ManifestError(f"manifests/{game}/{version}.json describes {m.game} {m.version}")
        return m

    def put_manifest(self, manifest: Manifest) -> None:
        self.put(f"{MANIFESTS}{manifest.game}/{check_version(manifest.version)}.json", manifest.to_bytes(), durable=True)

    def _symbols_key(self, game: str, version: str) -> str:
        return f"{DEBUG}{check_name(game, 'game')}/{check_version(version)}/symbols.json"

    def put_symbols(self, game: str, version: str, data: bytes) -> None:
        """Keep a version's source-line table (a debug file: not part of what players download)."""
        self.put(self._symbols_key(game, version), data, durable=True)

    def symbols(self, game: str, version: str) -> bytes:
        """A version's source-line table; NotPublished when it was published without one."""
        try:
            return self.get(self._symbols_key(game, version))
        except NotPublished:
            raise NotPublished(f"{game} {version} has no symbols in {self.url} (published from a build without "
                               "game.symbols.json)") from None

    def channels(self, game: str) -> dict[str, Channel]:
        prefix = f"{CHANNELS}{check_name(game, 'game')}/"
        names = [o.key[len(prefix):-len(".json")] for o in self.list(prefix) if o.key.endswith(".json")]
        return {n: self.channel(game, n) for n in sorted(names)}

    def channel(self, game: str, name: str) -> Channel:
        key = f"{CHANNELS}{check_name(game, 'game')}/{check_name(name)}.json"
        try:
            data = self.get(key)
        except NotPublished:
            raise NotPublished(f"{game} has no channel {name!r} in {self.url} (publish it, or `layerw promote`)") from None
        ch = Channel.parse(data, where=key)
        if (ch.game, ch.name) != (game, name):
            raise ManifestError(f"{key} describes {ch.game}/{ch.name}")
        return ch

    def set_channel(self, game: str, name: str, version: str) -> Channel:
        """Point ``name`` at ``version`` (publish, promote, rollback): one atomic write."""
        data = self.manifest_bytes(game, version)
        self.manifest(game, version, data)  # only a readable manifest may become visible
        ch = Channel(check_name(game, "game"), check_name(name), version, hashlib.sha256(data).hexdigest())
        self.put(f"{CHANNELS}{game}/{name}.json", ch.to_bytes(), durable=True)
        return ch

    def delete_version(self, game: str, version: str) -> None:
        """Unpublish a version no channel points at; its chunks go at the next ``gc``."""
        pinned = sorted(n for n, ch in self.channels(game).items() if ch.version == version)
        if pinned:
            raise StoreError(f"{game} {version} is on channel(s) {pinned}: promote another version first")
        self.manifest_bytes(game, version)  # NotPublished if there is none
        self.delete(f"{MANIFESTS}{game}/{version}.json")
        self.delete(self._symbols_key(game, version))

    def resolve(self, game: str, channel: str | None = None, version: str | None = None) -> Manifest:
        """The manifest a channel (default ``latest``) or an explicit version names."""
        if version is not None:
            return self.manifest(game, version)
        ch = self.channel(game, channel or "latest")
        data = self.manifest_bytes(game, ch.version)
        if hashlib.sha256(data).hexdigest() != ch.manifest_sha256:
            raise ManifestError(f"{game} {ch.version}: the manifest does not match the one channel "
                                f"{ch.name!r} pinned; re-run `layerw promote {game} {ch.version} --channel {ch.name}`")
        return self.manifest(game, ch.version, data)
