"""Rooms under the default tier: a room on the AOT tier and clients on either tier stay in lockstep
(joins, rollbacks, the same hashes), and rooms of one game run at once in one process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.session import protocol as p
from layerw.session.room import Room
from tests.conftest import GAMES
from tests.session.test_room import connect, player_bytes, run, scripted


@pytest.fixture(scope="module")
def pong(built: Callable[[Path], Path]) -> Bundle:
    return Bundle.open(built(GAMES / "pong"))


@pytest.fixture(scope="module")
def wasmtime_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine whose games the default puts on wasmtime (a CPU limit asked for: fuel), as a browser's are."""
    with Engine(CpuLimit.FUEL, cache=tmp_path_factory.mktemp("modules")) as e:
        yield e


def test_a_room_on_the_aot_tier_and_clients_on_both_tiers_agree(pong: Bundle, engine: Engine,
                                                                 wasmtime_engine: Engine) -> None:
    room = Room("r", pong, engine, seats=3)
    assert isinstance(room.game, AotGame)  # the default on the server's epoch engine
    replicas = [connect(room, pong, engine), connect(room, pong, wasmtime_engine)]
    assert [type(r.game) for r in replicas] == [AotGame, Game]
    run(room, replicas, 400, scripted)
    late = connect(room, pong, wasmtime_engine)  # joins from a snapshot the AOT tier took
    replicas.append(late)
    run(room, replicas, 400, scripted)
    assert {r.game.state_hash() for r in replicas} == {room.game.state_hash()}
    assert all(r.tick == room.tick == 800 for r in replicas)
    room.close()


def test_a_replica_predicts_and_rolls_back_on_either_tier_to_the_rooms_hash(pong: Bundle, engine: Engine,
                                                                             wasmtime_engine: Engine) -> None:
    room = Room("r", pong, engine, seats=2)
    fast, slow = connect(room, pong, engine), connect(room, pong, wasmtime_engine)
    for tick in range(310):
        for r in (fast, slow):
            keys = player_bytes("ArrowUp") if (min(tick, 300) // 9 + r.seat) % 2 else player_bytes()
            room.submit(r.seat, p.decode_client(r.input_for(keys)))  # type: ignore[arg-type]
            for _ in range(3 if tick < 300 else 0):  # ahead of the room's frames: the other's new keys roll it back
                r.predict()
        frame = p.decode_server(room.step())
        assert isinstance(frame, p.Frame)
        for r in (fast, slow):
            reply = r.apply(frame)
            if reply is not None:
                assert room.check(r.seat, p.decode_client(reply))  # type: ignore[arg-type]
    assert fast.rollback.rollbacks > 0 and slow.rollback.rollbacks > 0
    assert fast.tick == slow.tick == room.tick  # the last ticks predicted nothing: both caught up on confirmed frames
    assert fast.game.state_hash() == slow.game.state_hash() == room.game.state_hash()
    room.close()


def test_rooms_of_one_game_tick_at_once_on_the_aot_tier(pong: Bundle, engine: Engine) -> None:
    rooms = [Room(f"r{i}", pong, engine, seed=7) for i in range(3)]
    assert all(isinstance(room.game, AotGame) for room in rooms)
    errors: list[BaseException] = []

    def play(room: Room) -> None:
        try:
            for _ in range(500):
                room.step()
        except BaseException as e:  # reported below, with the room's thread gone
            errors.append(e)

    threads = [threading.Thread(target=play, args=(room,)) for room in rooms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len({room.game.state_hash() for room in rooms}) == 1 and all(room.tick == 500 for room in rooms)
    for room in rooms:
        room.close()
