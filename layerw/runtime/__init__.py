"""The native host: run game modules on wasmtime with bounded CPU and memory.

A build is a core module (``Game``) or a component (``ComponentGame``, when its layerw.toml says
``[component] enabled``); ``game_class`` picks one once, and both have the same interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from layerw.bundle import Bundle
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.worker import WorkerGame

WATCHDOG = "watchdog"
CPU_LIMITS = (*(c.value for c in CpuLimit), WATCHDOG)
# `make bench` (section 5): with a frame rendered per tick, epoch checks cost the sample games
# ~0-12 % of guest time while the watchdog's pipe round trips and command-list copy cost more per
# frame; the watchdog wins for compute-heavy ticks (epoch costs matmul-like loops +75 %).
DEFAULT_CPU_LIMIT = CpuLimit.EPOCH.value
AnyGame = Game | ComponentGame | WorkerGame


def game_class(bundle: Bundle) -> type[Game] | type[ComponentGame]:
    """The in-process host for this build: components run on wasmtime's component model."""
    return ComponentGame if bundle.config.component else Game


@contextmanager
def open_game(bundle: Bundle, *, cpu_limit: str = DEFAULT_CPU_LIMIT, seed: int = 0) -> Iterator[AnyGame]:
    """Start a game: in a watchdog-bounded worker process, or in-process with an engine
    enforcing ``cpu_limit`` (epoch, fuel or off)."""
    if cpu_limit == WATCHDOG:
        with WorkerGame(bundle, seed=seed) as worker:
            yield worker
        return
    with Engine(CpuLimit(cpu_limit)) as engine, game_class(bundle)(bundle, engine, seed=seed) as game:
        yield game
