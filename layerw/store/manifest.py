"""Manifest: one published version of a game — its config, its module and assets as chunk lists.

Stored at ``manifests/<game>/<version>.json``, written once, after every chunk it names exists, and
never changed. Schema 1 (keys sorted, no whitespace, so the same content gives the same bytes):

    {"schema": 1,
     "game": {"name", "version", "tick_rate", "width", "height", "capabilities", "preload",
              "memory_mb", "tick_ms", "players", "component"[, "filter"][, "stream"]},
     "module": {"size", "sha256", "chunks": [{"id", "size", "encoding", "stored_size"}, ...]},
     "assets": {"<name>": {"size", "sha256", "chunks": [...]}, ...},
     "transpiled": {"<file>": {"size", "sha256", "chunks": [...]}, ...},
     "deltas": [{"from_sha256", "id", "size"}, ...],
     "chunking": {"algorithm", "min_size", "avg_size", "max_size"}[,
     "replay": {"twin": {"size", "sha256", "chunks"}, "map": {"size", "sha256", "chunks"}}]}

``game.filter`` ("linear") is present only where the game does not sample textures "nearest" (the
default), and ``game.stream`` (sounds played while they arrive) only where it is not empty, so
manifests of games that leave them alone are the same bytes as before the keys existed.

A component build (``game.component``) has the component as its module, which native hosts run,
and its ``jco transpile`` output as ``transpiled`` files (an ES module of glue and the core modules
it instantiates), which browsers run; a core build has no transpiled files.

``replay`` (present only where publish made one, so a version published before the key existed reads as
before) is the module's (a core module's or a WASM-4 cart's) replay twin (a component build's: of its
transpiled ``GAME_CORE``, which it must list; ``layerw.toolchain.replaytwin``) and its offset map, stored
as chunks like the module: a page replays
a game worker's timed-out call on the twin to name its frames. Neither holds more than the module: the
twin is made from the module's bytes alone (its code, data and custom sections, a poll import at each
loop head), and the map holds SHA-256s and pairs of code offsets only; so every page may read them,
unlike the symbols.

A delta's blob (stored as a chunk, ``id`` = SHA-256 of the blob) is one standard zstd frame that
decompresses, with the module whose SHA-256 is ``from_sha256`` loaded as a raw-content
dictionary, to this version's module. Parsing is strict: unknown keys, wrong types, bad ids or
unsafe asset names raise ``ManifestError``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from layerw.bundle import GAME_CORE
from layerw.config import GameConfig
from layerw.errors import ConfigError, ManifestError
from layerw.store.chunk import ENCODINGS, ChunkRef, is_chunk_id

SCHEMA = 1
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
GAME_KEYS = ("name", "version", "tick_rate", "width", "height", "capabilities", "preload", "memory_mb", "tick_ms",
             "players", "component", "filter", "stream")
TOP_KEYS = ("schema", "game", "module", "assets", "transpiled", "deltas", "chunking")  # and "replay", optional
OPTIONAL_GAME_KEYS: dict[str, object] = {"filter": GameConfig.filter, "stream": []}  # omitted from the JSON at this default


def check_version(version: str, where: str = "version") -> str:
    """A version string safe to use in a store key and a URL."""
    if not _VERSION.match(version):
        raise ManifestError(f"{where}: version {version!r} must be letters, digits and . + _ - (at most 64)")
    return version


def check_asset_name(name: str, where: str = "asset") -> str:
    """An asset name safe as a relative path everywhere: no '..', no absolute path, no backslash."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or "\0" in name or any(p in ("", ".", "..") for p in parts):
        raise ManifestError(f"{where}: unsafe asset name {name!r}")
    return name


@dataclass(frozen=True)
class FileEntry:
    """The module or one asset: total size, SHA-256 of the whole, and its chunks in order."""

    size: int
    sha256: str
    chunks: tuple[ChunkRef, ...]

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256, "chunks": [c.to_json() for c in self.chunks]}


@dataclass(frozen=True)
class Delta:
    """A zstd patch from the module with SHA-256 ``from_sha256`` to this version's module."""

    from_sha256: str
    id: str
    size: int

    def to_json(self) -> dict[str, object]:
        return {"from_sha256": self.from_sha256, "id": self.id, "size": self.size}


@dataclass(frozen=True)
class ReplayFiles:
    """A version's replay twin and its offset map (JSON), for pages that replay a timed-out call."""

    twin: FileEntry
    map: FileEntry

    def to_json(self) -> dict[str, object]:
        return {"twin": self.twin.to_json(), "map": self.map.to_json()}


@dataclass(frozen=True)
class Manifest:
    config: GameConfig
    module: FileEntry
    assets: Mapping[str, FileEntry]
    deltas: tuple[Delta, ...] = ()
    chunking: Mapping[str, object] = field(default_factory=dict)
    transpiled: Mapping[str, FileEntry] = field(default_factory=dict)  # a component build, for browsers
    replay: ReplayFiles | None = None  # the module's replay twin, where publish made one

    @property
    def game(self) -> str:
        return self.config.name

    @property
    def version(self) -> str:
        return self.config.version

    def chunk_ids(self) -> set[str]:
        """Every chunk this version needs, delta blobs included (what gc must keep)."""
        ids = {c.id for c in self.module.chunks} | {d.id for d in self.deltas}
        replay = [self.replay.twin, self.replay.map] if self.replay is not None else []
        for entry in [*self.assets.values(), *self.transpiled.values(), *replay]:
            ids.update(c.id for c in entry.chunks)
        return ids

    def to_json(self) -> dict[str, object]:
        c = self.config
        game = {k: getattr(c, k) for k in GAME_KEYS}
        game["capabilities"], game["preload"], game["stream"] = list(c.capabilities), list(c.preload), list(c.stream)
        for k, default in OPTIONAL_GAME_KEYS.items():
            if game[k] == default:
                del game[k]
        doc: dict[str, object] = {
            "schema": SCHEMA, "game": game, "module": self.module.to_json(),
            "assets": {n: e.to_json() for n, e in sorted(self.assets.items())},
            "transpiled": {n: e.to_json() for n, e in sorted(self.transpiled.items())},
            "deltas": [d.to_json() for d in self.deltas], "chunking": dict(self.chunking)}
        if self.replay is not None:
            doc["replay"] = self.replay.to_json()
        return doc

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def parse(cls, data: bytes, where: str = "manifest") -> Manifest:
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ManifestError(f"{where}: not JSON: {e}") from e
        d = _obj(doc, where)
        _obj(d, where, TOP_KEYS + (("replay",) if "replay" in d else ()))
        if d["schema"] != SCHEMA:
            raise ManifestError(f"{where}: schema {d['schema']!r}, this host reads schema {SCHEMA}: upgrade layerw")
        g = _obj(d["game"], f"{where}: game")
        g = _obj(OPTIONAL_GAME_KEYS | g, f"{where}: game", GAME_KEYS)
        _str(g["filter"], f"{where}: game.filter")
        for k in ("capabilities", "preload", "stream"):
            g[k] = tuple(_str(x, f"{where}: game.{k}") for x in _list(g[k], f"{where}: game.{k}"))
        for k in ("tick_rate", "width", "height", "memory_mb", "tick_ms", "players"):
            _int(g[k], f"{where}: game.{k}")
        if not isinstance(g["component"], bool):
            raise ManifestError(f"{where}: game.component: expected true or false, got {g['component']!r}")
        try:
            config = GameConfig(**{k: g[k] for k in GAME_KEYS})
            config.check(where)
        except (ConfigError, TypeError) as e:
            raise ManifestError(f"{where}: game: {e}") from e
        check_version(_str(config.version, f"{where}: game.version"), where)
        assets = {check_asset_name(_str(n, where), where): _entry(e, f"{where}: asset {n!r}")
                  for n, e in _obj(d["assets"], f"{where}: assets").items()}
        missing = sorted(set(config.preload) - set(assets))
        if missing:
            raise ManifestError(f"{where}: preload names assets the manifest does not list: {missing}")
        missing = sorted(set(config.stream) - set(assets))
        if missing:
            raise ManifestError(f"{where}: stream names assets the manifest does not list: {missing}")
        deltas = tuple(_delta(x, f"{where}: deltas") for x in _list(d["deltas"], f"{where}: deltas"))
        chunking = _obj(d["chunking"], f"{where}: chunking")
        transpiled = {_file_name(n, where): _entry(e, f"{where}: transpiled {n!r}")
                      for n, e in _obj(d["transpiled"], f"{where}: transpiled").items()}
        if transpiled and not config.component:
            raise ManifestError(f"{where}: lists transpiled files, which only a component build has")
        replay = _replay(d["replay"], f"{where}: replay") if "replay" in d else None
        if replay is not None and config.component and GAME_CORE not in transpiled:
            raise ManifestError(f"{where}: lists a replay twin, of the transpiled {GAME_CORE}, which it does not list")
        return cls(config, _entry(d["module"], f"{where}: module"), assets, deltas, chunking, transpiled, replay)


# --- strict readers -----------------------------------------------------------------------------

def _obj(v: Any, where: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ManifestError(f"{where}: expected an object, got {type(v).__name__}")
    if keys is not None and set(v) != set(keys):
        raise ManifestError(f"{where}: keys {sorted(v)} differ from {sorted(keys)}")
    return v


def _file_name(v: Any, where: str) -> str:
    name = check_asset_name(_str(v, where), where)
    if "/" in name:
        raise ManifestError(f"{where}: transpiled file {name!r} must be a plain file name")
    return name


def _list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise ManifestError(f"{where}: expected a list, got {type(v).__name__}")
    return v


def _int(v: Any, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ManifestError(f"{where}: expected a non-negative integer, got {v!r}")
    return v


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise ManifestError(f"{where}: expected a string, got {v!r}")
    return v


def _id(v: Any, where: str) -> str:
    if not isinstance(v, str) or not is_chunk_id(v):
        raise ManifestError(f"{where}: {v!r} is not a SHA-256 hex digest")
    return v


def _chunk(v: Any, where: str) -> ChunkRef:
    c = _obj(v, where, ("id", "size", "encoding", "stored_size"))
    if c["encoding"] not in ENCODINGS:
        raise ManifestError(f"{where}: encoding {c['encoding']!r} is not one of {ENCODINGS}")
    return ChunkRef(_id(c["id"], where), _int(c["size"], where), c["encoding"], _int(c["stored_size"], where))


def _entry(v: Any, where: str) -> FileEntry:
    e = _obj(v, where, ("size", "sha256", "chunks"))
    chunks = tuple(_chunk(c, f"{where} chunk {i}") for i, c in enumerate(_list(e["chunks"], where)))
    size = _int(e["size"], where)
    if sum(c.size for c in chunks) != size:
        raise ManifestError(f"{where}: chunk sizes add up to {sum(c.size for c in chunks)}, not {size}")
    return FileEntry(size, _id(e["sha256"], where), chunks)


def _delta(v: Any, where: str) -> Delta:
    d = _obj(v, where, ("from_sha256", "id", "size"))
    return Delta(_id(d["from_sha256"], where), _id(d["id"], where), _int(d["size"], where))


def _replay(v: Any, where: str) -> ReplayFiles:
    r = _obj(v, where, ("twin", "map"))
    return ReplayFiles(_entry(r["twin"], f"{where}.twin"), _entry(r["map"], f"{where}.map"))
