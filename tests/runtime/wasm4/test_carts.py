"""WASM-4's example carts, built from C (and WAT) by the project's toolchain: golden framebuffers,
determinism, snapshots mid-game, and the watchdog worker backend giving the same states."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.cart import CartBundle, is_cart
from layerw.errors import UnsupportedCpuLimit
from layerw.runtime import CpuLimit, open_game
from layerw.runtime.engine import Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4.cartgame import CartGame
from tests.golden import compare

EXAMPLES = ("watris", "platformer-test", "sound-demo", "multiplayer", "raw-assembly")
# (tick, player, key, down): a few presses so the goldens show a game being played, not its title
PLAY = {
    "watris": [(10, 0, "ArrowLeft", True), (14, 0, "ArrowLeft", False), (20, 0, "KeyX", True), (22, 0, "KeyX", False),
               (40, 0, "ArrowDown", True)],
    "platformer-test": [(5, 0, "ArrowRight", True), (20, 0, "KeyX", True), (30, 0, "KeyX", False),
                        (45, 0, "ArrowRight", False), (46, 0, "ArrowLeft", True)],
}


def play(game: GameHost, name: str, ticks: int) -> None:
    state = InputState(1)
    presses = PLAY.get(name, [])
    while game.tick_count < ticks:
        for tick, player, key, down in presses:
            if tick == game.tick_count:
                state.key(player, key, down)
        game.tick(state)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_builds_to_a_cart_and_runs(name: str, cart: Callable[[str], Path], engine: Engine) -> None:
    path = cart(name)
    assert is_cart(path.read_bytes())
    with start_game(CartBundle(path), engine) as game:
        assert isinstance(game, CartGame)
        play(game, name, 90)
        assert game.frame().std() > 0  # something is drawn


@pytest.mark.parametrize(("name", "ticks"), [("watris", 1), ("watris", 90), ("platformer-test", 1),
                                             ("platformer-test", 60)])
def test_golden_framebuffers(name: str, ticks: int, cart: Callable[[str], Path], engine: Engine,
                             request: pytest.FixtureRequest) -> None:
    with start_game(CartBundle(cart(name)), engine) as game:
        assert isinstance(game, CartGame)
        play(game, name, ticks)
        compare(game.frame(), f"wasm4_{name.replace('-', '_')}_{ticks:03d}", request)


@pytest.mark.parametrize("name", ["watris", "platformer-test"])
def test_same_inputs_same_state_hash_and_snapshots_continue_exactly(name: str, cart: Callable[[str], Path],
                                                                    engine: Engine) -> None:
    bundle = CartBundle(cart(name))
    with start_game(bundle, engine) as a, start_game(bundle, engine) as b:
        play(a, name, 30)
        snap = a.snapshot()
        play(a, name, 90)
        play(b, name, 90)
        assert a.state_hash() == b.state_hash()
        hashes = set()
        for _ in range(2):
            b.restore(snap)
            assert b.tick_count == 30
            play(b, name, 90)
            hashes.add(b.state_hash())
        assert hashes == {a.state_hash()}


def test_the_watchdog_worker_refuses_carts_with_a_typed_error(cart: Callable[[str], Path]) -> None:
    with pytest.raises(UnsupportedCpuLimit, match="WASM-4 cart"), open_game(CartBundle(cart("watris")),
                                                                           cpu_limit=CpuLimit.WATCHDOG):
        pass
