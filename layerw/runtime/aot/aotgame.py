"""AotGame: a game core module run as native code, translated ahead of time (a ``GameHost`` backend).

The module is validated and its contract checked exactly as on wasmtime (``check_module``), then
translated by wasm2c and compiled by zig (``AotCompiler``, cached) and run in-process through
lwaot's ``lw_call``: each call has the game's CPU deadline (a watchdog's signal that traps only
while guest code runs), linear memory is capped at ``[limits] memory_mb`` and bounds-checked by
guard pages, stack overflow traps, and the imports are the same ``HostImports`` and ``Wasi``
functions wasmtime calls. Traps become the same typed errors as on wasmtime. What is not
specific to this tier (lw_io, failure latch, snapshots, hashes) is ``MemoryHost``'s.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.contract import check_module
from layerw.errors import GameCrashed, GameError, GameExited, GameOutOfMemory, InvalidModule, LayerWError
from layerw.runtime.aot import glue, library
from layerw.runtime.aot.compiler import AotCompiler, folds_under
from layerw.runtime.aot.guest import AotCaller, AotMemory
from layerw.runtime.aot.library import AotInstance, Library
from layerw.runtime.aot.namesection import function_names
from layerw.runtime.assets import Event
from layerw.runtime.engine import Engine
from layerw.runtime.game import MAX_TABLE_ELEMENTS, MAX_TABLES
from layerw.runtime.imports import HostImports
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost, RawFrame
from layerw.runtime.snapshot import PAGE
from layerw.runtime.wasi import SIGNATURES, Wasi
from layerw.saves import Saves

MASK64 = (1 << 64) - 1
# wasm2c's traps as wasmtime names and words them (trap_code, cause); wasm2c has one trap for every
# failed call_indirect (index past the table, null entry, wrong signature)
TRAPS: dict[int, tuple[str, str]] = {
    1: ("memory_out_of_bounds", "out of bounds memory access"),
    2: ("integer_overflow", "integer overflow"),
    3: ("integer_division_by_zero", "integer divide by zero"),
    4: ("bad_conversion_to_integer", "invalid conversion to integer"),
    5: ("unreachable", "wasm `unreachable` instruction executed"),
    6: ("table_out_of_bounds", "undefined element: out of bounds table access, null or mistyped function"),
    7: ("null_reference", "null reference"),
    8: ("uncaught_exception", "uncaught exception"),
    9: ("heap_misaligned", "misaligned memory access"),
    10: ("stack_overflow", "call stack exhausted"),
}


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


class _Trap(Exception):
    """A call into the guest ended in lwaot trap ``code`` (translated by ``AotGame._game_error``),
    with the native stack it trapped in (``AotInstance.trace``)."""

    def __init__(self, code: int, trace: list[int] | None = None) -> None:
        super().__init__(f"trap {code}")
        self.code = code
        self.trace = trace or []


class _Import:
    """One import's host function and how its raw 64-bit arguments become Python ints."""

    def __init__(self, fn: Callable[..., Any], params: Sequence[str], caller: bool) -> None:
        self.fn = fn
        self.bits = [64 if p == "i64" else 32 for p in params]
        self.caller = caller


def compiled(bundle: Bundle, compiler: AotCompiler) -> tuple[Path, Path]:
    """The runtime library and ``bundle``'s module library, compiled on first use (cached): InvalidModule
    when wasm2c cannot translate the module, ToolchainError when the toolchain cannot run."""
    fold = folds_under(bundle.config.memory_bytes // PAGE)
    return compiler.runtime(), compiler.module(bundle.module, bundle.config.name, fold=fold)


class AotGame(MemoryHost):
    def __init__(self, bundle: Bundle, engine: Engine, compiler: AotCompiler, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        super().__init__(bundle, engine, seed=seed, audio=audio, saves=saves)
        self._instance: AotInstance | None = None
        self._imports: list[_Import] = []
        self._host_error: BaseException | None = None
        self._names: dict[int, str] | None = None  # the name section's, read on a trap's first report
        self._which = {name: i for i, name in enumerate(glue.EXPORTS, start=1)}
        module = engine.compile(bundle.module)  # wasmtime's validation, then the same contract check
        check_module(module, self.name)
        self._check_links(module)
        self.library = Library(*compiled(bundle, compiler))
        self._start(self._boot)

    def _check_links(self, module: wasmtime.Module) -> None:
        """What wasmtime refuses when it instantiates, refused here in its words: a shared memory
        (no threads), WASI imports of another signature (check_module checks only their names)."""
        for export in module.exports:
            if isinstance(export.type, wasmtime.MemoryType) and export.type.is_shared:
                raise InvalidModule(f"{self.name} cannot be instantiated: shared memory support is disabled")
        for imp in module.imports:
            if imp.module == abi.WASI_MODULE and isinstance(imp.type, wasmtime.FuncType):
                got = (tuple(str(p) for p in imp.type.params), tuple(str(r) for r in imp.type.results))
                if got != SIGNATURES[imp.name or ""]:
                    raise InvalidModule(f"{self.name} cannot be instantiated: incompatible import type for "
                                        f"`{imp.module}::{imp.name}`")

    # --- instance -------------------------------------------------------------------------------

    def _instantiate(self) -> None:
        self._free_instance()
        tick_now, tick_rate = self._tick_now, self.config.tick_rate
        self.wasi = Wasi(self.name, lambda: tick_now() * 1_000_000_000 // tick_rate, self.rng, self.log)
        me = self._me  # the callbacks hold the game weakly, like wasmtime's host functions
        host = HostImports(self.name, self.assets, tick_now, self.log, self.save_slots,
                           lambda func, reason: me._refused(func, reason)).functions()
        funcs = {(abi.IMPORT_MODULE, sig.name): (host[sig.name], sig.params, True) for sig in abi.IMPORTS}
        funcs |= {(abi.WASI_MODULE, name): (fn, SIGNATURES[name][0], name != "proc_exit")
                  for name, fn in self.wasi.functions().items()}
        self._imports = [_Import(*funcs[key]) for key in glue.IMPORTS]
        self._instance = instance = AotInstance(
            self.library, lambda index, args, result: me._host_call(index, args, result),
            cap_pages=self.config.memory_bytes // PAGE, max_tables=MAX_TABLES, max_table_elements=MAX_TABLE_ELEMENTS)
        self.memory = AotMemory(instance)
        self._caller = AotCaller(self.memory)
        self._host_error = None
        code = instance.instantiate(self.config.tick_ms)
        if code:
            raise self._instantiate_error(code, instance.trace())

    def _instantiate_error(self, code: int, trace: list[int]) -> LayerWError | BaseException:
        if code == library.HOST and self._host_error is not None:
            return self._host_error
        if code == library.INITIAL_MEMORY:
            return self._not_instantiated("", over_cap=True)
        limits = {library.MEMORY_COUNT: "resource limit exceeded: memory count too high",
                  library.TABLE_COUNT: f"resource limit exceeded: table count too high at {MAX_TABLES + 1}",
                  library.TABLE_SIZE: f"table minimum size exceeds the limit of {MAX_TABLE_ELEMENTS} elements"}
        if code in limits:
            return self._not_instantiated(limits[code], over_cap=False)
        return self._translate(code, "instantiate", trace)

    def _host_call(self, index: int, args: Any, result: Any) -> int:
        """An import, called from guest code (lwaot defers the deadline while it runs): 0 when it
        returned, 1 when it raised (the error is kept for ``_invoke``, lwaot unwinds the guest)."""
        try:
            imp = self._imports[index]
            values = [_signed(args[i], bits) for i, bits in enumerate(imp.bits)]
            value = imp.fn(self._caller, *values) if imp.caller else imp.fn(*values)
            if value is not None:
                result[0] = value & MASK64
            return 0
        except BaseException as e:  # noqa: BLE001 - it must not cross the C frames; re-raised by _invoke
            self._host_error = e
            return 1

    def _init_io(self) -> Mapping[str, int]:
        self._call("_initialize")
        io_ptr = self._call("lw_init", self.seed & 0xFFFFFFFF, self.seed >> 32)
        if not 0 < io_ptr <= self.memory.data_len() - abi.IO.size:
            raise InvalidModule(f"{self.name}: lw_init returned {io_ptr}, not an lw_io address")
        self.io_ptr = io_ptr
        record = np.frombuffer(self.memory.read(None, io_ptr, io_ptr + abi.IO.size), dtype=abi.IO.dtype)[0]
        return {name: int(record[name]) for name in abi.IO.dtype.names or ()}

    # --- memory primitives (MemoryHost's snapshots and hashes) ------------------------------------

    def _pages(self) -> int:
        return self.memory.pages()

    def _grow(self, pages: int) -> bool:
        return self._instance is not None and self._instance.grow(pages)

    def _read(self, begin: int, end: int) -> memoryview:
        return self.memory.view()[begin:end]

    def _write(self, at: int, data: bytes) -> None:
        self.memory.write(None, data, at)

    def _live_memory(self) -> memoryview:
        return self.memory.view()

    # --- calls and their errors -------------------------------------------------------------------

    def _arm(self) -> None:
        """Nothing to do: lw_call arms each call's deadline itself."""

    def _invoke(self, name: str, args: tuple[Any, ...]) -> int:
        assert self._instance is not None
        self._host_error = None
        code, value = self._instance.call(self._which[name], args, self.config.tick_ms)
        if code == library.HOST and self._host_error is not None:
            error, self._host_error = self._host_error, None
            raise error
        if code:
            raise _Trap(code, self._instance.trace())
        return _signed(value & 0xFFFFFFFF, 32)

    def raw_call(self, name: str, *args: int, deadline_ms: int | None = None) -> int:
        """Call export ``name`` with a deadline (default the game's) and nothing else of the frame
        path: no failure latch, no error translation (benchmarks; a trap raises a bare exception)."""
        assert self._instance is not None
        deadline = self.config.tick_ms if deadline_ms is None else deadline_ms
        code, value = self._instance.call(self._which[name], args, deadline)
        if code:
            raise _Trap(code)
        return value

    def _game_error(self, error: Exception, call: str) -> GameError | None:
        if isinstance(error, _Trap):
            return self._translate(error.code, call, error.trace)
        if isinstance(error, GameExited):
            error.tick = self.tick_count
            return error
        return None

    def _frames(self, trace: list[int]) -> list[RawFrame]:
        """A trap's native stack as the guest frames wasmtime would name (offset, function index)."""
        try:
            frames = self.library.wasm_frames(trace)
        except (OSError, ImportError) as e:  # the cached library was removed while it ran; pyelftools is missing
            self.log.warning("[%s] cannot read the AOT library's line table (%s: %s): the trap names no frames "
                             "(pyelftools comes with layerw's dependencies)", self.name, type(e).__name__, e)
            return []
        if self._names is None:
            self._names = function_names(self.bundle.module)
        return [(offset, index, self._names.get(index)) for offset, index in frames]

    def _translate(self, code: int, call: str, trace: list[int] | None = None) -> GameError:
        if code == library.DEADLINE:
            return self._timed_out(call, self._frames(trace or []))
        if self.memory.instance.memory is not None and self._memory_full():
            return GameOutOfMemory(f"{self._where(call)}: trapped ({TRAPS.get(code, ('trap',))[0]}) with memory at "
                                   f"its cap of {self.config.memory_mb} MiB ([limits] memory_mb)",
                                   game=self.name, tick=self.tick_count)
        name, cause = TRAPS.get(code, ("unknown", f"lwaot trap {code}"))
        return self._with_frames(GameCrashed(f"{self._where(call)}: trapped: {cause}", game=self.name,
                                             tick=self.tick_count, trap_code=name), self._frames(trace or []))

    # --- the frame path ---------------------------------------------------------------------------

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        data = inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events])
        mem = self.memory.instance.memory
        assert mem is not None
        ctypes.memmove(mem.data + self.input_ptr, data, len(data))  # inside memory: checked at start
        self._call("lw_tick")
        self.tick_count += 1
        if self.sound_heard:
            self._tick_sound_at(self.memory.view(), self.io_ptr)

    def _render(self) -> memoryview:
        n = self._call("lw_render")
        if not 0 <= n <= self.cmd_capacity - abi.COMMAND_SCRATCH:
            raise self._fail(GameCrashed(f"{self.name}: lw_render returned {n} bytes, buffer holds {self.cmd_capacity}",
                                         game=self.name, tick=self.tick_count, trap_code="bad_render_length"))
        view = self.memory.view()
        (dropped,) = struct.unpack_from("<I", view, self.cmd_ptr + self.cmd_capacity - 4)
        self._report_dropped(dropped)
        return view[self.cmd_ptr:self.cmd_ptr + n]

    def _free_instance(self) -> None:
        if self._instance is not None:
            self._instance.close()
            self._instance = None

    def close(self) -> None:
        """Free the instance now (also done when the game is garbage collected)."""
        self._free_instance()
        self._close_audio()
