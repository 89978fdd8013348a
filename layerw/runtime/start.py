"""start_game: the in-process host for a build, chosen once from its module and layerw.toml.

A build is a WASM-4 cart (``CartGame``, when its module imports only from ``env``), a core
module (``Game``) or a component (when its layerw.toml says ``[component] enabled``): ``CanonGame``
when it is the game's module alone (``componentcore.game_core``), else ``ComponentGame``. Rooms,
replicas and the watchdog's worker process start their games here; ``layerw.runtime.open_game``
adds the choice of CPU limit (and with it, the worker). On the AOT tier a core module runs as
native code (``AotGame``); ``Tier.AUTO`` (the default) picks the tier per game (``tierchoice``).
"""

from __future__ import annotations

from layerw.bundle import Bundle
from layerw.cart import is_cart
from layerw.contract import check_module
from layerw.errors import InvalidModule, ToolchainError, UnsupportedTier
from layerw.runtime.aot.aotgame import AotGame, compiled
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.canon_game import CanonGame
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.tier import Tier
from layerw.runtime.tierchoice import build_kind, choose, log
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.saves import Saves


def start_game(bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True,
               saves: Saves | None = None, tier: Tier = Tier.AUTO, compiler: AotCompiler | None = None) -> MemoryHost:
    """Start ``bundle`` in this process on ``engine`` (whose CPU limit bounds its calls); without
    ``audio`` it mixes nothing and keeps each tick's sound as ``last_sound`` (a worker's parent mixes).
    ``saves``: where the game's save slots live; without, every save call answers LW_SAVE_UNAVAILABLE
    (rooms and replicas start games so: saves differ between machines, a room's state must not).
    ``tier``: ``AOT`` runs a core module as native code compiled by ``compiler`` (default: the process's one on
    the user's cache, ``AotCompiler.shared``), bounded by its own per-call deadline (``engine`` then only validates);
    ``AUTO`` runs it so where that keeps every guarantee of ``engine``'s bound (``tierchoice.choose``)."""
    if tier is Tier.AUTO:
        tier = _auto(bundle, engine, compiler)
    if tier is Tier.AOT:
        kind = build_kind(bundle)
        if kind is not None:
            raise UnsupportedTier(f"{bundle.config.name} is {kind}: the AOT tier runs core modules; "
                                  "run it on the wasmtime tier (--tier wasmtime)")
        return AotGame(bundle, engine, compiler or AotCompiler.shared(), seed=seed, audio=audio, saves=saves)
    backend: type[Game] | type[ComponentGame]
    if bundle.config.component:  # the game's module alone runs with the canonical ABI in the host
        backend = CanonGame if CanonGame.fits(bundle, engine) else ComponentGame
    else:
        backend = CartGame if is_cart(bundle.module) else Game
    return backend(bundle, engine, seed=seed, audio=audio, saves=saves)


def _auto(bundle: Bundle, engine: Engine, compiler: AotCompiler | None) -> Tier:
    """The tier ``AUTO`` runs ``bundle`` on, logged with its reason. A module the AOT tier cannot
    compile here runs on wasmtime with a WARNING naming the cause: the module is valid (checked
    first, so a bad one fails as on wasmtime) and wasmtime keeps every guarantee; only the speed
    is lost, and the warning says so. An explicit ``Tier.AOT`` raises instead."""
    choice = choose(bundle, engine.cpu_limit, debug_info=engine.debug_info, own_arm=type(engine).arm is not Engine.arm)
    if choice.tier is Tier.AOT:
        check_module(engine.compile(bundle.module), bundle.config.name)  # a bad module fails here, as on wasmtime
        try:
            compiled(bundle, compiler or AotCompiler.shared())
        except (InvalidModule, ToolchainError) as e:
            log.warning("tier: wasmtime for %s: the AOT tier cannot compile it here (%s); it runs on wasmtime, "
                        "with every guarantee, at wasmtime's speed", bundle.config.name, str(e).splitlines()[0])
            return Tier.WASMTIME
    choice.report(bundle.config.name)
    return choice.tier
