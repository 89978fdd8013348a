"""The sample games, built by the project's toolchain: golden frames, determinism, input response."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState, Recording
from tests.conftest import GAMES
from tests.golden import compare

# game -> (ticks before the golden frame, a key that must change the state)
CASES = {"pong": (150, "KeyW"), "asteroids": (200, "Space"), "sprites": (60, "Equal"), "cubes": (90, "ArrowLeft")}


@pytest.fixture(scope="module")
def renderers() -> Iterator[dict[tuple[int, int], WgpuRenderer]]:
    made: dict[tuple[int, int], WgpuRenderer] = {}
    yield made
    for r in made.values():
        r.close()


@pytest.mark.parametrize("name", CASES)
def test_golden_frame(name: str, built: Callable[[Path], Path], engine: Engine,
                      renderers: dict[tuple[int, int], WgpuRenderer], request: pytest.FixtureRequest) -> None:
    bundle = Bundle.open(built(GAMES / name))
    size = (bundle.config.width, bundle.config.height)
    renderer = renderers.setdefault(size, WgpuRenderer(*size))
    with Game(bundle, engine, seed=1) as game:
        runner = Runner(game, renderer)
        runner.run_headless(CASES[name][0])
        runner.frame()
        compare(renderer.read_pixels(), f"game_{name}", request)


@pytest.mark.parametrize("name", CASES)
def test_deterministic_and_input_driven(name: str, built: Callable[[Path], Path], engine: Engine) -> None:
    bundle = Bundle.open(built(GAMES / name))
    key = CASES[name][1]
    pressed = Recording()
    pressed.changes[10].append({"tick": 10, "down": [key]})
    pressed.changes[20].append({"tick": 20, "up": [key]})
    hashes = []
    for recording in (None, None, pressed):
        with Game(bundle, engine, seed=5) as game:
            Runner(game, recording=recording).run_headless(120)
            hashes.append(game.state_hash())
    assert hashes[0] == hashes[1] != hashes[2]


def test_pong_second_player_moves_the_right_paddle(built: Callable[[Path], Path], engine: Engine) -> None:
    bundle = Bundle.open(built(GAMES / "pong"))
    results = []
    for player in (None, 1):
        with Game(bundle, engine) as game:
            state = InputState(players=2)
            if player is not None:
                state.key(player, "ArrowDown", True)
            for _ in range(30):
                game.tick(state)
            results.append(game.state_hash())
    assert results[0] != results[1]
