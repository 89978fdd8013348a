"""The hostile-case harness: a healthy game ticking beside the cases, one way to run a case, and
example budgets for property tests (scaled up by ``python -m bench.fuzz``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

from layerw.bundle import Bundle
from layerw.errors import GameTimedOut, LayerWError
from layerw.gfx.commands import parse
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from tests.roomy import ROOMY_TICK_MS
from tests.waiting import wait_until

COUNTER = 4096  # the healthy game counts its ticks here
RATE = 60
MAX_LATE_S = 1.0  # the healthy game is never further behind its schedule than this during a case
# A case is about its deadline when it must time out: it gets a short one. Any other case (a crash, a
# refusal, or none) gets a roomy one, so that its outcome never races a loaded machine's clock (the
# table.grow bomb crashes after 7-26 ms of CPU, and hit a 50 ms deadline at load 20).
LIMITS = {"memory_mb": 4, "tick_ms": 50}


def limits_for(expect: type[LayerWError] | None, own: Mapping[str, int]) -> dict[str, int]:
    """The limits a hostile case runs under: ``LIMITS``, a roomy deadline unless it must time out, then its ``own``."""
    deadline = {} if expect is GameTimedOut else {"tick_ms": ROOMY_TICK_MS}
    return LIMITS | deadline | dict(own)


class Pacer:
    """A healthy game ticking at 60 Hz in its own thread, in the same process as the hostile cases
    and on the same engine: the proof that a hostile case never stalls the host.

    A stall is the host's own doing: the healthy game behind while this process was busy (a case
    holding the GIL or a lock the game needs burns CPU here all the while). A loaded machine that
    runs nothing of this process for a while delays it too, with little CPU spent here meanwhile:
    that is not counted. Each tick records its lateness and the process's CPU time since the last."""

    def __init__(self, game: Game) -> None:
        self.game = game
        self.ticks = 0
        self.late_s: list[float] = []
        self.busy_s: list[float] = []  # the process's CPU time from the end of the tick before to this one
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="layerw-pacer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        state, period, due, cpu = InputState(), 1 / RATE, time.monotonic(), time.process_time()
        try:
            while not self._stop.is_set():
                self.game.tick(state)
                self.ticks += 1
                due += period
                now, cpu_now = time.monotonic(), time.process_time()
                self.late_s.append(max(0.0, now - due))
                self.busy_s.append(cpu_now - cpu)
                cpu = cpu_now
                self._stop.wait(max(0.0, due - now))
        except BaseException as e:  # noqa: B036 - reported by the test that watches
            self.error = e

    def stalls(self, first: int) -> list[tuple[float, float]]:
        """(lateness, CPU time) of each tick from ``first`` that was over MAX_LATE_S behind while the
        process ran over MAX_LATE_S of CPU."""
        return [(late, busy) for late, busy in zip(self.late_s[first:], self.busy_s[first:], strict=False)
                if late > MAX_LATE_S and busy > MAX_LATE_S]

    @contextmanager
    def watch(self, n: int = 10) -> Iterator[None]:
        """Around one hostile case: afterwards the healthy game must be alive, never have stalled
        (``stalls``) during the case, and go on to tick ``n`` more times without a stall."""
        first = len(self.late_s)
        yield
        assert self.error is None, f"the healthy game failed beside a hostile case: {self.error!r}"
        assert not self.stalls(first), f"the healthy game stalled during a hostile case (s late, s of CPU): {self.stalls(first)}"
        start = self.ticks
        wait_until(lambda: self.ticks >= start + n or self.error is not None, f"the healthy game ticks {n} more times")
        assert self.error is None, f"the healthy game failed beside a hostile case: {self.error!r}"
        assert not self.stalls(first), f"the healthy game stalled after a hostile case (s late, s of CPU): {self.stalls(first)}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        counted = int.from_bytes(self.game.memory.read(self.game.store, COUNTER, COUNTER + 4), "little")
        assert counted == self.ticks == self.game.tick_count, "the healthy game's own count disagrees"
        self.game.close()


def exercise(b: Bundle, engine: Engine, *, ticks: int = 3, seed: int = 0,
             start: Callable[[Bundle, Engine, int], MemoryHost] | None = None) -> LayerWError | None:
    """Load ``b`` (with ``start``: on another tier) and drive it through every entry point: ticks,
    render and parse the command list, hash, snapshot and restore. Returns the typed error it
    ended in (None: it ran); any other exception escapes and fails the test."""
    try:
        game = start(b, engine, seed) if start is not None else Game(b, engine, seed=seed)
    except LayerWError as e:
        return e
    try:
        state = InputState()
        for _ in range(ticks):
            game.tick(state)
        parse(game.render())
        game.state_hash()
        game.restore(game.snapshot())
        game.tick(state)
    except LayerWError as e:
        return e
    finally:
        game.close()
    return None


def examples(n: int) -> int:
    """An example budget: ``n`` in the suite, times LAYERW_FUZZ_SCALE in a fuzz run (bench.fuzz)."""
    return n * int(os.environ.get("LAYERW_FUZZ_SCALE", "1"))


def fuzz(n: int) -> settings:
    """Hypothesis settings for a property: ``examples(n)`` examples, no deadline, no example
    database; derandomised in the suite (the same examples every run), random in a fuzz run."""
    return settings(max_examples=examples(n), deadline=None, database=None,
                    derandomize="LAYERW_FUZZ_SCALE" not in os.environ,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def peak_rss() -> int:
    """This process's peak resident set size since the last ``peak_rss_reset`` (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


@contextmanager
def bounded_memory(mib: int) -> Iterator[None]:
    """The host's peak RSS grows by at most ``mib`` MiB inside the block."""
    peak_rss_reset()
    before = peak_rss()
    yield
    grown = peak_rss() - before
    assert grown <= mib << 20, f"peak RSS grew {grown >> 20} MiB (bound {mib} MiB)"
