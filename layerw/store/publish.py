"""publish: put a build directory into a store as a new version, then move a channel to it.

Order is what makes a publish safe to interrupt and re-run: (1) every chunk (existing ones are
skipped after one HEAD each, so a re-run resumes), (2) the module delta from the version the
channel pointed at, (3) the manifest, (4) the channel — the only mutable write, done last. Until
step 4 nothing a client reads has changed; a half-published version has no manifest. The build's
source-line table (``game.symbols.json``; a component build's ``game.component.symbols.json``, of the code
pages run) goes in before the manifest, as a debug file outside the chunks (``Store.put_symbols``): crash
reports can name source lines, players never download it.
Given a ``replay_twin`` maker (``layerw publish`` passes ``layerw.toolchain.replaytwin.twin_of``: the
store knows no toolchain), a core module's (or a WASM-4 cart's) replay twin and offset map go in as chunks the
manifest names (``Manifest.replay``), so every page can replay a game worker's timeout on them and name its frames; a
component build's are of its transpiled core module that holds the game's code (``GAME_CORE``).

A chunk found already stored in step 1 that no version on the channel names may be an orphan
(of a deleted version or an abandoned publish) which a concurrent ``gc`` is about to delete: gc
spares every chunk a manifest names, but it may have read the manifests before step 3. So after
step 3 publish checks each such chunk again and uploads any that went, before step 4 makes the
version visible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import wasmtime

from layerw.bundle import GAME_CORE, DirBundle
from layerw.config import GameConfig
from layerw.contract import wasm_features
from layerw.errors import ChunkCorrupt, InvalidModule, NotPublished, VersionExists
from layerw.observability import tracing
from layerw.store.channel import DEFAULT, check_name
from layerw.store.chunk import IDENTITY, LEVEL, ZSTD, ChunkRef, chunk_id, chunk_key, encode, encode_as
from layerw.store.chunker import Chunker
from layerw.store.delta import make_delta
from layerw.store.manifest import Delta, FileEntry, Manifest, ReplayFiles, check_version
from layerw.store.store import Store

log = logging.getLogger("layerw.store")
ChunkDone = Callable[[int, bool], None]  # (decoded bytes, reused) after each distinct chunk


class TwinMaker(Protocol):
    """A module (and, for a component build, its name among the transpiled files) -> its replay twin and
    offset map (replaytwin.twin_of)."""

    def __call__(self, module: bytes, core: str | None = None, /) -> tuple[bytes, bytes]: ...


@dataclass(frozen=True)
class PublishResult:
    manifest: Manifest
    channel: str
    chunks_new: int
    chunks_reused: int
    bytes_total: int  # decoded bytes of the module and every asset (what players download)
    bytes_uploaded: int  # stored bytes actually sent (chunks and delta)
    delta: Delta | None
    seconds: float
    replay_uploaded: int = 0  # stored bytes sent of the replay twin and map (not above: a page reads them on a timeout only)


File = tuple[str, str]  # ("module", ""), ("asset", name), ("transpiled", name) or ("replay", "twin" | "map")


def plan(build_dir: Path, chunker: Chunker,
         replay_twin: TwinMaker | None = None) -> tuple[DirBundle, dict[File, tuple[str, list[memoryview]]]]:
    """The bundle and, per file, its SHA-256 and its chunks in order; with ``replay_twin``, a core
    module's or a WASM-4 cart's twin and offset map too (a component build's: of its GAME_CORE)."""
    bundle = DirBundle(Path(build_dir))
    check_version(bundle.config.version, f"{build_dir}: [game] version")
    if not bundle.config.component:  # bytes that are not a valid module never ship (components: checked at build)
        try:
            wasmtime.Module.validate(wasmtime.Engine(wasm_features()), bundle.module)
        except wasmtime.WasmtimeError as e:
            raise InvalidModule(f"{build_dir}: the module does not validate ({str(e).splitlines()[0]}); "
                                "rebuild it with `layerw build`") from e
    files: dict[File, tuple[str, list[memoryview]]] = {
        ("module", ""): (chunk_id(bundle.module), list(chunker.cut(bundle.module)))}
    for name in sorted(bundle.asset_names()):
        data = bundle.read_asset(name)
        files["asset", name] = (chunk_id(data), list(chunker.cut(data)))
    for name, path in bundle.transpiled.items():  # a component build's form for browsers
        data = path.read_bytes()
        files["transpiled", name] = (chunk_id(data), list(chunker.cut(data)))
    made = None
    if replay_twin is not None and not bundle.config.component:  # a core module or a WASM-4 cart
        made = replay_twin(bundle.module)
    elif replay_twin is not None and GAME_CORE in bundle.transpiled:  # a component build's: of the game's core module
        made = replay_twin(bundle.transpiled[GAME_CORE].read_bytes(), GAME_CORE)
    if made is not None:
        for name, data in zip(("twin", "map"), made, strict=True):
            files["replay", name] = (chunk_id(data), list(chunker.cut(data)))
    return bundle, files


def publish(build_dir: Path, store: Store, channel: str = DEFAULT, *, chunker: Chunker | None = None,
            level: int = LEVEL, on_plan: Callable[[int, int], None] | None = None,
            on_chunk: ChunkDone | None = None, replay_twin: TwinMaker | None = None) -> PublishResult:
    """Publish ``build_dir``; ``on_plan(total_bytes, distinct_chunks)`` then ``on_chunk`` report progress;
    ``replay_twin`` makes the module's replay twin, stored with it (None: the version has none)."""
    with tracing.span("publish", build=str(build_dir), store=store.url, channel=channel) as span:
        result = _publish(Path(build_dir), store, channel, chunker or Chunker(), level, on_plan, on_chunk, replay_twin)
        if span is not None:
            span.set_attributes({"layerw.game": result.manifest.game, "layerw.version": result.manifest.version,
                                 "layerw.bytes": result.bytes_uploaded})
        return result


def _publish(build_dir: Path, store: Store, channel: str, chunker: Chunker, level: int,
             on_plan: Callable[[int, int], None] | None, on_chunk: ChunkDone | None,
             replay_twin: TwinMaker | None) -> PublishResult:
    start = time.perf_counter()
    check_name(channel)
    bundle, files = plan(build_dir, chunker, replay_twin)
    # The manifest keeps what a player needs, not where the sources were.
    config = replace(bundle.config, sources=(), assets_dir=GameConfig.assets_dir)

    def chunks_of(replay: bool) -> dict[str, memoryview]:
        return {chunk_id(c): c for (kind, _), (_, chunks) in files.items() if (kind == "replay") == replay for c in chunks}

    played = chunks_of(replay=False)  # what players download (counted in the result)
    distinct = played | chunks_of(replay=True)  # and the replay twin's, which a page reads only on a timeout
    total = sum(len(c) for (kind, _), (_, chunks) in files.items() if kind != "replay" for c in chunks)
    if on_plan:
        on_plan(sum(len(distinct[id_]) for id_ in played), len(played))

    def upload(item: tuple[str, memoryview]) -> tuple[ChunkRef, bool]:
        id_, data = item
        found = store.head(chunk_key(id_))
        if found is not None:  # resume / dedup: zstd is stored only when strictly smaller
            ref = ChunkRef(id_, len(data), ZSTD if found.size < len(data) else IDENTITY, found.size)
        else:
            ref, stored = encode(data, level)
            store.write_chunk(ref, stored)
        if on_chunk and id_ in played:
            on_chunk(len(data), found is not None)
        return ref, found is not None

    with ThreadPoolExecutor(max_workers=store.parallelism, thread_name_prefix="layerw-publish") as pool:
        done = dict(zip(distinct, pool.map(tracing.carry(upload), distinct.items()), strict=True))
    refs = {id_: ref for id_, (ref, _) in done.items()}
    reused = sum(1 for id_, (_, was) in done.items() if was and id_ in played)
    uploaded = sum(ref.stored_size for id_, (ref, was) in done.items() if not was and id_ in played)
    replay_uploaded = sum(ref.stored_size for id_, (ref, was) in done.items() if not was and id_ not in played)

    def restore(ref: ChunkRef) -> int:
        """Upload a chunk again exactly as the manifest names it; returns the bytes sent."""
        stored = encode_as(distinct[ref.id], ref.encoding, level)
        store.write_chunk(ref, stored)
        return len(stored)

    def entry(sha256: str, chunks: list[memoryview]) -> FileEntry:
        return FileEntry(sum(len(c) for c in chunks), sha256, tuple(refs[chunk_id(c)] for c in chunks))

    module = entry(*files.pop(("module", "")))
    replay = ReplayFiles(entry(*files.pop(("replay", "twin"))), entry(*files.pop(("replay", "map")))) \
        if ("replay", "twin") in files else None
    assets = {name: entry(*file) for (kind, name), file in files.items() if kind == "asset"}
    transpiled = {name: entry(*file) for (kind, name), file in files.items() if kind == "transpiled"}

    previous = _previous(store, config.name, channel)
    delta = _delta(store, previous, config.version, bundle.module, module.sha256)
    if delta is not None and not store.has_chunk(delta[0].id):
        store.put(chunk_key(delta[0].id), delta[1])
        uploaded += len(delta[1])
    manifest = Manifest(config, module, assets, (delta[0],) if delta else (), chunker.describe(), transpiled, replay)
    manifest = _write_manifest(store, manifest, bundle.read_symbols())
    # Reused chunks that only this new manifest names: gc may have been deleting them meanwhile.
    named = previous.chunk_ids() if previous is not None else set()
    maybe_orphans = [id_ for id_, (_, was) in done.items() if was and id_ not in named]
    if maybe_orphans:
        with ThreadPoolExecutor(max_workers=store.parallelism, thread_name_prefix="layerw-publish") as pool:
            gone = [id_ for id_, there in zip(maybe_orphans, pool.map(store.has_chunk, maybe_orphans), strict=True)
                    if not there]
            if gone:
                log.warning("%d reused chunks of %s %s were deleted (by gc?) during the publish; uploading them again",
                            len(gone), config.name, config.version)
                uploaded += sum(pool.map(restore, (refs[id_] for id_ in gone)))
    store.set_channel(config.name, channel, config.version)
    return PublishResult(manifest, channel, len(played) - reused, reused, total, uploaded,
                         delta[0] if delta else None, time.perf_counter() - start, replay_uploaded)


def _previous(store: Store, game: str, channel: str) -> Manifest | None:
    """The version ``channel`` points at now, if any."""
    try:
        return store.resolve(game, channel)
    except NotPublished:
        return None


def _delta(store: Store, previous: Manifest | None, version: str, module: bytes,
           sha256: str) -> tuple[Delta, bytes] | None:
    """A patch from the module of the previous version on the channel, when that differs."""
    if previous is None or previous.version == version or previous.module.sha256 == sha256:
        return None
    game = previous.game
    try:
        old = b"".join(store.read_chunk(c.id, c.encoding) for c in previous.module.chunks)
    except (NotPublished, ChunkCorrupt) as e:  # a damaged old version must not block a new one
        log.warning("no module delta from %s %s: %s", game, previous.version, e)
        return None
    blob = make_delta(old, module)
    return Delta(previous.module.sha256, chunk_id(blob), len(blob)), blob


def _write_manifest(store: Store, manifest: Manifest, symbols: bytes | None) -> Manifest:
    """Write the symbols (when the build has them) then the manifest, or keep the version already
    there when it holds the same content (and its symbols)."""
    try:
        existing = store.manifest(manifest.game, manifest.version)
    except NotPublished:
        if symbols is not None:  # before the manifest: a visible version has its symbols
            store.put_symbols(manifest.game, manifest.version, symbols)
        store.put_manifest(manifest)
        return manifest
    def content(m: Manifest) -> object:
        return (m.config, m.module.sha256, {name: e.sha256 for name, e in m.assets.items()},
                {name: e.sha256 for name, e in m.transpiled.items()})

    if content(existing) != content(manifest):
        raise VersionExists(f"{manifest.game} {manifest.version} is already published with other content; "
                            "versions never change: raise [game] version in layerw.toml and publish again")
    return existing
