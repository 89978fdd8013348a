"""NETPLAY in rooms, without a network: each copy of a room's cart reads its own player in NETPLAY
while the room keeps one hash chain (joins, late joins and predictions included); a cart whose game
logic reads NETPLAY splits the room's hashes, as it desyncs a WASM-4 netplay session."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.runtime.wasm4.netplay import SHARED
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.room import Room
from tests.runtime.wasm4.conftest import wat_cart
from tests.runtime.wasm4.netplay_cart import LEAKY, NETPLAY_CART, STATE, band, drawn_columns
from tests.session.test_room import connect, player_bytes, run


def presses(seat: int, tick: int) -> bytes | None:
    """Each seat presses its own button now and then, so the state depends on every seat's input."""
    if tick % 20 == 3 * seat:
        return player_bytes("KeyX" if seat % 2 else "ArrowLeft")
    if tick % 20 == 3 * seat + 5:
        return player_bytes()
    return None


def ram(game: object) -> np.ndarray:
    assert isinstance(game, CartGame)
    return game.ram


def test_each_copy_sees_its_player_and_the_room_one_hash_chain(tmp_path: Path, engine: Engine) -> None:
    bundle = wat_cart(tmp_path, NETPLAY_CART)
    room = Room("r", bundle, engine, snapshot_every=60)
    players = [connect(room, bundle, engine) for _ in range(3)]
    run(room, players, 150, presses)  # run() asserts every HASH the replicas send matches the room's
    late = connect(room, bundle, engine)  # from the room's snapshot, mid-game
    run(room, [*players, late], 90, presses)
    copies = [*players, late]
    assert [r.seat for r in copies] == [0, 1, 2, 3]
    assert {r.game.state_hash() for r in copies} == {room.game.state_hash()}
    assert len({ram(r.game)[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE].tobytes() for r in copies}) == 4
    for r in copies:
        assert drawn_columns(ram(r.game)) == band(r.seat)  # NETPLAY was 0b100 | seat while update ran
        assert ram(r.game)[mm.NETPLAY] == SHARED  # and is the shared value between calls
    assert drawn_columns(ram(room.game)) == band(0)  # the room's own copy shows player 0's view
    assert int(ram(room.game)[STATE:STATE + 4].view("<u4")[0]) > 240  # the inputs moved the state


def test_a_spectator_and_predictions_keep_the_chain(tmp_path: Path, engine: Engine) -> None:
    bundle = wat_cart(tmp_path, NETPLAY_CART)
    room = Room("r", bundle, engine)
    player = connect(room, bundle, engine)
    welcome = p.decode_server(room.join(p.Hello(p.SPECTATOR, bytes(p.TOKEN_SIZE), p.NO_BASE)).encode())
    assert isinstance(welcome, p.Welcome) and welcome.seat == p.NO_SEAT
    spectator = Replica(bundle, engine)
    spectator.welcome(welcome)
    second = connect(room, bundle, engine)
    for tick in range(120):
        for r in (player, second):
            held = presses(r.seat, tick)
            if held is not None:
                room.submit(r.seat, p.decode_client(r.input_for(held)))  # type: ignore[arg-type]
            while r.predict():  # ahead of the room: wrong guesses are rolled back and resimulated
                pass
        frame = p.decode_server(room.step())
        assert isinstance(frame, p.Frame)
        for r in (player, second, spectator):
            msg = r.apply(frame)
            if msg is not None and r.seat != p.NO_SEAT:
                assert room.check(r.seat, p.decode_client(msg))  # type: ignore[arg-type]
    assert player.rollback.confirmed == second.rollback.confirmed == spectator.tick == room.tick
    assert spectator.game.state_hash() == room.game.state_hash()
    assert player.rollback.confirmed_hash() == second.rollback.confirmed_hash() == room.game.state_hash()
    assert drawn_columns(ram(spectator.game)) == band(0) and drawn_columns(ram(second.game)) == band(1)
    assert player.rollback.rollbacks > 0 and second.rollback.rollbacks > 0  # each guessed the other's presses wrong


def test_a_cart_alone_sees_no_netplay(tmp_path: Path, engine: Engine) -> None:
    with start_game(wat_cart(tmp_path, NETPLAY_CART), engine) as game:
        game.tick(InputState())
        assert ram(game)[mm.NETPLAY] == 0 and drawn_columns(ram(game)) == (0, 7)


def test_game_logic_reading_netplay_splits_the_room(tmp_path: Path, engine: Engine) -> None:
    bundle = wat_cart(tmp_path, LEAKY)
    room = Room("r", bundle, engine, hash_every=10)
    first, second = connect(room, bundle, engine), connect(room, bundle, engine)
    verdicts = []
    for _ in range(10):
        frame = p.decode_server(room.step())
        assert isinstance(frame, p.Frame)
        for r in (first, second):
            msg = r.apply(frame)
            if msg is not None:
                verdicts.append((r.seat, room.check(r.seat, p.decode_client(msg))))  # type: ignore[arg-type]
    assert verdicts == [(0, True), (1, False)]  # seat 1 kept 0b101 where the room (player 0's view) kept 0b100
