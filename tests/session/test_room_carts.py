"""WASM-4 carts in rooms, without a network: up to 4 players kept in step by inputs alone, and a
late joiner converging from a snapshot (memory, disk, tones and globals travel in it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.cart import CartBundle
from layerw.runtime.engine import Engine
from layerw.session.room import Room
from tests.runtime.wasm4.conftest import cart  # noqa: F401  (the example carts' fixture)
from tests.session.test_room import connect, player_bytes, run


@pytest.fixture(scope="module")
def multiplayer(cart: Callable[[str], Path]) -> CartBundle:  # noqa: F811
    return CartBundle(cart("multiplayer"))


def arrows(seat: int, tick: int) -> bytes | None:
    """Each seat walks its own way (a net drift, not a loop back to where it started), now and then."""
    keys = ("ArrowRight", "ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft")
    if tick % 50 == seat * 7:
        return player_bytes(keys[(seat + tick // 50) % 5], "KeyX")
    if tick % 50 == seat * 7 + 30:
        return player_bytes()
    return None


@pytest.mark.parametrize("players", [2, 4])
def test_cart_players_stay_in_lockstep(multiplayer: CartBundle, engine: Engine, players: int) -> None:
    room = Room("r", multiplayer, engine)
    replicas = [connect(room, multiplayer, engine) for _ in range(players)]
    run(room, replicas, 400, arrows)
    assert {r.game.state_hash() for r in replicas} == {room.game.state_hash()}
    still = Room("s", multiplayer, engine)
    run(still, [connect(still, multiplayer, engine)], 400, lambda seat, tick: None)
    assert still.game.state_hash() != room.game.state_hash()  # the inputs moved the players


def test_a_late_joiner_converges(multiplayer: CartBundle, engine: Engine) -> None:
    room = Room("r", multiplayer, engine, snapshot_every=120)
    first = connect(room, multiplayer, engine)
    run(room, [first], 500, arrows)
    late = connect(room, multiplayer, engine)
    assert late.tick == room.tick == 500
    run(room, [first, late], 200, arrows)
    assert first.game.state_hash() == late.game.state_hash() == room.game.state_hash()
