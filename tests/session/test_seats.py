"""Seats are bound to their connection and their token: nobody can play another player's seat."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.errors import SeatTaken
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import CLOSE_NORMAL, CLOSE_PROTOCOL, CLOSE_TRY_AGAIN, Limits, RoomHost
from layerw.session.room import Room
from tests.session.wire import Connection, room_host, wat_game


def player_with(key: str) -> bytes:
    rec = np.zeros((), dtype=abi.PLAYER.dtype)
    code = abi.KEYS.index(key)
    rec["keys"][code >> 5] |= np.uint32(1 << (code & 31))
    return rec.tobytes()


async def frame_with_changes(conn: Connection) -> p.Frame:
    while True:
        frame = await conn.next(p.Frame)
        assert isinstance(frame, p.Frame)
        if frame.changes:
            return frame


async def changes_until(conn: Connection, tick: int) -> list[tuple[int, bytes]]:
    """Every (seat, lw_player) change in the frames ``conn`` receives up to ``tick``."""
    changes: list[tuple[int, bytes]] = []
    while True:
        frame = await conn.next(p.Frame)
        assert isinstance(frame, p.Frame)
        changes += frame.changes
        if frame.tick >= tick:
            return changes


def pressed(player: bytes) -> bool:
    return bool(np.frombuffer(player, abi.PLAYER.dtype)[0]["keys"].any())


def test_an_input_message_names_no_seat() -> None:
    # The wire format itself cannot address a seat: the server applies an INPUT to the sender's.
    assert [f.name for f in dataclasses.fields(p.Input)] == ["tick", "player"]
    assert len(p.input_message(7, player_with("KeyW"))) == 1 + 4 + abi.PLAYER.size


def test_a_client_only_ever_moves_its_own_seat(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[int, int, list[tuple[int, bytes]]]:
        a, b = Connection().open(host, "wat", "r"), Connection().open(host, "wat", "r")
        seat_a, seat_b = (await a.welcome()).seat, (await b.welcome()).seat
        target = host.runners[("wat", "r")].room.tick + 3
        b.put(p.input_message(target, player_with("KeyW")))
        changes = [c for c in await changes_until(a, target + 5) if pressed(c[1])]
        for c in (a, b):
            c.put(None)
        await asyncio.gather(a.ended(), b.ended())
        await host.close()
        return seat_a, seat_b, changes

    seat_a, seat_b, changes = asyncio.run(story())
    assert seat_a != seat_b
    assert [seat for seat, _ in changes] == [seat_b]
    sent, wanted = (np.frombuffer(b, dtype=abi.PLAYER.dtype)[0] for b in (changes[0][1], player_with("KeyW")))
    assert sent["connected"] == 1 and np.array_equal(sent["keys"], wanted["keys"])


def test_hello_with_a_connected_players_token_takes_the_seat_over(tmp_path: Path, engine: Engine) -> None:
    """A half-open reconnect: the newer connection of a seat wins, the old one is closed, and the
    seat never goes away (no PLAYER_LEFT, no new token)."""
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[p.Welcome, p.Welcome, tuple[int, str], str]:
        a = Connection().open(host, "wat", "r")
        welcome = await a.welcome()
        again = Connection().open(host, "wat", "r")
        second = await again.welcome(token=welcome.token)
        closed = await a.ended()
        again.put(p.input_message(0, player_with("KeyS")))  # the seat plays on through the new connection
        await frame_with_changes(again)
        seat_state = host.runners[("wat", "r")].room.seats[welcome.seat].state.value
        again.put(None)
        await again.ended()
        await host.close()
        return welcome, second, closed, seat_state

    welcome, second, (code, reason), seat_state = asyncio.run(story())
    assert (second.seat, second.token) == (welcome.seat, welcome.token)
    assert code == CLOSE_NORMAL and "replaced" in reason
    assert seat_state == "connected"
    assert host.metrics.registry.get_sample_value("layerw_joins_total", {"game": "wat", "outcome": "rejoin"}) == 1


def test_a_token_returns_only_its_own_seat_and_is_never_shown_to_others(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[p.Welcome, p.Welcome, p.Welcome, list[bytes]]:
        a = Connection().open(host, "wat", "r")
        first = await a.welcome()
        watcher = Connection().open(host, "wat", "r")
        await watcher.welcome(role=p.SPECTATOR)
        a.put(None)  # a leaves: its seat is kept for the grace period
        await a.ended()
        forger = Connection().open(host, "wat", "r")
        forged = await forger.welcome(token=secrets.token_bytes(p.TOKEN_SIZE))
        back = Connection().open(host, "wat", "r")
        again = await back.welcome(token=first.token)
        await frame_with_changes(watcher)
        for c in (forger, back, watcher):
            c.put(None)
        await asyncio.gather(forger.ended(), back.ended(), watcher.ended())
        await host.close()
        return first, forged, again, watcher.received + forger.received

    first, forged, again, others_saw = asyncio.run(story())
    assert forged.seat != first.seat and forged.token != first.token  # a made-up token is a new player
    assert again.seat == first.seat and again.token == first.token  # the real one rejoins its seat
    assert not any(first.token in message for message in others_saw)
    assert host.metrics.registry.get_sample_value("layerw_joins_total", {"game": "wat", "outcome": "rejoin"}) == 1


def test_a_spectator_cannot_send_input(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[tuple[int, str], list[tuple[int, bytes]]]:
        player = Connection().open(host, "wat", "r")
        await player.welcome()
        spectator = Connection().open(host, "wat", "r")
        welcome = await spectator.welcome(role=p.SPECTATOR)
        assert welcome.seat == p.NO_SEAT and not any(welcome.token)
        spectator.put(p.input_message(host.runners[("wat", "r")].room.tick + 1, player_with("KeyW")))
        closed = await spectator.ended()
        changes = await changes_until(player, host.runners[("wat", "r")].room.tick + 5)
        player.put(None)
        await player.ended()
        await host.close()
        return closed, changes

    (code, _), changes = asyncio.run(story())
    assert code == CLOSE_PROTOCOL
    assert not any(pressed(c) for _, c in changes)  # nothing from the spectator reached any seat


def test_hello_with_a_live_seats_token_is_refused(tmp_path: Path, engine: Engine) -> None:
    """While a seat's connection keeps sending (INPUT, HASH), its token cannot take the seat: the
    newcomer is closed with 1013 and the player plays on. Only a connection gone quiet (a
    half-open socket, as above) is taken over."""
    bundle = wat_game(tmp_path)
    host = RoomHost(lambda name: bundle, engine, Limits(), {"hash_every": 60})  # live: heard within 3 s

    async def story() -> tuple[tuple[int, str], str, list[tuple[int, bytes]]]:
        a = Connection().open(host, "wat", "r")
        welcome = await a.welcome()
        a.put(p.input_message(0, player_with("KeyD")))  # heard from
        await frame_with_changes(a)
        thief = Connection().open(host, "wat", "r")
        thief.put(p.hello(p.PLAYER, welcome.token))
        refused = await thief.ended()
        room = host.runners[("wat", "r")].room
        a.put(p.input_message(0, player_with("KeyW")))  # a plays on through its own connection
        changes = await changes_until(a, room.tick + 5)
        seat_state = room.seats[welcome.seat].state.value
        a.put(None)
        await a.ended()
        await host.close()
        return refused, seat_state, changes

    (code, reason), seat_state, changes = asyncio.run(story())
    assert code == CLOSE_TRY_AGAIN and "in use by a live connection" in reason
    assert seat_state == "connected" and any(pressed(c) for _, c in changes)
    assert host.metrics.registry.get_sample_value("layerw_joins_total", {"game": "wat", "outcome": "refused"}) == 1


def test_a_seat_is_live_while_heard_and_taken_over_once_quiet(tmp_path: Path, engine: Engine) -> None:
    room = Room("r", wat_game(tmp_path), engine, hash_every=10)
    try:
        first = room.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE))
        room.step()
        room.check(first.seat, p.Hash(room.tick, bytes(32)))  # a hash, even a wrong one, says it is there
        with pytest.raises(SeatTaken, match="live connection"):
            room.join(p.Hello(p.PLAYER, first.token, p.NO_BASE))
        for _ in range(room.live_ticks + 1):
            room.step()
        again = room.join(p.Hello(p.PLAYER, first.token, p.NO_BASE))  # quiet since: a half-open socket
        assert (again.seat, again.token) == (first.seat, first.token)
        room.submit(again.seat, p.Input(room.tick, player_with("KeyW")))
        with pytest.raises(SeatTaken):  # the newcomer is live as soon as it sends
            room.join(p.Hello(p.PLAYER, first.token, p.NO_BASE))
    finally:
        room.close()
