"""Replay: a watchdog worker's timed-out call run again in this process, to name where the time went.

A worker past its deadline is killed, and with it the stack a backtrace would read. The game is
deterministic, so the parent keeps what it takes to run that call again: the snapshot the worker
started from (or none: the seed) and every call into the guest since (each tick's input record and
events, each render), rebased on each snapshot the host takes. ``Replay.run`` starts the build on an
epoch-interrupted engine in this process, replays the calls before the one that timed out, then
that call under a generous deadline (``REPLAY_FACTOR`` times the game's, at least ``REPLAY_MIN_MS``:
a wall-clock deadline on a loaded machine must not turn a slow call into a hang), and says what it
found: the guest frames where the call was stopped (``Stopped``) or that it finished (``Finished``)
— then the timeout came from the machine, not the game. Every call of the replay is
deadline-bounded and the whole replay stops after ``REPLAY_BUDGET_S``, so it cannot hang the host.
Save slots are not replayed (the replay has none): a tick that reads a slot may replay otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameError, GameTimedOut, LayerWError
from layerw.runtime.assets import Event
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier

REPLAY_FACTOR = 4  # the replayed call's deadline, in the game's deadlines
REPLAY_MIN_MS = 500  # and at least this: a wall-clock bound that a loaded machine's waits must not reach
REPLAY_BUDGET_S = 20.0  # the whole replay (start-up and the calls before the one that timed out)
# calls kept since the base snapshot; past this the worker takes a fresh one (WorkerGame): the sprites game's
# (311 KiB) took 15 ms on a loaded machine, 0.007 ms a frame of a tick and a render (2 calls) when amortised
MAX_CALLS = 4096
TICK, RENDER = "lw_tick", "lw_render"


def apply_tick(game: MemoryHost, state: InputState, payload: bytes) -> None:
    """Run one tick from a worker's tick payload: its lw_input record, then lw_event records."""
    state.record[...] = np.frombuffer(payload[:abi.INPUT.size], dtype=abi.INPUT.dtype)[0]
    events = [Event(game.tick_count, int(e["kind"]), int(e["player"]), int(e["a"]), int(e["b"]))
              for e in np.frombuffer(payload[abi.INPUT.size:], dtype=abi.EVENT.dtype)]
    game.tick(state, events)


@dataclass(frozen=True)
class Stopped:
    """The replayed call ran past the replay's deadline: the guest frames it was stopped in."""

    deadline_ms: int
    frames: list[dict[str, object]]


@dataclass(frozen=True)
class Finished:
    """The replayed call returned, in ``ms`` milliseconds of wall time."""

    ms: float


@dataclass(frozen=True)
class Unreplayed:
    """The replay could not reach or run the call (``why``: a failure, or the budget spent)."""

    why: str


Outcome = Stopped | Finished | Unreplayed


class _ReplayEngine(Engine):
    """An epoch engine that gives every call the replay's deadline, whatever the game's is."""

    def __init__(self, deadline_ms: int, cache: Path | None) -> None:
        super().__init__(CpuLimit.EPOCH, cache=cache)
        self.deadline_ms = deadline_ms

    def arm(self, store: wasmtime.Store, deadline_ms: int) -> None:
        super().arm(store, self.deadline_ms)


class Replay:
    """The calls into a worker's guest since its base state, to run the latest again in-process."""

    def __init__(self, bundle: Bundle, seed: int, cache: Path | None) -> None:
        self.bundle = bundle
        self.seed = seed
        self.cache = cache
        self.base: bytes | None = None  # a snapshot's bytes; None: the game from its seed
        self.calls: list[tuple[str, bytes]] = []  # (TICK, payload) or (RENDER, b""), in the order sent

    def rebase(self, snapshot: bytes | None) -> None:
        """The worker's state is now ``snapshot`` (None: a fresh start from the seed)."""
        self.base = snapshot
        self.calls = []

    def record(self, call: str, payload: bytes = b"") -> int:
        """Keep a call sent to the worker; its index in ``calls``."""
        self.calls.append((call, payload))
        return len(self.calls) - 1

    @property
    def full(self) -> bool:
        return len(self.calls) >= MAX_CALLS

    def base_tick(self) -> int:
        """The tick the replay starts from: its base snapshot's (0: the seed's)."""
        return Snapshot.from_bytes(self.base).tick if self.base is not None else 0

    def deadline_ms(self) -> int:
        return max(REPLAY_MIN_MS, REPLAY_FACTOR * self.bundle.config.tick_ms)

    def run(self, index: int | None) -> Outcome:
        """Replay the calls before ``index``, then that one (None: the worker's start-up itself)."""
        began = time.monotonic()
        deadline_ms = self.deadline_ms()
        try:
            with _ReplayEngine(deadline_ms, self.cache) as engine:
                t0 = time.perf_counter()
                try:
                    # on wasmtime: its epoch engine bounds each replayed call and names the frames it stops in
                    game = start_game(self.bundle, engine, seed=self.seed, audio=False, tier=Tier.WASMTIME)
                except GameTimedOut as e:
                    if index is None:
                        return Stopped(deadline_ms, e.frames)
                    return Unreplayed(f"its start-up ran past {deadline_ms} ms")
                if index is None:
                    game.close()
                    return Finished((time.perf_counter() - t0) * 1000)
                with game:
                    if self.base is not None:
                        snap = Snapshot.from_bytes(self.base)
                        game.restore(snap, allow_other_build=snap.module_sha256 == game.module_sha256)
                    return self._calls(game, index, began, deadline_ms)
        except GameError as e:
            return Unreplayed(f"the replay failed before the call: {e}")
        except LayerWError as e:
            return Unreplayed(f"the replay could not start: {e}")

    def _calls(self, game: MemoryHost, index: int, began: float, deadline_ms: int) -> Outcome:
        state = InputState()
        for i, (call, payload) in enumerate(self.calls[:index + 1]):
            if time.monotonic() - began > REPLAY_BUDGET_S:
                return Unreplayed(f"replaying the {index} calls before it took more than {REPLAY_BUDGET_S:.0f} s")
            last = i == index
            t0 = time.perf_counter()
            try:
                if call == TICK:
                    apply_tick(game, state, payload)
                else:
                    game.render()
            except GameTimedOut as e:
                if last:
                    return Stopped(deadline_ms, e.frames)
                return Unreplayed(f"an earlier call ({call} at tick {game.tick_count}) ran past {deadline_ms} ms when replayed")
            except GameError as e:
                if last:
                    return Unreplayed(f"replayed, the call failed another way: {e}")
                raise
            if last:
                return Finished((time.perf_counter() - t0) * 1000)
        return Unreplayed(f"call {index} was not recorded")
