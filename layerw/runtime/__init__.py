"""The native host: run game modules on wasmtime with bounded CPU and memory.

Every host implements one interface, ``GameHost`` (``layerw.runtime.gamehost``). ``open_game``
picks the backend in one place from the CPU limit: ``CpuLimit.WATCHDOG`` runs the game in a
worker process a watchdog bounds (``WorkerGame``); any other limit runs it in this process on an
engine enforcing that limit, as a core module or a component (``start_game``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from layerw.bundle import Bundle
from layerw.cart import is_cart
from layerw.errors import UnsupportedCpuLimit, UnsupportedTier
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier
from layerw.runtime.tierchoice import choose
from layerw.runtime.worker import WorkerGame
from layerw.saves import Saves

# `make bench` (section 5): with a frame rendered per tick, epoch checks cost the sample games
# ~0-12 % of guest time while the watchdog's pipe round trips and command-list copy cost more per
# frame; the watchdog wins for compute-heavy ticks (epoch costs matmul-like loops +75 %).
DEFAULT_CPU_LIMIT = CpuLimit.EPOCH

# the AOT tier where it keeps every guarantee (layerw.runtime.tierchoice), wasmtime elsewhere:
# core modules run at ~0.9x native there against ~0.47x on wasmtime with epoch checks (bench --only cpu)
DEFAULT_TIER = Tier.AUTO

__all__ = ["DEFAULT_CPU_LIMIT", "DEFAULT_TIER", "CpuLimit", "GameHost", "Tier", "open_game", "start_game"]


@contextmanager
def open_game(bundle: Bundle, *, cpu_limit: CpuLimit = DEFAULT_CPU_LIMIT, seed: int = 0,
              saves: Saves | None = None, tier: Tier = DEFAULT_TIER, debug_info: bool = False) -> Iterator[GameHost]:
    """Start a game bounded by ``cpu_limit``: in a watchdog-bounded worker process (``WATCHDOG``),
    or in-process on an engine enforcing it (``EPOCH``, ``FUEL``, ``OFF``); closed on exit. Its save
    slots live in ``saves`` (none: every save call answers LW_SAVE_UNAVAILABLE). On ``Tier.AOT`` the
    game runs as native code, each call bounded by the tier's own deadline watchdog (``cpu_limit`` is then the
    wasmtime tier's; the watchdog is refused). ``debug_info``: in-process on wasmtime, on an engine that
    gives gdb/lldb the guest's DWARF (``Engine(debug_info=True)``). ``Tier.AUTO`` (the default) picks
    the AOT tier where it keeps every guarantee, else wasmtime, and logs which and why."""
    if tier is Tier.AUTO and not cpu_limit.in_process:
        choose(bundle, cpu_limit, debug_info=debug_info).report(bundle.config.name)  # the watchdog's worker: wasmtime
        tier = Tier.WASMTIME
    if debug_info and (not cpu_limit.in_process or tier is Tier.AOT):
        raise UnsupportedCpuLimit(f"a debugger follows {bundle.config.name} only in this process on wasmtime: use cpu limit "
                                  "epoch, fuel or off and the wasmtime tier with --debug, not the watchdog or the AOT tier")
    if tier is Tier.AOT:
        if cpu_limit is CpuLimit.WATCHDOG:
            raise UnsupportedTier("the AOT tier bounds each call itself, in-process: it does not run under the watchdog "
                                  "(--cpu-limit watchdog is for the wasmtime tier)")
        with Engine(CpuLimit.OFF) as engine, start_game(bundle, engine, seed=seed, saves=saves, tier=tier) as game:
            yield game
        return
    if cpu_limit is CpuLimit.WATCHDOG:
        if is_cart(bundle.module):
            raise UnsupportedCpuLimit(f"{bundle.config.name} is a WASM-4 cart: carts run in-process (cpu limit epoch, "
                                      "fuel or off); the watchdog worker does not carry a cart's frame yet")
        with WorkerGame(bundle, seed=seed, saves=saves) as worker:
            yield worker
        return
    with Engine(cpu_limit, debug_info=debug_info) as engine, \
            start_game(bundle, engine, seed=seed, saves=saves, tier=tier) as game:
        yield game
