"""Timing: medians of interleaved rounds, and the ratios the tables report."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Clock = Callable[[], float]
clock: Clock = time.perf_counter
thread_clock: Clock = time.thread_time  # the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): not preempted time


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = clock()
    fn()
    return clock() - t0


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def ratio(reference: float, measured: float) -> float:
    """reference / measured: 1.0 means as fast as the reference, 0.5 twice as slow."""
    return reference / measured if measured > 0 else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f}"
