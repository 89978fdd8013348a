"""The hostile-case harness: a healthy game ticking beside the cases, one way to run a case, and
example budgets for property tests (scaled up by ``python -m bench.fuzz``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

from layerw.bundle import Bundle
from layerw.errors import LayerWError
from layerw.gfx.commands import parse
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost

COUNTER = 4096  # the healthy game counts its ticks here
RATE = 60
MAX_LATE_S = 1.0  # the healthy game is never further behind its schedule than this during a case


class Pacer:
    """A healthy game ticking at 60 Hz in its own thread, in the same process as the hostile cases
    and on the same engine: the proof that a hostile case never stalls the host."""

    def __init__(self, game: Game) -> None:
        self.game = game
        self.ticks = 0
        self.late_s: list[float] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="layerw-pacer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        state, period, due = InputState(), 1 / RATE, time.monotonic()
        try:
            while not self._stop.is_set():
                self.game.tick(state)
                self.ticks += 1
                due += period
                now = time.monotonic()
                self.late_s.append(max(0.0, now - due))
                self._stop.wait(max(0.0, due - now))
        except BaseException as e:  # noqa: B036 - reported by the test that watches
            self.error = e

    @contextmanager
    def watch(self, n: int = 10) -> Iterator[None]:
        """Around one hostile case: afterwards the healthy game must be alive, never have fallen
        more than MAX_LATE_S behind during the case, and advance ``n`` more ticks on time (within
        n / RATE + MAX_LATE_S)."""
        first = len(self.late_s)
        yield
        late = max(self.late_s[first:], default=0.0)
        assert self.error is None, f"the healthy game failed beside a hostile case: {self.error!r}"
        assert late <= MAX_LATE_S, f"the healthy game fell {late:.3f} s behind during a hostile case"
        start = self.ticks
        deadline = time.monotonic() + n / RATE + MAX_LATE_S
        while self.ticks < start + n and time.monotonic() < deadline:
            time.sleep(0.002)
        assert self.ticks >= start + n, f"the healthy game ticked {self.ticks - start} of {n} times in time"

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
