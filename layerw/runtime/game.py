"""Game: one running instance of a game module on wasmtime.

Per frame the host makes at most two calls into the guest: ``tick`` (the tick's input is copied
into the guest's input block first) and ``render`` (returns a zero-copy view of the command list).
Traps, deadlines and the memory cap become typed errors carrying the game's name and tick.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import struct
import weakref
from collections.abc import Callable, Sequence

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.contract import check_module
from layerw.errors import (
    GameCrashed,
    GameError,
    GameExited,
    GameOutOfMemory,
    GameTimedOut,
    InvalidModule,
    SnapshotError,
)
from layerw.observability import tracing
from layerw.observability.logs import ContextLog
from layerw.runtime.assets import AssetTable, Event
from layerw.runtime.engine import Engine
from layerw.runtime.imports import HostImports
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.wasi import SplitMix64, Wasi

PAGE = 65536
# A game module defines one memory and (built by clang) one function table; these caps keep a
# hostile module from allocating host memory through tables or extra memories (table.grow bombs).
MAX_TABLES = 4
MAX_TABLE_ELEMENTS = 1 << 20
log = logging.getLogger("layerw.game")


class Game:
    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0) -> None:
        self.bundle = bundle
        self.config = bundle.config
        self.name = bundle.config.name
        self.engine = engine
        self.seed = seed & ((1 << 64) - 1)
        self.module_sha256 = hashlib.sha256(bundle.module).hexdigest()
        self.tick_count = 0
        # wasmtime-py keeps host functions in a process-wide table until their store is freed, so
        # what they call back into holds this game weakly: a game nobody closed is still collected.
        me = weakref.proxy(self)
        self._tick_now: Callable[[], int] = lambda: me.tick_count
        self.log = ContextLog(log, tick=self._tick_now, game=self.name)  # game and tick on every record
        self.module = engine.compile(bundle.module)
        check_module(self.module, self.name)
        self._failure: GameError | None = None
        self._dropped_reported = False
        self._view_type: type[ctypes.Array[ctypes.c_ubyte]] | None = None
        try:
            with tracing.span("instantiate", game=self.name, tick=0):
                self._instantiate(SplitMix64(self.seed))
                self._call("_initialize")
                self._read_io(self._call("lw_init", self.seed & 0xFFFFFFFF, self.seed >> 32))
        except BaseException:
            self.close()  # a game that failed to start keeps no instance (nor its memory) alive
            raise

    # --- instance -------------------------------------------------------------------------------

    def _instantiate(self, rng: SplitMix64) -> None:
        self.store = wasmtime.Store(self.engine.wasmtime)
        self.store.set_limits(memory_size=self.config.memory_bytes, table_elements=MAX_TABLE_ELEMENTS,
                              tables=MAX_TABLES, memories=1)
        self.assets = AssetTable(self.bundle.asset_names(), set(self.config.preload), self.bundle.read_asset)
        tick_now, tick_rate = self._tick_now, self.config.tick_rate
        self.wasi = Wasi(self.name, lambda: tick_now() * 1_000_000_000 // tick_rate, rng, self.log)
        linker = wasmtime.Linker(self.engine.wasmtime)
        self.wasi.define(linker)
        HostImports(self.name, self.assets, tick_now, self.log).define(linker)
        self.engine.arm(self.store, self.config.tick_ms)  # instantiating runs a start function, if any
        try:
            instance = linker.instantiate(self.store, self.module)
        except wasmtime.Trap as trap:
            raise self._translate(trap, "instantiate") from trap
        except wasmtime.WasmtimeError as e:
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            if "memory" in text and "exceeds" in text:  # "memory minimum size of N pages exceeds memory limits"
                raise GameOutOfMemory(f"{self.name} needs more initial memory than its cap of "
                                      f"{self.config.memory_mb} MiB; raise [limits] memory_mb",
                                      game=self.name, tick=0) from e
            raise InvalidModule(f"{self.name} cannot be instantiated: {text}") from e
        exports = instance.exports(self.store)
        memory = exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        self._funcs: dict[str, wasmtime.Func] = {}
        for sig in abi.EXPORTS:
            func = exports[sig.name]
            assert isinstance(func, wasmtime.Func)  # checked by check_module
            self._funcs[sig.name] = func

    def _read_io(self, io_ptr: int) -> None:
        size = self.memory.data_len(self.store)
        if not 0 < io_ptr <= size - abi.IO.size:
            raise InvalidModule(f"{self.name}: lw_init returned {io_ptr}, not an lw_io address")
        io = np.frombuffer(self.memory.read(self.store, io_ptr, io_ptr + abi.IO.size), dtype=abi.IO.dtype)[0]
        if io["magic"] != abi.IO_MAGIC or io["abi_version"] != abi.ABI_VERSION:
            raise InvalidModule(f"{self.name} speaks ABI {io['abi_version']} (magic {int(io['magic']):#x}); "
                                f"this host speaks ABI {abi.ABI_VERSION}: rebuild the game")
        if io["input_size"] != abi.INPUT.size:
            raise InvalidModule(f"{self.name}: input block is {io['input_size']} bytes, expected {abi.INPUT.size}")
        input_ptr, cmd_ptr, cmd_capacity, state_begin = (
            int(io[k]) for k in ("input_ptr", "cmd_ptr", "cmd_capacity", "state_begin"))
        if (input_ptr + abi.INPUT.size > size or cmd_ptr + cmd_capacity > size
                or cmd_capacity < abi.COMMAND_SCRATCH or state_begin > cmd_ptr):
            raise InvalidModule(f"{self.name}: lw_io describes blocks outside memory or out of order (input "
                                f"{input_ptr}, commands {cmd_ptr}+{cmd_capacity}, state from {state_begin}; "
                                f"memory {size} bytes)")
        self.io_ptr = io_ptr
        self.input_ptr, self.cmd_ptr, self.cmd_capacity, self.state_begin = input_ptr, cmd_ptr, cmd_capacity, state_begin

    def _call(self, name: str, *args: int) -> int:
        if self._failure is not None:
            raise GameError(f"{self.name} already failed at tick {self._failure.tick} "
                            f"({self._failure}); restore a snapshot or start it again",
                            game=self.name, tick=self.tick_count)
        self.engine.arm(self.store, self.config.tick_ms)
        try:
            result = self._funcs[name](self.store, *args)
        except wasmtime.Trap as trap:
            self._failure = self._translate(trap, name)
            raise self._failure from trap
        except GameExited as e:
            e.tick = self.tick_count
            self._failure = e
            raise
        except wasmtime.WasmtimeError as e:  # a failure that is not a trap: "GC heap out of memory"
            self._failure = self._error(e, name)
            raise self._failure from e
        return int(result) if result is not None else 0

    def _error(self, e: wasmtime.WasmtimeError, call: str) -> GameError:
        text = str(e)
        cause = (text.split("Caused by:", 1)[1] if "Caused by:" in text else text).strip().splitlines()[0].strip()
        where = f"{self.name} at tick {self.tick_count} in {call}"
        if "out of memory" in cause:  # e.g. a GC array larger than the memory cap allows
            return GameOutOfMemory(f"{where}: {cause} ([limits] memory_mb is {self.config.memory_mb})",
                                   game=self.name, tick=self.tick_count)
        return GameCrashed(f"{where}: failed: {cause}", game=self.name, tick=self.tick_count, trap_code="error")

    def _translate(self, trap: wasmtime.Trap, call: str) -> GameError:
        code = trap.trap_code
        where = f"{self.name} at tick {self.tick_count} in {call}"
        if code in (wasmtime.TrapCode.INTERRUPT, wasmtime.TrapCode.OUT_OF_FUEL):
            return GameTimedOut(f"{where}: ran past its CPU deadline of {self.config.tick_ms} ms "
                                "([limits] tick_ms)", game=self.name, tick=self.tick_count)
        if hasattr(self, "memory") and self._memory_full():
            return GameOutOfMemory(f"{where}: trapped ({code.name.lower() if code else 'trap'}) with memory "
                                   f"at its cap of {self.config.memory_mb} MiB ([limits] memory_mb)",
                                   game=self.name, tick=self.tick_count)
        name = code.name.lower() if code is not None else "unknown"
        # wasmtime puts a backtrace first and the cause ("wasm trap: call stack exhausted") after it
        text = str(trap.message or "")
        cause = text.split("wasm trap: ", 1)[1].splitlines()[0] if "wasm trap: " in text else name
        return GameCrashed(f"{where}: trapped: {cause}", game=self.name, tick=self.tick_count, trap_code=name)

    def _memory_full(self) -> bool:
        """Near the cap: a trap now is almost surely a refused memory.grow (wasmtime reports
        those to the guest as -1, not as a trap, so the host infers it from how full memory is)."""
        used = self.memory.data_len(self.store)
        return used + max(PAGE, used // 8) > self.config.memory_bytes

    # --- the frame path ---------------------------------------------------------------------------

    def tick(self, inputs: InputState, events: Sequence[Event] = ()) -> None:
        """Advance one fixed tick with ``inputs``, the host's asset events due at this tick, then
        ``events`` (e.g. players joining, stamped by a session server)."""
        if tracing.enabled:  # the only cost of tracing when it is off
            with tracing.span("tick", game=self.name, tick=self.tick_count):
                return self._tick(inputs, events)
        self._tick(inputs, events)

    def _tick(self, inputs: InputState, events: Sequence[Event]) -> None:
        data = inputs.pack(self.tick_count, [*self.assets.due(self.tick_count), *events])
        # lw_io's input block lies inside memory (checked at start; memory never shrinks): one copy,
        # without Memory.write's bounds walk and intermediate bytearray on every tick
        base = ctypes.addressof(self.memory.data_ptr(self.store).contents)
        ctypes.memmove(base + self.input_ptr, data, len(data))
        self._call("lw_tick")
        self.tick_count += 1

    def render(self) -> memoryview:
        """This frame's command list: a view of guest memory, valid until the next call."""
        if tracing.enabled:
            with tracing.span("render", game=self.name, tick=self.tick_count):
                return self._render()
        return self._render()

    def _render(self) -> memoryview:
        n = self._call("lw_render")
        if not 0 <= n <= self.cmd_capacity - abi.COMMAND_SCRATCH:
            self._failure = GameCrashed(f"{self.name}: lw_render returned {n} bytes, buffer holds {self.cmd_capacity}",
                                        game=self.name, tick=self.tick_count, trap_code="bad_render_length")
            raise self._failure
        (dropped,) = struct.unpack("<I", self.memory.read(self.store, self.cmd_ptr + self.cmd_capacity - 4,
                                                            self.cmd_ptr + self.cmd_capacity))
        if dropped and not self._dropped_reported:
            self.log.warning("[%s] command buffer full: %d records dropped this frame", self.name, dropped)
            self._dropped_reported = True
        return memoryview(self.memory.get_buffer_ptr(self.store, n, self.cmd_ptr)).cast("B")

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        """Images that became ready since the last call, as (handle, HxWx4 RGBA) for the renderer."""
        out = []
        for handle in self.assets.newly_ready:
            asset = self.assets.get(handle)
            assert asset is not None and asset.image is not None
            out.append((handle, asset.image))
        self.assets.newly_ready.clear()
        return out

    def _view(self) -> memoryview:
        """All of guest memory, zero-copy. The array type for its size is held here: ctypes caches
        such types only weakly (see layerw.runtime.ctypes_types)."""
        size = self.memory.data_len(self.store)
        if self._view_type is None or ctypes.sizeof(self._view_type) != size:
            self._view_type = ctypes.c_ubyte * size
        return memoryview(self._view_type.from_address(ctypes.addressof(self.memory.data_ptr(self.store).contents))).cast("B")

    def state_hash(self) -> str:
        """SHA-256 of the game state: memory above the stack, minus the command buffer."""
        mem = self._view()
        h = hashlib.sha256(mem[self.state_begin:self.cmd_ptr])
        h.update(mem[self.cmd_ptr + self.cmd_capacity:])
        return h.hexdigest()

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        mem = self._view()
        cmd_end = self.cmd_ptr + self.cmd_capacity
        return Snapshot(
            module_sha256=self.module_sha256, tick=self.tick_count,
            pages=self.memory.size(self.store), state_begin=self.state_begin,
            memory=bytes(mem[self.state_begin:self.cmd_ptr]) + bytes(mem[cmd_end:]),
            host={"rng": self.wasi.rng.state, "assets": self.assets.state()},
            hole_at=self.cmd_ptr, hole_size=self.cmd_capacity,
        )

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap`` in a fresh instance (also after a crash or a timeout)."""
        rng_state, asset_state = snap.check_fits(self.name, self.module_sha256, self.state_begin, self.cmd_ptr,
                                                 self.cmd_capacity, self.config.memory_bytes)
        rng = SplitMix64(rng_state)
        with tracing.span("instantiate", game=self.name, tick=snap.tick):
            self._instantiate(rng)
        self.assets.restore(asset_state)
        grow = snap.pages - self.memory.size(self.store)
        if grow < 0:
            raise SnapshotError(f"snapshot has {snap.pages} pages, fewer than the module's initial memory")
        if grow:
            self.memory.grow(self.store, grow)
        split = self.cmd_ptr - self.state_begin
        self.memory.write(self.store, snap.memory[:split], self.state_begin)
        self.memory.write(self.store, snap.memory[split:], self.cmd_ptr + self.cmd_capacity)
        self.tick_count = snap.tick
        self._failure = None

    def close(self) -> None:
        """Free the instance now (also done when the game is garbage collected)."""
        self._funcs = {}
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def __enter__(self) -> Game:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
