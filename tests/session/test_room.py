"""Room and Replica without a network: lockstep by inputs, joins, rejoins, desync healing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError, RoomFull, SessionError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.snapshot import BLOCK
from layerw.runtime.tier import Tier
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.room import DESYNC_LOG_S, Room
from tests.conftest import GAMES
from tests.session.wire import wat_game


@pytest.fixture(scope="module")
def pong(built: Callable[[Path], Path]) -> Bundle:
    return Bundle.open(built(GAMES / "pong"))


def player_bytes(*keys: str) -> bytes:
    rec = np.zeros((), dtype=abi.PLAYER.dtype)
    for k in keys:
        code = abi.KEYS.index(k)
        rec["keys"][code >> 5] |= np.uint32(1 << (code & 31))
    return rec.tobytes()


def connect(room: Room, bundle: Bundle, engine: Engine, token: bytes = bytes(16), base: int = p.NO_BASE,
            replica: Replica | None = None) -> Replica:
    welcome = p.decode_server(room.join(p.Hello(p.PLAYER, token, base)).encode())
    assert isinstance(welcome, p.Welcome)
    replica = replica or Replica(bundle, engine)
    replica.welcome(welcome)
    return replica


def run(room: Room, replicas: list[Replica], ticks: int, script: Callable[[int, int], bytes | None]) -> None:
    """Advance the room; each replica gets every frame (through the wire format) and sends input."""
    for _ in range(ticks):
        for r in replicas:
            player = script(r.seat, room.tick)
            if player is not None:
                room.submit(r.seat, p.decode_client(r.input_for(player)))  # type: ignore[arg-type]
        frame = p.decode_server(room.step())
        assert isinstance(frame, p.Frame)
        for r in replicas:
            msg = r.apply(frame)
            if msg is not None:
                assert room.check(r.seat, p.decode_client(msg))  # type: ignore[arg-type]


def scripted(seat: int, tick: int) -> bytes | None:
    if tick % 97 == seat * 13:
        return player_bytes("KeyW" if (tick // 97) % 2 else "KeyS", "ArrowUp")
    if tick % 97 == seat * 13 + 40:
        return player_bytes()
    return None


@pytest.mark.parametrize("players", [2, 4])
def test_clients_in_lockstep_match_the_room(pong: Bundle, engine: Engine, players: int) -> None:
    room = Room("r", pong, engine)
    replicas = [connect(room, pong, engine) for _ in range(players)]
    assert sorted(r.seat for r in replicas) == list(range(players))
    run(room, replicas, 2000, scripted)
    assert {r.game.state_hash() for r in replicas} == {room.game.state_hash()}
    assert all(r.tick == room.tick == 2000 for r in replicas)


def test_late_joiner_converges_after_5000_ticks(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, snapshot_every=600)
    first = connect(room, pong, engine)
    run(room, [first], 5000, scripted)
    late = connect(room, pong, engine)
    assert late.tick == room.tick == 5000
    run(room, [first, late], 300, scripted)
    assert first.game.state_hash() == late.game.state_hash() == room.game.state_hash()


def test_rejoin_keeps_the_seat_and_gets_only_changed_pages(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, snapshot_every=100)
    a, b = connect(room, pong, engine), connect(room, pong, engine)
    run(room, [a, b], 450, scripted)
    room.leave(b.seat)
    run(room, [a], 250, scripted)  # b misses 250 ticks
    full, base = room.state_for(p.NO_BASE), b.base_tick
    assert base == 400
    delta_state = room.state_for(base)
    assert delta_state.kind == p.DELTA and len(delta_state.snapshot) < len(full.snapshot)
    changed = json.loads(delta_state.snapshot[12:12 + int.from_bytes(delta_state.snapshot[8:12], "little")])["changed"]
    assert len(changed) * BLOCK <= 0.3 * room.saved[-1].snapshot.memory_size  # only changed blocks travel
    rejoined = connect(room, pong, engine, token=b.token, base=base, replica=b)
    assert rejoined.seat == 1 and rejoined.tick == room.tick
    run(room, [a, b], 200, scripted)
    assert a.game.state_hash() == b.game.state_hash() == room.game.state_hash()


def test_desync_is_detected_and_healed(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, hash_every=10)
    a = connect(room, pong, engine, replica=Replica(pong, engine, tier=Tier.WASMTIME))
    run(room, [a], 50, scripted)
    game = a.game
    assert isinstance(game, Game)
    at = game.state_begin + 100
    game.memory.write(game.store, bytes([game.memory.read(game.store, at, at + 1)[0] ^ 0xFF]), at)
    frame = p.decode_frame(room.step())
    for _ in range(9):
        a.apply(frame)
        frame = p.decode_frame(room.step())
    msg = a.apply(frame)
    assert msg is not None and not room.check(a.seat, p.decode_client(msg))  # type: ignore[arg-type]
    a.load(room.state_for(p.NO_BASE))  # heal: the room resends its state
    run(room, [a], 30, scripted)
    assert a.game.state_hash() == room.game.state_hash()


def test_seats_and_inputs_are_policed(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, seats=2)
    a, b = connect(room, pong, engine), connect(room, pong, engine)
    with pytest.raises(RoomFull):
        room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE))
    spectator = room.join(p.Hello(p.SPECTATOR, bytes(16), p.NO_BASE))
    assert spectator.seat == p.NO_SEAT
    with pytest.raises(ProtocolError, match="spectators"):
        room.submit(p.NO_SEAT, p.Input(0, player_bytes()))
    with pytest.raises(ProtocolError, match="ahead"):
        room.submit(a.seat, p.Input(room.tick + 10_000, player_bytes()))
    events = list(room.events)
    again = room.join(p.Hello(p.PLAYER, b.token, p.NO_BASE))  # the same player, a newer connection
    assert (again.seat, again.token) == (b.seat, b.token) and room.seats[b.seat].state.value == "connected"
    assert room.events == events  # no one joined or left: the seat was taken over
    room.leave(b.seat)
    with pytest.raises(SessionError, match="from away to away"):
        room.leave(b.seat)


def test_away_seat_is_freed_after_the_grace_period(pong: Bundle, engine: Engine) -> None:
    room = Room("r", pong, engine, seats=1, grace_ticks=20)
    a = connect(room, pong, engine)
    room.leave(a.seat)
    frames = [p.decode_frame(room.step()) for _ in range(25)]
    left = [f for f in frames if any(e[0] == abi.EVENTS["PLAYER_LEFT"] for e in f.events)]
    assert len(left) == 1 and left[0].tick == 20
    assert connect(room, pong, engine).seat == 0  # free again, with a new token


@pytest.mark.parametrize("data", [b"", b"\x09", b"\x01\x01", p.hello(p.PLAYER)[:-1], p.hello(p.PLAYER) + b"x",
                                  bytes([p.INPUT]) + bytes(3), b"\x01\x63\x00" + bytes(20),
                                  bytes(p.MAX_CLIENT_MESSAGE + 1)])
def test_malformed_client_messages_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        p.decode_client(data)


def test_steady_state_frames_are_tiny() -> None:
    assert len(p.Frame(123).encode()) == 7


def test_seat_count_comes_from_the_manifest(pong: Bundle, engine: Engine) -> None:
    import copy
    import dataclasses

    two_seats = copy.copy(pong)
    two_seats.config = dataclasses.replace(pong.config, players=2)
    room = Room("r", two_seats, engine)
    connect(room, two_seats, engine)
    connect(room, two_seats, engine)
    with pytest.raises(RoomFull, match="2 seats"):
        room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE))


def test_a_component_build_plays_in_a_room_like_its_core_build(pong_both: Path, engine: Engine) -> None:
    component = Bundle.open(pong_both)
    assert component.config.component
    hashes = []
    for bundle in (component, core_of(component, pong_both)):
        room = Room("r", bundle, engine)
        replicas = [connect(room, bundle, engine) for _ in range(2)]
        run(room, replicas, 300, scripted)
        hashes.append({r.game.state_hash() for r in replicas} | {room.game.state_hash()})
        assert len(hashes[-1]) == 1
        room.close()
    assert hashes[0] == hashes[1]


def core_of(bundle: Bundle, build: Path) -> Bundle:
    """The same build run as its core module (a --component build holds both)."""
    import copy
    import dataclasses

    from layerw.bundle import MODULE_NAME

    core = copy.copy(bundle)
    core.config = dataclasses.replace(bundle.config, component=False)
    core.module = (build / MODULE_NAME).read_bytes()
    return core


def test_a_room_ticking_leaves_no_cyclic_garbage(pong: Bundle, engine: Engine) -> None:
    """Steps, hashes and snapshots build no throwaway objects for the cyclic GC (e.g. the ctypes
    array types wasmtime-py makes per call, which ctypes caches only weakly), so it has no reason
    to pause a room server's ticks."""
    import ctypes
    import gc

    from layerw.runtime.ctypes_types import HELD

    assert ctypes.c_ubyte * 7 in HELD and ctypes.c_char * 7 in HELD  # held: a cache hit for everyone
    room = Room("r", pong, engine, hash_every=10, snapshot_every=60)
    connect(room, pong, engine)
    run(room, [], 120, scripted)  # warm
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(600):
            room.step()
        gc.collect()
        garbage = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    room.close()
    assert garbage == []


def test_desync_lines_are_throttled_per_room(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """A client lying about its hash 240 times a second must not flood the log: a room logs its first
    desync, counts the rest, and logs the count once ``DESYNC_LOG_S`` of game time has passed."""
    room = Room("r", wat_game(tmp_path), engine, hash_every=5)
    try:
        seat = room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE)).seat
        while not room.hashes:
            room.step()
        with caplog.at_level(logging.WARNING, logger="layerw.room"):
            for _ in range(100):
                room.step()
                room.check(seat, p.Hash(max(room.hashes), bytes(32)))
            lines = [r.getMessage() for r in caplog.records]
            assert len(lines) == 1 and "desync in room r: seat 0" in lines[0]
            for _ in range(DESYNC_LOG_S * room.tick_rate):
                room.step()
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 2 and "99 more desyncs" in lines[1]
    finally:
        room.close()
