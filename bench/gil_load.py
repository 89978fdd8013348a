"""GilLoad: Python threads that spin in the measuring process, each holding the GIL for whole switch
intervals (5 ms), as a game's own Python work does: the load under which a device callback that
needs the GIL waits and one that does not plays on. Bounded: the threads stop on close() or after
``max_s`` seconds, whichever comes first."""

from __future__ import annotations

import threading
import time
from typing import Self


class GilLoad:
    def __init__(self, threads: int, max_s: float = 60.0) -> None:
        self._stop = threading.Event()
        self._until = time.monotonic() + max_s
        self.spins = 0  # loop iterations done, all threads together (a check that the load ran)
        self._threads = [threading.Thread(target=self._spin, name=f"gil-load-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _spin(self) -> None:
        spins = 0
        while not self._stop.is_set() and time.monotonic() < self._until:
            for i in range(2000):  # pure Python: holds the GIL until the interpreter switches threads
                spins += i & 1
        self.spins += spins

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
