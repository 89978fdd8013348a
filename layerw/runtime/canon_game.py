"""CanonGame: a game component run as its own core module, the world's canonical ABI done by the host.

wasmtime-py reaches a component only through the C API's tagged values, one per list element, so
``ComponentGame`` lifts a 480 KiB command list as 480k values (tens of ms a frame). A component
that is just the game's module (``componentcore.game_core``) runs here instead, as jco runs it in
browsers: the module is instantiated on the same Engine (memory cap, CPU deadline), gets the
``host`` interface in its lowered form (strings and lists bounds-checked and lifted from its
memory, option<list<u8>> results lowered through its cabi_realloc), and the world's results are
lifted straight from its memory: the command list is a view, as for a core module. The module's
memory layout is its core build's (lw_component.c owns none), so snapshots and the state hash
are ``Game``'s. It is registered as a (virtual) ``ComponentGame``: the same world and the same
guarantees, another way to cross into it. Spec: https://github.com/WebAssembly/component-model/blob/main/design/mvp/CanonicalABI.md
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import InvalidModule
from layerw.runtime.assets import Event
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.componentcore import HOST_MODULE, REALLOC, STATE_PREFIX, game_core, host_imports
from layerw.runtime.corecall import CoreCaller
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.imports import HostImports
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.saves import Saves

_PAIR = struct.Struct("<II")
_FRAME = struct.Struct("<III")  # record frame { commands: list<u8>, dropped: u32 }


class CanonGame(Game):
    """A ``GameHost`` backend for game components that ``game_core`` accepts (see ``fits``)."""

    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        MemoryHost.__init__(self, bundle, engine, seed=seed, audio=audio, saves=saves)
        self._funcs: dict[str, wasmtime.Func] = {}  # the realloc a host function calls back through its caller
        self._callers: dict[str, CoreCaller] = {}  # the calls the host makes
        self._view_type: type[ctypes.Array[ctypes.c_ubyte]] | None = None
        core = game_core(bundle.module, engine.compile) if not bundle.config.plugins else None
        if core is None:
            raise InvalidModule(f"{self.name} is not a component of the game's module alone (it links plugins, "
                                "adapts WASI or holds other code); run it as a ComponentGame")
        binary, self.module = core
        self.code_sha256 = hashlib.sha256(binary).hexdigest()  # frames count its offsets: the build's symbols fit it
        self._start(self._boot)

    @staticmethod
    def fits(bundle: Bundle, engine: Engine) -> bool:
        """Whether ``bundle`` is a component this backend runs: no plugins, the game's module alone."""
        return not bundle.config.plugins and game_core(bundle.module, engine.compile) is not None

    # --- instance -------------------------------------------------------------------------------

    def _instantiate(self) -> None:
        self._new_store()
        linker = wasmtime.Linker(self.engine.wasmtime)
        imports = HostImports(self.name, self.assets, self._tick_now, self.log, self.save_slots)
        lowered: dict[str, Callable[..., Any]] = {
            "asset-request": self._lifting(imports.asset_request, strings=(0,)),
            "asset-size": imports.asset_size,
            "asset-read": self._asset_read,
            "image-size": imports.image_size,
            "log": self._lifting(imports.log_message, strings=(1,)),
            "save-write": self._lifting(imports.save_write, strings=(0,), lists=(2,)),
            "save-read": self._save_read,
            "save-size": self._lifting(imports.save_size, strings=(0,)),
            "save-version": self._lifting(imports.save_version, strings=(0,)),
        }
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        types = {"i32": i32, "i64": i64}
        for name, (params, results) in host_imports().items():
            ty = wasmtime.FuncType([types[p] for p in params], [types[r] for r in results])
            linker.define_func(HOST_MODULE, name, ty, lowered[name], access_caller=True)
        exports = self._link(linker).exports(self.store)
        memory = exports[abi.EXPORTED_MEMORY]
        assert isinstance(memory, wasmtime.Memory)  # checked by game_core, as every function below
        self.memory = memory
        self._funcs = {}
        for name in ("_initialize", "init", "tick", "render", REALLOC, STATE_PREFIX + "hash"):
            func = exports[name]
            assert isinstance(func, wasmtime.Func)
            self._funcs[name] = func
        self._callers = {name: CoreCaller(func, self.store) for name, func in self._funcs.items()}

    def _invoke(self, name: str, args: tuple[Any, ...]) -> int:
        return self._callers[name](*args)

    def _init_io(self) -> Mapping[str, int]:
        self._call("_initialize")  # the component runs it when instantiated (wit-component's fixup)
        io_ptr = self._call("init", self.seed - (1 << 64) if self.seed >= 1 << 63 else self.seed)  # u64 as i64
        self._lifted(io_ptr, abi.IO.size, "init")
        io = np.frombuffer(self.memory.read(self.store, io_ptr, io_ptr + abi.IO.size), dtype=abi.IO.dtype)[0]
        self.io_ptr = io_ptr
        return {name: int(io[name]) for name in abi.IO.dtype.names or ()}

    # --- the canonical ABI, host side ----------------------------------------------------------

    def _lifted(self, ptr: int, n: int, what: str) -> memoryview:
        """``n`` bytes at ``ptr`` of guest memory, in place; a range outside memory traps, as a lift does."""
        view = self._view()
        if not 0 <= ptr <= ptr + n <= len(view):
            raise wasmtime.Trap(f"{what}: list out of bounds ({n} bytes at {ptr}, memory is {len(view)})")
        return view[ptr:ptr + n]

    def _lifting(self, func: Callable[..., Any], *, strings: tuple[int, ...] = (),
                 lists: tuple[int, ...] = ()) -> Callable[..., Any]:
        """``func`` (a core host import taking the same flat parameters) behind the canonical lift's
        checks: each string (at those parameter positions) in bounds and UTF-8, each list in bounds."""
        def lowered(caller: wasmtime.Caller, *args: int) -> Any:
            for at in strings:
                try:
                    bytes(self._lifted(args[at], args[at + 1], "string")).decode("utf-8")
                except UnicodeDecodeError as e:
                    raise wasmtime.Trap(f"string is not valid UTF-8: {e.reason}") from None
            for at in lists:
                self._lifted(args[at], args[at + 1], "list")
            return func(caller, *args)
        return lowered

    def _lower_option_bytes(self, caller: wasmtime.Caller, data: bytes | None, ret: int) -> None:
        """Write option<list<u8>> at ``ret``: tag, then the list in memory the guest's cabi_realloc gives."""
        self._lifted(ret, 12, "return area")
        if ret % 4:
            raise wasmtime.Trap(f"return area {ret} is not aligned to 4")
        if data is None:
            self.memory.write(caller, b"\0", ret)
            return
        func = self._funcs[REALLOC]
        ptr = func(caller, 0, 0, 1, len(data))
        assert isinstance(ptr, int)
        self._lifted(ptr, len(data), "cabi_realloc's list")
        self.memory.write(caller, bytes(data), ptr)
        self.memory.write(caller, b"\1\0\0\0" + _PAIR.pack(ptr, len(data)), ret)

    def _asset_read(self, caller: wasmtime.Caller, handle: int, offset: int, n: int, ret: int) -> None:
        asset = self.assets.get(handle)
        ok = asset is not None and asset.ready and asset.data is not None and offset >= 0 and n >= 0
        data = asset.data[offset:offset + n] if ok and asset is not None and asset.data is not None else None
        self._lower_option_bytes(caller, data, ret)

    def _save_read(self, caller: wasmtime.Caller, name_ptr: int, name_len: int, n: int, ret: int) -> None:
        """The slot's first ``n`` bytes; none for an error (lw_component.c then asks save-size for its code)."""
        name = bytes(self._lifted(name_ptr, name_len, "string"))
        try:
            name.decode("utf-8")
        except UnicodeDecodeError as e:
            raise wasmtime.Trap(f"string is not valid UTF-8: {e.reason}") from None
        slot = self.save_slots.slot(name)
        self._lower_option_bytes(caller, None if isinstance(slot, int) or n < 0 else slot.data[:n], ret)

    def _lift_call(self, call: str, ret: int, record: struct.Struct) -> tuple[int, ...]:
        """A record an export returned behind ``ret``; a bad or unaligned pointer is the game's crash."""
        try:
            if ret % 4:
                raise wasmtime.Trap(f"{call}: unaligned return pointer {ret}")
            return record.unpack(self._lifted(ret, record.size, call))
        except wasmtime.Trap as trap:
            raise self._fail(self._translate(trap, call)) from trap

    def _list(self, call: str, ptr: int, n: int) -> memoryview:
        try:
            return self._lifted(ptr, n, call)
        except wasmtime.Trap as trap:
            raise self._fail(self._translate(trap, call)) from trap

    # --- the frame path ---------------------------------------------------------------------------

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        data = inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events])
        at = self._call(REALLOC, 0, 0, 1, len(data))
        self._list("tick", at, len(data))[:] = data
        ptr, n = self._lift_call("tick", self._call("tick", at, len(data)), _PAIR)
        sound = self._list("tick", ptr, n)
        self.tick_count += 1
        self._tick_sound(sound if self.snd_ptr else b"", 0)  # tick returns the sound block

    def _render(self) -> memoryview:
        """This frame's command list, in place in the module's memory."""
        ptr, n, dropped = self._lift_call("render", self._call("render"), _FRAME)
        commands = self._list("render", ptr, n)
        self._report_dropped(dropped)
        return commands

    def close(self) -> None:
        self._callers = {}
        super().close()

    def state_hash(self) -> str:
        """SHA-256 of the game state, computed in the guest (the world's ``state.hash``)."""
        ptr, n = self._lift_call("hash", self._call(STATE_PREFIX + "hash"), _PAIR)
        return bytes(self._list("hash", ptr, n)).hex()


ComponentGame.register(CanonGame)
