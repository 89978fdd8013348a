"""ComponentGame: one running instance of a game *component* (``layerw build --component``).

A ``GameHost`` backend beside ``Game``; ``start_game`` picks it once, from the build's layerw.toml. Per frame the host still makes
two calls, ``tick`` (the input record's bytes as list<u8>) and ``render`` (the command list back
as list<u8>: one copy, where the core path reads guest memory in place).

wasmtime-py cannot reach a component's linear memory, so the world exports a ``state`` interface
(see wit/game.wit): the guest hashes exactly the bytes the core host hashes (so a component build's
state hash equals its core build's), and snapshots read and write memory through it (the
primitives ``MemoryHost`` builds snapshots and the lw_io check on).

Plugins (``[plugins.SLOT]`` in layerw.toml) are components of their own, each in its own store,
linked into the game's imports at load time with only the capabilities the manifest grants.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import wasmtime
import wasmtime.component as wc

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameError, InvalidModule
from layerw.runtime.assets import Event
from layerw.runtime.canon import Caller, trap_of
from layerw.runtime.componentcore import core_module_spans
from layerw.runtime.engine import Engine
from layerw.runtime.imports import LOG_LEVELS, MAX_NAME
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.plugin import Plugin
from layerw.saves import Saves
from layerw.symbols import SourceFrame, Symbols

CHUNK = 1 << 20  # bytes per state read/write call (each lands in the guest's command buffer)
HOST = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_HOST}@{abi.WIT_PACKAGE.partition('@')[2]}"
STATE = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_STATE}@{abi.WIT_PACKAGE.partition('@')[2]}"
log = logging.getLogger("layerw.game")
_BACKTRACE = re.compile(r"^\s*\d+:\s+0x([0-9a-f]+) - [^!]*!(.+)$")  # "  0:  0x335 - <unknown>!<wasm function 5>"
_INDEX = re.compile(r"^<wasm function (\d+)>$")


class ComponentGame(MemoryHost):
    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        super().__init__(bundle, engine, seed=seed, audio=audio, saves=saves)
        self._funcs: dict[str, Caller] = {}
        self.plugins: dict[str, Plugin] = {}
        self.component = engine.compile_component(bundle.module)
        self._start(self._boot)

    # --- instance -------------------------------------------------------------------------------

    def _instantiate(self) -> None:
        for plugin in self.plugins.values():
            plugin.close()
        self.store = wasmtime.Store(self.engine.wasmtime)
        self.store.set_limits(memory_size=self.config.memory_bytes)
        linker = wc.Linker(self.engine.wasmtime)
        with linker.root() as root, root.add_instance(HOST) as host:
            me = self._me
            host.add_func("asset-request", lambda *a: me._asset_request(*a))
            host.add_func("asset-size", lambda *a: me._asset_size(*a))
            host.add_func("asset-read", lambda *a: me._asset_read(*a))
            host.add_func("image-size", lambda *a: me._image_size(*a))
            host.add_func("log", lambda *a: me._log(*a))
            host.add_func("save-write", lambda *a: me._save_write(*a))
            host.add_func("save-read", lambda *a: me._save_read(*a))
            host.add_func("save-size", lambda *a: me._save_size(*a))
            host.add_func("save-version", lambda *a: me._save_version(*a))
        self.plugins = {ref.slot: Plugin(self.bundle, ref, self.engine, game=self.name) for ref in self.config.plugins}
        for plugin in self.plugins.values():
            plugin.define(linker, self._tick_now)
        self.engine.arm(self.store, self.config.tick_ms)  # instantiating runs _initialize
        try:
            instance = linker.instantiate(self.store, self.component)
        except wasmtime.WasmtimeError as e:
            trap = trap_of(e)
            if trap is not None:
                raise self._translate(*trap, "instantiate", str(e)) from e
            text = str(e)
            over_cap = "memory" in text and ("limit" in text.lower() or "exceeds" in text)
            raise self._not_instantiated(text.splitlines()[0], over_cap=over_cap) from e
        state = instance.get_export_index(self.store, STATE)
        self._funcs = {}
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

    def _init_io(self) -> Mapping[str, int]:
        record = self._call("init", self.seed)
        return {name.replace("-", "_"): int(value) for name, value in vars(record).items()}

    # --- memory primitives, through the world's `state` interface ---------------------------------

    def _pages(self) -> int:
        return int(self._call("pages"))

    def _grow(self, pages: int) -> bool:
        return int(self._call("grow", pages)) >= 0

    def _read(self, begin: int, end: int) -> bytes:
        return b"".join(bytes(self._call("read", at, min(CHUNK, end - at))) for at in range(begin, end, CHUNK))

    def _write(self, at: int, data: bytes) -> None:
        for offset in range(0, len(data), CHUNK):
            self._call("write", at + offset, data[offset:offset + CHUNK])

    def state_hash(self) -> str:
        """SHA-256 of the game state, computed in the guest over the bytes ``Game.state_hash`` hashes."""
        return bytes(self._call("hash")).hex()

    # --- calls and their errors -------------------------------------------------------------------

    def _invoke(self, name: str, args: tuple[Any, ...]) -> Any:
        return self._funcs[name](*args)

    def _game_error(self, error: Exception, call: str) -> GameError | None:
        if isinstance(error, GameError):  # a plugin failed inside this call (raised by its host function)
            return error
        if isinstance(error, wasmtime.WasmtimeError):
            trap = trap_of(error)
            if trap is not None:
                return self._translate(*trap, call, str(error))
            return GameCrashed(f"{self._where(call)}: {str(error).splitlines()[0]}", game=self.name,
                               tick=self.tick_count, trap_code="component")
        return None

    def _translate(self, code: str, message: str, call: str, text: str) -> GameError:
        """The error of a trap, naming the frames of wasmtime's backtrace in ``text``."""
        source = self._backtrace_text(text)
        if code in ("interrupt", "out_of_fuel"):
            return self._with_source(self._timed_out(call), source)
        return self._with_source(GameCrashed(f"{self._where(call)}: trapped: {message}", game=self.name,
                                             tick=self.tick_count, trap_code=code), source)

    # --- backtraces -------------------------------------------------------------------------------

    def _fits(self, symbols: Symbols) -> bool:
        """The build's table describes one of the component's core modules (the game's: GAME_CORE)."""
        return self._span_of(symbols) is not None

    def _span_of(self, symbols: Symbols) -> tuple[int, int] | None:
        """Where the core module ``symbols`` describes lies in the component's bytes (None: in none)."""
        component = self.bundle.module
        return next((span for span in core_module_spans(component) or []
                     if hashlib.sha256(component[span[0]:span[1]]).hexdigest() == symbols.module_sha256), None)

    def _backtrace_text(self, text: str) -> list[SourceFrame]:
        """The frames of a component's trap as wasmtime's error text lists them (its C API gives a component
        call's errors no frames), innermost first: at offsets in the game's core module, named by the
        build's symbols, where they lie in it; else at the component's offsets, named by index."""
        found = [(int(m.group(1), 16), m.group(2)) for m in map(_BACKTRACE.match, text.splitlines()) if m]
        symbols = self.symbols() if found else None
        start, end = (self._span_of(symbols) if symbols is not None else None) or (0, 0)
        out: list[SourceFrame] = []
        for offset, function in found:
            index = _INDEX.match(function)
            name = f"wasm-function[{index.group(1)}]" if index else function
            if symbols is not None and start <= offset < end:
                out.extend(symbols.frames(offset - start) or [SourceFrame(offset - start, name)])
            else:
                out.append(SourceFrame(offset, name))
        return out

    # --- host functions (the world's `host` interface) --------------------------------------------

    def _asset_request(self, store: wasmtime.Store, name: str) -> int:
        if not 0 < len(name) <= MAX_NAME:
            self._refused("asset_request", f"a name of {len(name)} characters (1..{MAX_NAME})")
            return -1
        handle = self.assets.request(name, self.tick_count)
        if handle < 0:
            self._refused("asset_request", self.assets.missing(name))
        return handle

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

    def _save_write(self, store: wasmtime.Store, name: str, data: bytes, version: int) -> int:
        return self.save_slots.write(name.encode(), bytes(data), version)

    def _save_read(self, store: wasmtime.Store, name: str, n: int) -> bytes | None:
        """The slot's first ``n`` bytes; None for an error (lw_component.c then asks save-size for its code)."""
        slot = self.save_slots.slot(name.encode())
        return None if isinstance(slot, int) or n < 0 else slot.data[:n]

    def _save_size(self, store: wasmtime.Store, name: str) -> int:
        return self.save_slots.size(name.encode())

    def _save_version(self, store: wasmtime.Store, name: str) -> int:
        return self.save_slots.version(name.encode())

    # --- the frame path ---------------------------------------------------------------------------

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        sound = self._call("tick", inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events]))
        self.tick_count += 1
        self._tick_sound(bytes(sound) if self.snd_ptr else b"", 0)  # tick returns the sound block

    def _render(self) -> memoryview:
        """This frame's command list (a copy out of the component's memory)."""
        frame = self._call("render")
        self._report_dropped(frame.dropped)
        return memoryview(frame.commands)

    def close(self) -> None:
        self._funcs = {}
        for plugin in self.plugins.values():
            plugin.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        self._close_audio()
