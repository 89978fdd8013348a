"""The native host: run game modules on wasmtime with bounded CPU and memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.worker import WorkerGame

WATCHDOG = "watchdog"
CPU_LIMITS = (*(c.value for c in CpuLimit), WATCHDOG)
# `make bench` (section 5): with a frame rendered per tick, epoch checks cost the sample games
# ~0-12 % of guest time while the watchdog's pipe round trips and command-list copy cost more per
# frame; the watchdog wins for compute-heavy ticks (epoch costs matmul-like loops +75 %).
DEFAULT_CPU_LIMIT = CpuLimit.EPOCH.value
AnyGame = Game | WorkerGame


@contextmanager
def open_game(bundle: Bundle, *, cpu_limit: str = DEFAULT_CPU_LIMIT, seed: int = 0) -> Iterator[AnyGame]:
    """Start a game: in a watchdog-bounded worker process, or in-process with an engine
    enforcing ``cpu_limit`` (epoch, fuel or off)."""
    if cpu_limit == WATCHDOG:
        with WorkerGame(bundle, seed=seed) as worker:
            yield worker
        return
    with Engine(CpuLimit(cpu_limit)) as engine, Game(bundle, engine, seed=seed) as game:
        yield game
