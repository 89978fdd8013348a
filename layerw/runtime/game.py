"""Game: one running instance of a game *core module* on wasmtime (a ``GameHost`` backend).

Per frame the host makes at most two calls into the guest: ``tick`` (the tick's input is copied
into the guest's input block first) and ``render`` (returns a zero-copy view of the command list).
Traps, deadlines and the memory cap become typed errors carrying the game's name and tick. What
is not specific to core modules (lw_io check, failure latch, spans, snapshots) is ``MemoryHost``'s.
"""

from __future__ import annotations

import ctypes
import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.contract import check_module
from layerw.errors import GameCrashed, GameError, GameExited, GameOutOfMemory, InvalidModule
from layerw.runtime.assets import Event
from layerw.runtime.corecall import CoreCaller
from layerw.runtime.engine import Engine
from layerw.runtime.imports import HostImports
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.wasi import Wasi
from layerw.saves import Saves

# A game module defines one memory and (built by clang) one function table; these caps keep a
# hostile module from allocating host memory through tables or extra memories (table.grow bombs).
MAX_TABLES = 4
MAX_TABLE_ELEMENTS = 1 << 20
log = logging.getLogger("layerw.game")


class Game(MemoryHost):
    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        super().__init__(bundle, engine, seed=seed, audio=audio, saves=saves)
        self._funcs: dict[str, wasmtime.Func] = {}
        self._callers: dict[str, CoreCaller] = {}  # the same exports, called without wasmtime-py's per-call work
        self._view_type: type[ctypes.Array[ctypes.c_ubyte]] | None = None
        self.module = engine.compile(bundle.module)
        check_module(self.module, self.name)
        self._start(self._boot)

    # --- instance -------------------------------------------------------------------------------

    def _new_store(self) -> None:
        """A fresh store bounded by the game's memory cap and the table limits."""
        self.store = wasmtime.Store(self.engine.wasmtime)
        self.store.set_limits(memory_size=self.config.memory_bytes, table_elements=MAX_TABLE_ELEMENTS,
                              tables=MAX_TABLES, memories=1)

    def _link(self, linker: wasmtime.Linker) -> wasmtime.Instance:
        """Instantiate the module through ``linker`` under the CPU bound (instantiating runs a start
        function, if any), its failures as the host's typed errors."""
        self.engine.arm(self.store, self.config.tick_ms)
        try:
            return linker.instantiate(self.store, self.module)
        except wasmtime.Trap as trap:
            raise self._translate(trap, "instantiate") from trap
        except wasmtime.WasmtimeError as e:
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            # "memory minimum size of N pages exceeds memory limits"
            raise self._not_instantiated(text, over_cap="memory" in text and "exceeds" in text) from e

    def _instantiate(self) -> None:
        self._new_store()
        tick_now, tick_rate = self._tick_now, self.config.tick_rate
        self.wasi = Wasi(self.name, lambda: tick_now() * 1_000_000_000 // tick_rate, self.rng, self.log)
        linker = wasmtime.Linker(self.engine.wasmtime)
        self.wasi.define(linker)
        me = self._me
        HostImports(self.name, self.assets, tick_now, self.log, self.save_slots,
                    lambda func, reason: me._refused(func, reason)).define(linker)
        exports = self._link(linker).exports(self.store)
        memory = exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        self._funcs = {}
        for sig in abi.EXPORTS:
            func = exports[sig.name]
            assert isinstance(func, wasmtime.Func)  # checked by check_module
            self._funcs[sig.name] = func
        self._callers = {name: CoreCaller(func, self.store) for name, func in self._funcs.items()}

    def _init_io(self) -> Mapping[str, int]:
        self._call("_initialize")
        io_ptr = self._call("lw_init", self.seed & 0xFFFFFFFF, self.seed >> 32)
        if not 0 < io_ptr <= self.memory.data_len(self.store) - abi.IO.size:
            raise InvalidModule(f"{self.name}: lw_init returned {io_ptr}, not an lw_io address")
        io = np.frombuffer(self.memory.read(self.store, io_ptr, io_ptr + abi.IO.size), dtype=abi.IO.dtype)[0]
        self.io_ptr = io_ptr
        return {name: int(io[name]) for name in abi.IO.dtype.names or ()}

    # --- memory primitives (MemoryHost's snapshots and hashes) ------------------------------------

    def _pages(self) -> int:
        return int(self.memory.size(self.store))

    def _grow(self, pages: int) -> bool:
        try:
            self.memory.grow(self.store, pages)
        except wasmtime.WasmtimeError:
            return False
        return True

    def _read(self, begin: int, end: int) -> memoryview:
        return self._view()[begin:end]

    def _write(self, at: int, data: bytes) -> None:
        self.memory.write(self.store, data, at)

    def _live_memory(self) -> memoryview:
        return self._view()

    def _view(self) -> memoryview:
        """All of guest memory, zero-copy. The array type for its size is held here: ctypes caches
        such types only weakly (see layerw.runtime.ctypes_types)."""
        size = self.memory.data_len(self.store)
        if self._view_type is None or ctypes.sizeof(self._view_type) != size:
            self._view_type = ctypes.c_ubyte * size
        return memoryview(self._view_type.from_address(ctypes.addressof(self.memory.data_ptr(self.store).contents))).cast("B")

    # --- calls and their errors -------------------------------------------------------------------

    def _invoke(self, name: str, args: tuple[Any, ...]) -> int:
        return self._callers[name](*args)

    def _game_error(self, error: Exception, call: str) -> GameError | None:
        if isinstance(error, wasmtime.Trap):
            return self._translate(error, call)
        if isinstance(error, GameExited):
            error.tick = self.tick_count
            return error
        if isinstance(error, wasmtime.WasmtimeError):  # a failure that is not a trap: "GC heap out of memory"
            return self._error(error, call)
        return None

    def _error(self, e: wasmtime.WasmtimeError, call: str) -> GameError:
        text = str(e)
        cause = (text.split("Caused by:", 1)[1] if "Caused by:" in text else text).strip().splitlines()[0].strip()
        if "out of memory" in cause:  # e.g. a GC array larger than the memory cap allows
            return GameOutOfMemory(f"{self._where(call)}: {cause} ([limits] memory_mb is {self.config.memory_mb})",
                                   game=self.name, tick=self.tick_count)
        return GameCrashed(f"{self._where(call)}: failed: {cause}", game=self.name, tick=self.tick_count,
                           trap_code="error")

    def _translate(self, trap: wasmtime.Trap, call: str) -> GameError:
        code = trap.trap_code
        frames = [(f.module_offset, f.func_index, f.func_name) for f in trap.frames]
        if code in (wasmtime.TrapCode.INTERRUPT, wasmtime.TrapCode.OUT_OF_FUEL):
            return self._timed_out(call, frames)
        if hasattr(self, "memory") and self._memory_full():
            return GameOutOfMemory(f"{self._where(call)}: trapped ({code.name.lower() if code else 'trap'}) with "
                                   f"memory at its cap of {self.config.memory_mb} MiB ([limits] memory_mb)",
                                   game=self.name, tick=self.tick_count)
        name = code.name.lower() if code is not None else "unknown"
        # wasmtime puts a backtrace first and the cause ("wasm trap: call stack exhausted") after it
        text = str(trap.message or "")
        cause = text.split("wasm trap: ", 1)[1].splitlines()[0] if "wasm trap: " in text else name
        return self._with_frames(GameCrashed(f"{self._where(call)}: trapped: {cause}", game=self.name,
                                             tick=self.tick_count, trap_code=name), frames)

    # --- the frame path ---------------------------------------------------------------------------

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        data = inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events])
        # lw_io's input block lies inside memory (checked at start; memory never shrinks): one copy,
        # without Memory.write's bounds walk and intermediate bytearray on every tick
        base = ctypes.addressof(self.memory.data_ptr(self.store).contents)
        ctypes.memmove(base + self.input_ptr, data, len(data))
        self._call("lw_tick")
        self.tick_count += 1
        if self.sound_heard:  # (a view of memory and the block's copy: a cost on every tick)
            self._tick_sound_at(self._view(), self.io_ptr)

    def _render(self) -> memoryview:
        n = self._call("lw_render")
        if not 0 <= n <= self.cmd_capacity - abi.COMMAND_SCRATCH:
            raise self._fail(GameCrashed(f"{self.name}: lw_render returned {n} bytes, buffer holds {self.cmd_capacity}",
                                         game=self.name, tick=self.tick_count, trap_code="bad_render_length"))
        (dropped,) = struct.unpack("<I", self.memory.read(self.store, self.cmd_ptr + self.cmd_capacity - 4,
                                                            self.cmd_ptr + self.cmd_capacity))
        self._report_dropped(dropped)
        return memoryview(self.memory.get_buffer_ptr(self.store, n, self.cmd_ptr)).cast("B")

    def close(self) -> None:
        """Free the instance now (also done when the game is garbage collected)."""
        self._funcs, self._callers = {}, {}
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        self._close_audio()
