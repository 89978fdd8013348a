"""MemoryHost: what the in-process backends (core module, component) share.

Both run the guest on a wasmtime engine in this process and own its linear memory between calls,
so everything but the calls themselves is written once here: start-up (fresh instance, guest
initialisation, the lw_io check), the call wrapper (CPU budget, failure latch, errors translated
to ``GameError``), the asset table and its new textures, and state hashes, snapshots and restores
built on five small backend primitives: fresh instance, pages, grow, read range, write range.
A backend that can lend all of memory as a writable view (``_live_memory``) also restores in place:
the snapshot's blocks that differ are written back into the running instance, with no new one.
"""

from __future__ import annotations

import hashlib
import struct
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ConfigError, GameError, GameOutOfMemory, GameTimedOut, InvalidModule, LayerWError, SnapshotError
from layerw.observability import tracing
from layerw.runtime.assets import AssetTable, Event
from layerw.runtime.basehost import BaseHost
from layerw.runtime.blocks import patch
from layerw.runtime.devchecks import DevChecks, Problem
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.iolayout import IoLayout, check_io
from layerw.runtime.saveslots import SaveSlots
from layerw.runtime.snapshot import PAGE, Snapshot
from layerw.runtime.wasi import SplitMix64
from layerw.saves import Saves
from layerw.symbols import SourceFrame, Symbols, describe

_Error = TypeVar("_Error", bound=GameError)
RawFrame = tuple[int, int, str | None]  # a guest frame as the engine gives it: module offset, function index, name

SND_LEN = abi.IO.offsets["snd_len"]
assert abi.IO.offsets["snd_dropped"] == SND_LEN + 4


class MemoryHost(BaseHost):
    store: wasmtime.Store
    assets: AssetTable
    rng: SplitMix64  # the game's random stream (WASI random_get for a core module): host state in snapshots
    checks: DevChecks | None = None  # dev runs only (enable_checks); release runs test this and nothing more

    def __init__(self, bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
                 saves: Saves | None = None) -> None:
        super().__init__(bundle, seed=seed, audio=audio, saves=saves)
        self.save_slots = SaveSlots(self.saves, self.name, self.log)  # outlives restores: saves are not state
        self.engine = engine
        self._dropped_reported = False
        self._oversized_reported = False
        self._symbols: Symbols | None = None
        self._symbols_read = False
        self.code_sha256 = self.module_sha256  # the module whose offsets the engine's frames count (the symbols' fit)
        self._fresh_stack: bytes | None = None  # a fresh instance's memory below state_begin (in-place restores)

    def _boot(self) -> None:
        """Start the game: a fresh instance seeded with ``seed``, initialised, its lw_io checked."""
        self._fresh(SplitMix64(self.seed))
        live = self._live_memory()
        fresh = bytes(live) if live is not None else None  # before the guest's first call uses its stack
        io = self._init_io()
        self._set_io(check_io(self.name, io, self._pages() * PAGE))
        self._fresh_stack = fresh[:self.io.state_begin] if fresh is not None else None

    def _fresh(self, rng: SplitMix64) -> None:
        self.rng = rng
        self.assets = AssetTable(self.bundle.asset_names(), set(self.config.preload), self.bundle.read_asset,
                                 frozenset(self.config.stream))
        self._instantiate()

    def _set_io(self, io: IoLayout) -> None:
        self.io = io
        # plain attributes: the frame path reads them every tick
        self.input_ptr, self.cmd_ptr, self.cmd_capacity, self.state_begin = (
            io.input_ptr, io.cmd_ptr, io.cmd_capacity, io.state_begin)
        self.snd_ptr, self.snd_capacity = io.snd_ptr, io.snd_capacity

    # --- dev checks -------------------------------------------------------------------------------

    def enable_checks(self, report: Callable[[Problem], None] | None = None) -> DevChecks:
        """Check the contract as the game runs from now on (``layerw dev``, ``layerw run --dev``)."""
        if getattr(self, "io", None) is None:
            raise ConfigError(f"{self.name} is a WASM-4 cart: dev checks cover the Layer-W contract (lw_io, its "
                              "command list and host functions); run it without --dev")
        self.checks = DevChecks(self, report)
        return self.checks

    def _refused(self, func: str, reason: str) -> None:
        """A host function refused a call: the dev checks hear why."""
        if self.checks is not None:
            self.checks.host_call(func, reason)

    def tick(self, inputs: InputState, events: Sequence[Event] = ()) -> None:
        super().tick(inputs, events)
        if self.checks is not None:
            self.checks.after_call("lw_tick")

    def render(self) -> memoryview:
        if self.checks is not None:
            return self.checks.render(super().render)
        return super().render()

    # --- the backend's primitives -----------------------------------------------------------------

    @abstractmethod
    def _instantiate(self) -> None:
        """A fresh store and instance (replacing any old one) using ``rng`` and ``assets``."""

    @abstractmethod
    def _init_io(self) -> Mapping[str, int]:
        """Run the guest's initialisation with ``seed``; its lw_io record's fields by name."""

    @abstractmethod
    def _pages(self) -> int:
        """Linear memory size in 64 KiB pages."""

    @abstractmethod
    def _grow(self, pages: int) -> bool:
        """Grow linear memory by ``pages``; False when it cannot."""

    @abstractmethod
    def _read(self, begin: int, end: int) -> bytes | memoryview:
        """Linear memory [begin, end) (a view where the backend can give one)."""

    @abstractmethod
    def _write(self, at: int, data: bytes) -> None:
        """Copy ``data`` into linear memory at ``at``."""

    def _live_memory(self) -> memoryview | None:
        """All of linear memory as a writable view (valid until it grows), for restores in place;
        None where the backend cannot lend one (each restore then starts a fresh instance)."""
        return None

    @abstractmethod
    def _invoke(self, name: str, args: tuple[Any, ...]) -> Any:
        """Call the guest's export ``name``."""

    @abstractmethod
    def _game_error(self, error: Exception, call: str) -> GameError | None:
        """What ``error`` (raised by a call into the guest) means for the game; None if not the guest's."""

    # --- calls into the guest ---------------------------------------------------------------------

    def _call(self, name: str, *args: Any) -> Any:
        if self._failure is not None:  # (tested here: every tick passes this)
            self._refuse_if_failed()
        self._arm()
        try:
            return self._invoke(name, args)
        except Exception as e:
            error = self._game_error(e, name)
            if error is None:
                raise
            self._fail(error)
            if error is e:
                raise
            raise error from e

    def _arm(self) -> None:
        """Give the next call into the guest its CPU budget (the engine's way; a tier that bounds
        each call itself overrides this)."""
        self.engine.arm(self.store, self.config.tick_ms)

    def _memory_full(self) -> bool:
        """Near the cap: a trap now is almost surely a refused memory.grow (wasmtime reports
        those to the guest as -1, not as a trap, so the host infers it from how full memory is)."""
        used = self._pages() * PAGE
        return used + max(PAGE, used // 8) > self.config.memory_bytes

    def _tick_sound_at(self, view: memoryview, io_ptr: int) -> None:
        """After lw_tick: lw_io's snd_len and snd_dropped (at ``io_ptr``), then the block itself,
        read in place from ``view`` (all of guest memory), to ``_tick_sound``."""
        if self.snd_ptr:
            length, dropped = struct.unpack_from("<II", view, io_ptr + SND_LEN)
            self._tick_sound(view[self.snd_ptr:self.snd_ptr + min(length, self.snd_capacity + 1)], dropped)
        else:
            self._tick_sound(b"", 0)

    def wait(self) -> None:
        """Nothing is in flight: every call into an in-process guest finishes before it returns."""

    def _where(self, call: str) -> str:
        return f"{self.name} at tick {self.tick_count} in {call}"

    def _timed_out(self, call: str, frames: Sequence[RawFrame] = ()) -> GameTimedOut:
        return self._with_frames(GameTimedOut(f"{self._where(call)}: ran past its CPU deadline of {self.config.tick_ms} ms "
                                              "([limits] tick_ms)", game=self.name, tick=self.tick_count), frames)

    # --- backtraces -------------------------------------------------------------------------------

    def symbols(self) -> Symbols | None:
        """The build's source-line table, read on first use (a trap); None when the bundle has none
        or it belongs to another build (logged once)."""
        if not self._symbols_read:
            self._symbols_read = True
            data = self.bundle.read_symbols()
            try:
                symbols = Symbols.from_bytes(data) if data is not None else None
            except InvalidModule as e:
                self.log.warning("[%s] its symbols are unusable (%s): traps name no source lines", self.name, e)
                symbols = None
            if symbols is not None and not self._fits(symbols):
                self.log.warning("[%s] its symbols are for another build of the module: traps name no source lines",
                                 self.name)
                symbols = None
            self._symbols = symbols
        return self._symbols

    def backtrace(self, frames: Sequence[RawFrame]) -> list[SourceFrame]:
        """Engine frames (innermost first) as source frames: function and file:line from the
        symbols, inlined calls expanded; the function's index where there are no symbols."""
        if not frames:  # (a backend whose engine gives none reads no table)
            return []
        symbols = self.symbols()
        out: list[SourceFrame] = []
        for offset, index, name in frames:
            found = symbols.frames(offset) if symbols is not None else []
            out.extend(found or [SourceFrame(offset, name or f"wasm-function[{index}]")])
        return out

    def _fits(self, symbols: Symbols) -> bool:
        """Whether ``symbols`` describes the module whose code offsets the engine's frames count."""
        return symbols.fits(self.code_sha256)

    def _with_frames(self, error: _Error, frames: Sequence[RawFrame]) -> _Error:
        """``error`` naming the guest frames it happened in: in its message, one ``at`` line each,
        and as structured ``frames`` (for logs and telemetry)."""
        return self._with_source(error, self.backtrace(frames))

    @staticmethod
    def _with_source(error: _Error, source: list[SourceFrame]) -> _Error:
        """``error`` naming ``source``, its frames as the symbols name them (see ``_with_frames``)."""
        if source:
            error.args = (f"{error.args[0]}{describe(source)}", *error.args[1:])
            error.frames = [frame.to_json() for frame in source]
        return error

    def _not_instantiated(self, text: str, *, over_cap: bool) -> LayerWError:
        """The error for an instance wasmtime refused to create, from its message's first line;
        ``over_cap`` when the backend reads it as the initial memory exceeding the cap."""
        if over_cap:
            return GameOutOfMemory(f"{self.name} needs more initial memory than its cap of "
                                   f"{self.config.memory_mb} MiB; raise [limits] memory_mb",
                                   game=self.name, tick=0)
        return InvalidModule(f"{self.name} cannot be instantiated: {text}")

    def _tick_sound(self, block: bytes | memoryview, dropped: int) -> None:
        """After lw_tick: the sound block it wrote (bounded by the block's capacity), to ``_sound``."""
        if not self.sound_heard:
            return
        if len(block) > self.snd_capacity:
            if not self._oversized_reported:
                self.log.warning("[%s] lw_tick reported %d bytes of sound commands, its block holds %d: "
                                 "the excess is ignored", self.name, len(block), self.snd_capacity)
                self._oversized_reported = True
            block = block[:self.snd_capacity]
        self._sound(block, dropped, self.assets.take_ready_sounds())

    def _report_dropped(self, dropped: int) -> None:
        if dropped and not self._dropped_reported:
            self.log.warning("[%s] command buffer full: %d records dropped this frame", self.name, dropped)
            self._dropped_reported = True

    # --- assets, state, snapshots -----------------------------------------------------------------

    def take_new_textures(self) -> list[tuple[int, np.ndarray]]:
        """Images that became ready since the last call, as (handle, HxWx4 RGBA) for the renderer."""
        out = []
        for handle in self.assets.newly_ready:
            asset = self.assets.get(handle)
            assert asset is not None and asset.image is not None
            out.append((handle, asset.image))
        self.assets.newly_ready.clear()
        return out

    def state_hash(self) -> str:
        """SHA-256 of the game state: memory above the stack, minus the command buffer."""
        h = hashlib.sha256(self._read(self.io.state_begin, self.io.cmd_ptr))
        h.update(self._read(self.io.cmd_end, self._pages() * PAGE))
        return h.hexdigest()

    def snapshot(self) -> Snapshot:
        io, pages = self.io, self._pages()
        return Snapshot(
            module_sha256=self.module_sha256, tick=self.tick_count, pages=pages, state_begin=io.state_begin,
            memory=b"".join((self._read(io.state_begin, io.cmd_ptr), self._read(io.cmd_end, pages * PAGE))),
            host={"rng": self.rng.state, "assets": self.assets.state(),
                  **({"audio": self.audio.state()} if self.audio is not None else {})},
            hole_at=io.cmd_ptr, hole_size=io.cmd_capacity,
        )

    def restore(self, snap: Snapshot, *, allow_other_build: bool = False) -> None:
        """Continue from ``snap``: in place when it can (``_restore_in_place``), else in a fresh
        instance (also after a crash or a timeout)."""
        io = self.io
        rng_state, asset_state = snap.check_fits(self.name, self.module_sha256, io.state_begin, io.cmd_ptr,
                                                 io.cmd_capacity, self.config.memory_bytes,
                                                 allow_other_build=allow_other_build)
        if len(snap.memory) != snap.memory_size:
            raise SnapshotError(f"snapshot memory holds {len(snap.memory)} bytes, its pages and layout say {snap.memory_size}")
        in_place = (self._failure is None and self._fresh_stack is not None and snap.module_sha256 == self.module_sha256
                    and snap.pages >= self._pages())
        try:
            if in_place:
                with tracing.span("restore_in_place", game=self.name, tick=snap.tick):
                    self._restore_in_place(snap, rng_state, asset_state)
            else:
                self._failure = None
                with tracing.span("instantiate", game=self.name, tick=snap.tick):
                    self._fresh(SplitMix64(rng_state))
                self._restore_host(snap, asset_state)
                self._restore_memory(snap)
        except BaseException as e:  # the instance holds part of a state: refuse to run it
            self._fail(GameError(f"{self.name}: restoring the snapshot of tick {snap.tick} failed ({e}); "
                                 "restore another snapshot", game=self.name, tick=self.tick_count))
            raise
        self.tick_count = snap.tick

    def _restore_host(self, snap: Snapshot, asset_state: dict[str, Any]) -> None:
        """The host's state from ``snap``: its asset table, then the mixer with the sounds ready in it."""
        self.assets.restore(asset_state)
        if self.audio is not None:
            self.audio.restore(snap.host.get("audio"), self.assets.take_ready_sounds())

    def _restore_memory(self, snap: Snapshot) -> None:
        """A fresh instance's memory grown to the snapshot's pages and given its state."""
        io = self.io
        grow = snap.pages - self._pages()
        if grow < 0:
            raise SnapshotError(f"snapshot has {snap.pages} pages, fewer than the module's initial memory")
        if grow and not self._grow(grow):
            raise SnapshotError(f"{self.name} cannot grow to the snapshot's {snap.pages} pages")
        split = io.cmd_ptr - io.state_begin
        self._write(io.state_begin, snap.memory[:split])
        self._write(io.cmd_end, snap.memory[split:])

    def _restore_in_place(self, snap: Snapshot, rng_state: int, asset_state: dict[str, Any]) -> None:
        """Rewrite the live instance as a fresh one restored from ``snap`` would be. Only for this
        build's snapshot, a memory no larger than the snapshot's (memories never shrink) and an
        instance that has not failed: between calls the only mutable global, the stack pointer, is
        back at its initial value (see ``Snapshot``), so memory and host state are the whole
        difference. Memory: below ``state_begin`` a fresh instance's (the dead stack), the state
        from ``snap``, and the command buffer's scratch tail zeroed (as in a fresh instance, so the
        game's next frame declares its GPU resources again, ``lw_gpu_fresh``); the rest of the
        command buffer is each frame's output, rewritten before the host reads it. Host state first,
        as for a fresh instance: the random stream, the mixer's voices, and the asset table
        (reloaded only when it differs)."""
        self.rng.state = rng_state
        sound = snap.host.get("audio")
        if self.assets.state() != asset_state or (self.audio is not None and sound is None):
            self._restore_host(snap, asset_state)
        elif self.audio is not None:
            self.audio.rewind(sound)  # the mixer keeps the sounds it was given: the same assets are ready
        io, stack = self.io, self._fresh_stack
        assert stack is not None
        grow = snap.pages - self._pages()
        if grow and not self._grow(grow):
            raise SnapshotError(f"{self.name} cannot grow to the snapshot's {snap.pages} pages")
        live = self._live_memory()
        assert live is not None
        state, split = memoryview(snap.memory), io.cmd_ptr - io.state_begin
        patch(live[:io.state_begin], stack)
        patch(live[io.state_begin:io.cmd_ptr], state[:split])
        patch(live[io.cmd_end:], state[split:])
        live[io.cmd_end - abi.COMMAND_SCRATCH:io.cmd_end] = bytes(abi.COMMAND_SCRATCH)
