"""EpochClock: an engine's epoch counts the CPU time of the threads that call its games, not wall time.

wasmtime's epoch is engine-wide: a call's deadline is a number of epochs, and one thread advances
them. Advanced by wall time (every ``period`` seconds), a machine that keeps a healthy game's thread
waiting for a core stops it with GameTimedOut. This clock advances the epoch by the CPU time the
calling threads have used instead: each period it reads the CPU clock of every thread that armed a
call (``cpuclock.ThreadCpu``, one ``pread`` each) and advances one epoch once the largest use since
the last advance reaches a period. It advances at most one epoch a period of wall time, so it is
never sooner than a wall-clock ticker; for a game's own thread it counts its CPU time, and for
several games on one engine a call's budget runs at the pace of the busiest caller. Where a thread's clock cannot be read (other
systems), the clock counts wall time, as the log says once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from layerw.runtime.cpuclock import ThreadCpu

log = logging.getLogger("layerw.engine")


class EpochClock:
    """Advance an epoch (``advance``) once per ``period`` seconds of the callers' CPU time, at most once
    per wake of a daemon thread that wakes every ``period`` of wall time; ``watch`` registers the
    calling thread."""

    def __init__(self, advance: Callable[[], None], period: float) -> None:
        self._advance = advance
        self.period = period
        self._clocks: dict[int, tuple[ThreadCpu, float]] = {}  # thread id -> (its clock, its time when last read)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._owed = 0.0  # CPU time read and not yet advanced as whole periods
        self.wall_time = ThreadCpu.open(os.getpid(), threading.get_native_id()) is None
        if self.wall_time:
            log.info("no per-thread CPU clock on this system: CPU deadlines count wall-clock time")
        self._thread = threading.Thread(target=self._run, name="layerw-epoch", daemon=True)
        self._thread.start()

    def watch(self) -> None:
        """Count the calling thread's CPU time from now on (a few hundred ns once it is known)."""
        tid = threading.get_native_id()
        if self.wall_time or tid in self._clocks:
            return
        clock = ThreadCpu.open(os.getpid(), tid)
        used = clock.seconds() if clock is not None else None
        if clock is None or used is None:  # not expected where the first thread's clock could be read
            log.warning("thread %d's CPU clock cannot be read: CPU deadlines count wall-clock time from now", tid)
            self.wall_time = True
            return
        with self._lock:
            self._clocks[tid] = (clock, used)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            # At most one period per wake, as a wall-clock ticker advances: CPU time read late (this
            # thread kept waiting) must not arrive as a burst that times out a call armed meanwhile.
            self._owed = self.period if self.wall_time else min(self.period, self._owed + self._used())
            if self._owed >= self.period:
                self._owed = 0.0
                self._advance()

    def _used(self) -> float:
        """The largest CPU time any watched thread used since the last reading; threads that ended
        are forgotten."""
        most = 0.0
        with self._lock:
            for tid, (clock, before) in list(self._clocks.items()):
                now = clock.seconds()
                if now is None:
                    clock.close()
                    del self._clocks[tid]
                    continue
                most = max(most, now - before)
                self._clocks[tid] = (clock, now)
        return most

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            for clock, _ in self._clocks.values():
                clock.close()
            self._clocks.clear()
