"""ComponentGame: one running instance of a game *component* (``layerw build --component``).

Same interface as ``Game`` (tick, render, state_hash, snapshot, restore, take_new_textures,
close); ``open_game`` picks it once, from the build's layerw.toml. Per frame the host still makes
two calls, ``tick`` (the input record's bytes as list<u8>) and ``render`` (the command list back
as list<u8>: one copy, where the core path reads guest memory in place).

wasmtime-py cannot reach a component's linear memory, so the world exports a ``state`` interface
(see wit/game.wit): the guest hashes exactly the bytes the core host hashes (so a component build's
state hash equals its core build's), and snapshots read and write memory through it.

Plugins (``[plugins.SLOT]`` in layerw.toml) are components of their own, each in its own store,
linked into the game's imports at load time with only the capabilities the manifest grants.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import wasmtime
import wasmtime.component as wc

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import (
    GameCrashed,
    GameError,
    GameOutOfMemory,
    GameTimedOut,
    InvalidModule,
    SnapshotError,
)
from layerw.observability import tracing
from layerw.observability.logs import ContextLog
from layerw.runtime.assets import AssetTable, Event
from layerw.runtime.canon import Caller, trap_of
from layerw.runtime.engine import Engine
from layerw.runtime.imports import LOG_LEVELS, MAX_NAME
from layerw.runtime.inputs import InputState
from layerw.runtime.plugin import Plugin
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.wasi import SplitMix64

PAGE = 65536
CHUNK = 1 << 20  # bytes per state read/write call (each lands in the guest's command buffer)
HOST = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_HOST}@{abi.WIT_PACKAGE.partition('@')[2]}"
STATE = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_STATE}@{abi.WIT_PACKAGE.partition('@')[2]}"
log = logging.getLogger("layerw.game")


class ComponentGame:
    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0) -> None:
        self.bundle = bundle
        self.config = bundle.config
        self.name = bundle.config.name
        self.engine = engine
        self.seed = seed & ((1 << 64) - 1)
        self.module_sha256 = hashlib.sha256(bundle.module).hexdigest()
        self.component = engine.compile_component(bundle.module)
        self.tick_count = 0
        # Host functions live in wasmtime-py's process-wide table until their store is freed, so
        # they reach this game weakly: a game nobody closed is still collected (see Game).
        me = weakref.proxy(self)
        self._me = me
        self._tick_now: Callable[[], int] = lambda: me.tick_count
        self.log = ContextLog(log, tick=self._tick_now, game=self.name)
        self._failure: GameError | None = None
        self._dropped_reported = False
        self.plugins: dict[str, Plugin] = {}
        try:
            with tracing.span("instantiate", game=self.name, tick=0):
                self._instantiate(SplitMix64(self.seed))
                io = self._call("init", self.seed)
                self._read_io(io)
        except BaseException:
            self.close()  # a game that failed to start keeps no instance (nor its memory) alive
            raise

    # --- instance -------------------------------------------------------------------------------

    def _instantiate(self, rng: SplitMix64) -> None:
        for plugin in self.plugins.values():
            plugin.close()
        self.store = wasmtime.Store(self.engine.wasmtime)
        self.store.set_limits(memory_size=self.config.memory_bytes)
        self.rng = rng  # no WASI in a component game's world: kept for snapshots' host state
        self.assets = AssetTable(self.bundle.asset_names(), set(self.config.preload), self.bundle.read_asset)
        linker = wc.Linker(self.engine.wasmtime)
        with linker.root() as root, root.add_instance(HOST) as host:
            me = self._me
            host.add_func("asset-request", lambda *a: me._asset_request(*a))
            host.add_func("asset-size", lambda *a: me._asset_size(*a))
            host.add_func("asset-read", lambda *a: me._asset_read(*a))
            host.add_func("image-size", lambda *a: me._image_size(*a))
            host.add_func("log", lambda *a: me._log(*a))
        self.plugins = {ref.slot: Plugin(self.bundle, ref, self.engine, game=self.name) for ref in self.config.plugins}
        for plugin in self.plugins.values():
            plugin.define(linker, self._tick_now)
        self.engine.arm(self.store, self.config.tick_ms)  # instantiating runs _initialize
        try:
            instance = linker.instantiate(self.store, self.component)
        except wasmtime.WasmtimeError as e:
            trap = trap_of(e)
            if trap is not None:
                raise self._translate(*trap, "instantiate") from e
            text = str(e)
            if "memory" in text and ("limit" in text.lower() or "exceeds" in text):
                raise GameOutOfMemory(f"{self.name} needs more initial memory than its cap of "
                                      f"{self.config.memory_mb} MiB; raise [limits] memory_mb",
                                      game=self.name, tick=0) from e
            raise InvalidModule(f"{self.name} cannot be instantiated: {text.splitlines()[0]}") from e
        state = instance.get_export_index(self.store, STATE)
        self._funcs: dict[str, Caller] = {}
        for sig in abi.EXPORTS:
            if sig.wit:
                self._funcs[sig.wit_name] = self._export(instance, sig.wit_name)
        for sig in abi.STATE_EXPORTS:
            self._funcs[sig.wit_name] = self._export(instance, sig.wit_name, state)

    def _export(self, instance: wc.Instance, name: str, within: wc.ExportIndex | None = None) -> Caller:
        index = instance.get_export_index(self.store, name, within)
        func = instance.get_func(self.store, index) if index is not None else None
        if func is None:
            raise InvalidModule(f"{self.name} is not a layerw:game component: it does not export {name!r}")
        return Caller(func, self.store)

    def _read_io(self, record: Any) -> None:
        io = {name.replace("-", "_"): int(value) for name, value in vars(record).items()}
        self._check_io(**io)

    def _check_io(self, magic: int, abi_version: int, input_size: int, cmd_ptr: int, cmd_capacity: int,
                  state_begin: int, **_: int) -> None:
        if magic != abi.IO_MAGIC or abi_version != abi.ABI_VERSION:
            raise InvalidModule(f"{self.name} speaks ABI {abi_version} (magic {magic:#x}); "
                                f"this host speaks ABI {abi.ABI_VERSION}: rebuild the game")
        if input_size != abi.INPUT.size:
            raise InvalidModule(f"{self.name}: input block is {input_size} bytes, expected {abi.INPUT.size}")
        self.cmd_ptr, self.cmd_capacity, self.state_begin = cmd_ptr, cmd_capacity, state_begin

    def _call(self, name: str, *args: Any) -> Any:
        if self._failure is not None:
            raise GameError(f"{self.name} already failed at tick {self._failure.tick} "
                            f"({self._failure}); restore a snapshot or start it again",
                            game=self.name, tick=self.tick_count)
        self.engine.arm(self.store, self.config.tick_ms)
        try:
            return self._funcs[name](*args)
        except GameError as e:  # a plugin failed inside this call (raised by its host function)
            self._failure = e
            raise
        except wasmtime.WasmtimeError as e:
            trap = trap_of(e)
            self._failure = (self._translate(*trap, name) if trap is not None else
                             GameCrashed(f"{self.name} at tick {self.tick_count} in {name}: {str(e).splitlines()[0]}",
                                         game=self.name, tick=self.tick_count, trap_code="component"))
            raise self._failure from e

    def _translate(self, code: str, message: str, call: str) -> GameError:
        where = f"{self.name} at tick {self.tick_count} in {call}"
        if code in ("interrupt", "out_of_fuel"):
            return GameTimedOut(f"{where}: ran past its CPU deadline of {self.config.tick_ms} ms "
                                "([limits] tick_ms)", game=self.name, tick=self.tick_count)
        return GameCrashed(f"{where}: trapped: {message}", game=self.name, tick=self.tick_count, trap_code=code)

    # --- host functions (the world's `host` interface) --------------------------------------------

    def _asset_request(self, store: wasmtime.Store, name: str) -> int:
        if not 0 < len(name) <= MAX_NAME:
            return -1
        return self.assets.request(name, self.tick_count)

    def _asset_size(self, store: wasmtime.Store, handle: int) -> int:
        asset = self.assets.get(handle)
        return len(asset.data) if asset is not None and asset.ready and asset.data is not None else -1

    def _asset_read(self, store: wasmtime.Store, handle: int, offset: int, n: int) -> bytes | None:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.data is None or offset < 0 or n < 0:
            return None
        return asset.data[offset:offset + n]

    def _image_size(self, store: wasmtime.Store, handle: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.image is None:
            return -1
        h, w = asset.image.shape[:2]
        return (int(w) << 16) | int(h)

    def _log(self, store: wasmtime.Store, level: int, message: str) -> None:
        self.log.log(LOG_LEVELS[min(max(level, 0), 3)], "[%s] %s", self.name, message[:4096])

    # --- the frame path ---------------------------------------------------------------------------

    def tick(self, inputs: InputState, events: Sequence[Event] = ()) -> None:
        """Advance one tick, like ``Game.tick`` (asset events due now, then ``events``)."""
        if tracing.enabled:
            with tracing.span("tick", game=self.name, tick=self.tick_count):
                return self._tick(inputs, events)
        self._tick(inputs, events)

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        self._call("tick", inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events]))
        self.tick_count += 1

    def render(self) -> memoryview:
        """This frame's command list (a copy out of the component's memory)."""
        if tracing.enabled:
            with tracing.span("render", game=self.name, tick=self.tick_count):
                return self._render()
        return self._render()

    def _render(self) -> memoryview:
        frame = self._call("render")
        commands, dropped = frame.commands, frame.dropped
        if dropped and not self._dropped_reported:
            self.log.warning("[%s] command buffer full: %d records dropped this frame", self.name, dropped)
            self._dropped_reported = True
        return memoryview(commands)

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        out = []
        for handle in self.assets.newly_ready:
            asset = self.assets.get(handle)
            assert asset is not None and asset.image is not None
            out.append((handle, asset.image))
        self.assets.newly_ready.clear()
        return out

    def state_hash(self) -> str:
        """SHA-256 of the game state, computed in the guest over the bytes ``Game.state_hash`` hashes."""
        return bytes(self._call("hash")).hex()

    # --- snapshots --------------------------------------------------------------------------------

    def _read(self, begin: int, end: int) -> bytes:
        return b"".join(bytes(self._call("read", at, min(CHUNK, end - at))) for at in range(begin, end, CHUNK))

    def snapshot(self) -> Snapshot:
        pages = int(self._call("pages"))
        cmd_end = self.cmd_ptr + self.cmd_capacity
        memory = self._read(self.state_begin, self.cmd_ptr) + self._read(cmd_end, pages * PAGE)
        return Snapshot(module_sha256=self.module_sha256, tick=self.tick_count, pages=pages,
                        state_begin=self.state_begin, memory=memory,
                        host={"rng": self.rng.state, "assets": self.assets.state()},
                        hole_at=self.cmd_ptr, hole_size=self.cmd_capacity)

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap`` in a fresh instance (also after a crash or a timeout)."""
        rng_state, asset_state = snap.check_fits(self.name, self.module_sha256, self.state_begin, self.cmd_ptr,
                                                 self.cmd_capacity, self.config.memory_bytes)
        rng = SplitMix64(rng_state)
        self._failure = None
        with tracing.span("instantiate", game=self.name, tick=snap.tick):
            self._instantiate(rng)
        self.assets.restore(asset_state)
        grow = snap.pages - int(self._call("pages"))
        if grow < 0:
            raise SnapshotError(f"snapshot has {snap.pages} pages, fewer than the module's initial memory")
        if grow and int(self._call("grow", grow)) < 0:
            raise SnapshotError(f"{self.name} cannot grow to the snapshot's {snap.pages} pages")
        split = self.cmd_ptr - self.state_begin
        for lo, hi, base in ((0, split, self.state_begin), (split, len(snap.memory), self.cmd_ptr + self.cmd_capacity - split)):
            for at in range(lo, hi, CHUNK):
                self._call("write", base + at, snap.memory[at:min(at + CHUNK, hi)])
        self.tick_count = snap.tick

    def close(self) -> None:
        self._funcs = {}
        for plugin in self.plugins.values():
            plugin.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def __enter__(self) -> ComponentGame:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
