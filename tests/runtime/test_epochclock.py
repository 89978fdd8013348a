"""The epoch tier's deadline counts the calling thread's CPU time (EpochClock), not wall time: a
loaded machine that keeps a game's thread waiting does not time a healthy tick out."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from layerw.errors import GameTimedOut
from layerw.runtime.cpuclock import ThreadCpu
from layerw.runtime.engine import Engine
from layerw.runtime.epochclock import EpochClock
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from tests.hostile.modules import LOOP
from tests.waiting import SlowLog, wait_until
from tests.wat import bundle, contract_wat

LIMITS = {"memory_mb": 4, "tick_ms": 50}
LOG = '(import "layerw" "log" (func $log (param i32 i32 i32)))'
PERIOD = 0.002

pytestmark = pytest.mark.skipif(ThreadCpu.open(os.getpid(), threading.get_native_id()) is None,
                                reason="no per-thread CPU clock on this system")


class _Advances:
    """Counts the epochs an EpochClock advances."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _in_thread(work: object) -> None:
    thread = threading.Thread(target=work)  # type: ignore[arg-type]
    thread.start()
    thread.join()


def test_a_waiting_thread_advances_nothing_and_a_spinning_one_its_cpu_time() -> None:
    advances = _Advances()
    clock = EpochClock(advances, PERIOD)
    try:
        def wait() -> None:
            clock.watch()
            threading.Event().wait(0.2)  # 100 periods of wall time, next to no CPU

        _in_thread(wait)
        time.sleep(5 * PERIOD)  # let the clock read the ended thread once more, and forget it
        assert advances.count == 0

        spun = 0.0
        counted = threading.Event()

        def spin() -> None:  # spins until the clock has advanced 5 epochs (10 s of CPU at most), then
            nonlocal spun    # waits, alive, so the clock reads it, until the test has counted
            clock.watch()
            start = time.thread_time()
            while advances.count < 5 and time.thread_time() - start < 10:
                pass
            spun = time.thread_time() - start
            counted.wait(10)

        thread = threading.Thread(target=spin)
        thread.start()
        wait_until(lambda: spun > 0, "the spinning thread to stop")
        time.sleep(5 * PERIOD)  # the clock reads the spent CPU once more
        counted.set()
        thread.join()
        # each advance is a period of the spinning thread's CPU time, none beyond it
        assert 5 <= advances.count <= int(spun / PERIOD) + 1
    finally:
        clock.close()


def test_a_tick_that_waits_past_its_deadline_runs_on(tmp_path: Path, engine: Engine) -> None:
    """Four deadlines spent waiting in a host import (as a thread a loaded machine keeps off its
    core would) do not time the tick out; it failed on the wall-clock epoch ticker."""
    log = "(call $log (i32.const 3) (i32.const 0) (i32.const 0))"
    log_twice = f"{log} {log} (loop (br_if 0 (i32.const 0)))"  # wasmtime checks the epoch on entering a loop
    with Game(bundle(tmp_path, contract_wat(imports=LOG, tick=log_twice), **LIMITS), engine) as game:
        with SlowLog(2 * LIMITS["tick_ms"] / 1000).on(game.log.logger) as waits:
            game.tick(InputState())
        assert waits.records == 2 and game.tick_count == 1


def test_a_spinning_tick_still_times_out(tmp_path: Path, engine: Engine) -> None:
    with Game(bundle(tmp_path, contract_wat(tick=LOOP), **LIMITS), engine) as game:
        with pytest.raises(GameTimedOut, match="in lw_tick: ran past its CPU deadline of 50 ms"):
            game.tick(InputState())
