"""Differential fuzzing of the AOT tier against wasmtime: the same wasm-smith module (shaped like
a game) run with the same inputs on both tiers ends the same way: the same frames and state hash
when it runs, the same typed error (and trap code) when it fails. Outcomes that depend on the
machine rather than the module (a CPU deadline, a stack depth: the tiers' code differs in speed
and frame size) are counted, not compared. ``python -m bench.fuzz`` scales the seeds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameTimedOut, LayerWError
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from tests.hostile.harness import examples
from tests.hostile.test_smith import LIMITS, smith
from tests.wat import bundle

TICKS = 3
MACHINE_BOUND = ("stack_overflow",)  # trap codes that depend on frame sizes
# proposals wasm2c does not translate, turned off; a module that still uses one is counted, not compared
WASM2C_FEATURES = tuple(f"--{proposal}-enabled=false" for proposal in (
    "gc", "exceptions", "custom-descriptors", "custom-page-sizes", "relaxed-simd", "shared-everything-threads",
    "threads", "wide-arithmetic", "compact-imports", "tail-call"))
UNTRANSLATABLE = "the AOT tier cannot translate this module"


def outcome(game_of: type[MemoryHost] | AotCompiler, b: Bundle, engine: Engine) -> tuple[str, object]:
    """What running ``b`` came to: ("ran", (frames, state hash)) or (error type, trap code)."""
    frames = []
    try:
        game = Game(b, engine) if isinstance(game_of, type) else AotGame(b, engine, game_of)
    except LayerWError as e:
        if UNTRANSLATABLE in str(e):
            return UNTRANSLATABLE, None
        return type(e).__name__, getattr(e, "trap_code", None)
    try:
        for _ in range(TICKS):
            game.tick(InputState())
            frames.append(bytes(game.render()))
        return "ran", (frames, game.state_hash())
    except LayerWError as e:
        return type(e).__name__, getattr(e, "trap_code", None)
    finally:
        game.close()


@pytest.mark.parametrize("flavour", ["game-shaped", "game-shaped, no traps"])
def test_same_module_same_outcome_on_both_tiers(flavour: str, tmp_path: Path, engine: Engine,
                                                aot_compiler: AotCompiler) -> None:
    counted: Counter[str] = Counter()
    differ: list[str] = []
    for seed in range(examples(12)):
        module = smith(seed, flavour, tmp_path, WASM2C_FEATURES)
        if module is None:
            continue
        b = bundle(tmp_path / f"game-{seed}", module, name="smith", **LIMITS)
        wasm, aot = outcome(Game, b, engine), outcome(aot_compiler, b, engine)
        machine_bound = {wasm[0], aot[0]} & {GameTimedOut.__name__} or (
            GameCrashed.__name__ in (wasm[0], aot[0]) and {wasm[1], aot[1]} & set(MACHINE_BOUND))
        if aot[0] == UNTRANSLATABLE:
            counted[UNTRANSLATABLE] += 1
        elif machine_bound:
            counted["machine-bound"] += 1
        elif wasm != aot:
            differ.append(f"seed {seed}: wasmtime {wasm[0]} {wasm[1] if wasm[0] != 'ran' else ''}, "
                          f"aot {aot[0]} {aot[1] if aot[0] != 'ran' else ''}")
        else:
            counted[wasm[0]] += 1
    assert not differ, "\n".join(differ)
    assert sum(n for kind, n in counted.items() if kind != UNTRANSLATABLE) >= 2, counted
