"""The native host: run game modules on wasmtime with bounded CPU and memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.worker import WorkerGame

WATCHDOG = "watchdog"
CPU_LIMITS = (WATCHDOG, *(c.value for c in CpuLimit))
AnyGame = Game | WorkerGame


@contextmanager
def open_game(bundle: Bundle, *, cpu_limit: str = WATCHDOG, seed: int = 0) -> Iterator[AnyGame]:
    """Start a game: in a watchdog-bounded worker process, or in-process with an engine
    enforcing ``cpu_limit`` (epoch, fuel or off)."""
    if cpu_limit == WATCHDOG:
        with WorkerGame(bundle, seed=seed) as worker:
            yield worker
        return
    with Engine(CpuLimit(cpu_limit)) as engine, Game(bundle, engine, seed=seed) as game:
        yield game
