"""start_game: the in-process host for a build, chosen once from its module and layerw.toml.

A build is a WASM-4 cart (``CartGame``, when its module imports only from ``env``), a core
module (``Game``) or a component (``ComponentGame``, when its layerw.toml says ``[component]
enabled``). Rooms, replicas and the watchdog's worker process start their games here;
``layerw.runtime.open_game`` adds the choice of CPU limit (and with it, the worker). On the
AOT tier a core module runs as native code (``AotGame``).
"""

from __future__ import annotations

from layerw.bundle import Bundle
from layerw.cart import is_cart
from layerw.errors import UnsupportedTier
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.tier import Tier
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.saves import Saves


def start_game(bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
               saves: Saves | None = None, tier: Tier = Tier.WASMTIME, compiler: AotCompiler | None = None) -> MemoryHost:
    """Start ``bundle`` in this process on ``engine`` (whose CPU limit bounds its calls); without
    ``audio`` it mixes nothing and keeps each tick's sound as ``last_sound`` (a worker's parent mixes).
    ``saves``: where the game's save slots live; without, every save call answers LW_SAVE_UNAVAILABLE
    (rooms and replicas start games so: saves differ between machines, a room's state must not).
    ``tier``: ``AOT`` runs a core module as native code compiled by ``compiler`` (default: one on
    the user's cache), bounded by its own per-call deadline (``engine`` then only validates)."""
    if tier is Tier.AOT:
        if bundle.config.component or is_cart(bundle.module):
            kind = "a component" if bundle.config.component else "a WASM-4 cart"
            raise UnsupportedTier(f"{bundle.config.name} is {kind}: the AOT tier runs core modules; "
                                  "run it on the wasmtime tier (--tier wasmtime)")
        return AotGame(bundle, engine, compiler or AotCompiler(), seed=seed, audio=audio, saves=saves)
    backend: type[Game] | type[ComponentGame]
    if bundle.config.component:
        backend = ComponentGame
    else:
        backend = CartGame if is_cart(bundle.module) else Game
    return backend(bundle, engine, seed=seed, audio=audio, saves=saves)
