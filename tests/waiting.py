"""Bounded waits for a condition, instead of fixed sleeps: a test goes on as soon as what it needs
holds (however loaded the machine), and fails with a clear message when it never does; and
``SlowLog``, a host import that waits without using CPU."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POLL_S = 0.01


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout_s:.0f} s")
        time.sleep(POLL_S)


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """``wait_until`` for a coroutine: polls without blocking the event loop."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)


class SlowLog(logging.Handler):
    """A log handler that waits (sleeping, using no CPU) on every record: a guest's log call becomes a
    slow host import, as a thread that a loaded machine keeps off its core would see one."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        threading.Event().wait(self.seconds)

    @contextmanager
    def on(self, logger: logging.Logger) -> Iterator[SlowLog]:
        """Wait on ``logger``'s records while the block runs."""
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
