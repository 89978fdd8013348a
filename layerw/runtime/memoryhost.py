"""MemoryHost: what the in-process backends (core module, component) share.

Both run the guest on a wasmtime engine in this process and own its linear memory between calls,
so everything but the calls themselves is written once here: start-up (fresh instance, guest
initialisation, the lw_io check), the call wrapper (CPU budget, failure latch, errors translated
to ``GameError``), the asset table and its new textures, and state hashes, snapshots and restores
built on five small backend primitives: fresh instance, pages, grow, read range, write range.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import wasmtime

from layerw.bundle import Bundle
from layerw.errors import ConfigError, GameError, GameOutOfMemory, GameTimedOut, InvalidModule, LayerWError, SnapshotError
from layerw.observability import tracing
from layerw.runtime.assets import AssetTable, Event
from layerw.runtime.basehost import BaseHost
from layerw.runtime.devchecks import DevChecks, Problem
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.iolayout import IoLayout, check_io
from layerw.runtime.saveslots import SaveSlots
from layerw.runtime.snapshot import PAGE, Snapshot
from layerw.runtime.wasi import SplitMix64
from layerw.saves import Saves


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

    def _boot(self) -> None:
        """Start the game: a fresh instance seeded with ``seed``, initialised, its lw_io checked."""
        self._fresh(SplitMix64(self.seed))
        io = self._init_io()
        self._set_io(check_io(self.name, io, self._pages() * PAGE))

    def _fresh(self, rng: SplitMix64) -> None:
        self.rng = rng
        self.assets = AssetTable(self.bundle.asset_names(), set(self.config.preload), self.bundle.read_asset)
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

    @abstractmethod
    def _invoke(self, name: str, args: tuple[Any, ...]) -> Any:
        """Call the guest's export ``name``."""

    @abstractmethod
    def _game_error(self, error: Exception, call: str) -> GameError | None:
        """What ``error`` (raised by a call into the guest) means for the game; None if not the guest's."""

    # --- calls into the guest ---------------------------------------------------------------------

    def _call(self, name: str, *args: Any) -> Any:
        self._refuse_if_failed()
        self.engine.arm(self.store, self.config.tick_ms)
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

    def wait(self) -> None:
        """Nothing is in flight: every call into an in-process guest finishes before it returns."""

    def _where(self, call: str) -> str:
        return f"{self.name} at tick {self.tick_count} in {call}"

    def _timed_out(self, call: str) -> GameTimedOut:
        return GameTimedOut(f"{self._where(call)}: ran past its CPU deadline of {self.config.tick_ms} ms "
                            "([limits] tick_ms)", game=self.name, tick=self.tick_count)

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
        """Continue from ``snap`` in a fresh instance (also after a crash or a timeout)."""
        io = self.io
        rng_state, asset_state = snap.check_fits(self.name, self.module_sha256, io.state_begin, io.cmd_ptr,
                                                 io.cmd_capacity, self.config.memory_bytes,
                                                 allow_other_build=allow_other_build)
        self._failure = None
        try:
            with tracing.span("instantiate", game=self.name, tick=snap.tick):
                self._fresh(SplitMix64(rng_state))
            self.assets.restore(asset_state)
            if self.audio is not None:
                self.audio.restore(snap.host.get("audio"), self.assets.take_ready_sounds())
            grow = snap.pages - self._pages()
            if grow < 0:
                raise SnapshotError(f"snapshot has {snap.pages} pages, fewer than the module's initial memory")
            if grow and not self._grow(grow):
                raise SnapshotError(f"{self.name} cannot grow to the snapshot's {snap.pages} pages")
            split = io.cmd_ptr - io.state_begin
            self._write(io.state_begin, snap.memory[:split])
            self._write(io.cmd_end, snap.memory[split:])
        except BaseException as e:  # the fresh instance holds part of a state: refuse to run it
            self._fail(GameError(f"{self.name}: restoring the snapshot of tick {snap.tick} failed ({e}); "
                                 "restore another snapshot", game=self.name, tick=self.tick_count))
            raise
        self.tick_count = snap.tick
