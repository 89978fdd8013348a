"""Clients out of step with their room: inputs far ahead or before what they confirmed, hashes of ticks
the room has not reached or going backwards (each a ProtocolError: CLOSE_PROTOCOL, as any message the
room cannot take), and inputs with no hash for ``Limits.unacked_s`` (OutOfStep: CLOSE_OUT_OF_STEP). The room and a
well-behaved player beside them go on undisturbed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websockets

from layerw.bundle import Bundle
from layerw.errors import ProtocolError
from layerw.runtime.engine import Engine
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session import protocol as p
from layerw.session.client import OnlineClient, Prediction, RoomAddress
from layerw.session.host import Limits
from layerw.session.room import Room
from layerw.wire import CLOSE_MEANINGS, CLOSE_OUT_OF_STEP, CLOSE_PROTOCOL, MAX_AHEAD
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.test_online import script
from tests.session.test_room import player_bytes

HASH_EVERY = 10


@pytest.fixture(scope="module")
def pong(built: Callable[[Path], Path]) -> Bundle:
    return Bundle.open(built(GAMES / "pong"))


def seated(pong: Bundle, engine: Engine) -> tuple[Room, int]:
    room = Room("r", pong, engine, hash_every=HASH_EVERY)
    seat = room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE)).seat
    for _ in range(50):
        room.step()
    return room, seat


def test_the_room_refuses_inputs_and_hashes_out_of_step(pong: Bundle, engine: Engine) -> None:
    room, seat = seated(pong, engine)
    try:
        with pytest.raises(ProtocolError, match="ahead"):
            room.submit(seat, p.Input(room.tick + MAX_AHEAD + 1, player_bytes()))
        with pytest.raises(ProtocolError, match="has not reached"):
            room.check(seat, p.Hash(room.tick + 1, bytes(32)))
        assert room.check(seat, p.Hash(40, bytes.fromhex(room.hashes[40])))
        with pytest.raises(ProtocolError, match="hashes go forward"):
            room.check(seat, p.Hash(30, bytes(32)))
        with pytest.raises(ProtocolError, match="before tick 40 this client confirmed"):
            room.submit(seat, p.Input(39, player_bytes()))
        room.submit(seat, p.Input(40, player_bytes("KeyW")))  # late, not before its own hash: next tick
    finally:
        room.close()


@pytest.fixture(scope="module")
def server(built: Callable[[Path], Path]) -> Iterator[tuple[str, object, Bundle]]:
    build = built(GAMES / "pong")
    app = create_app(DirCatalog([build]), limits=Limits(speed=10.0, messages_per_second=200, burst=200, unacked_s=1.0),
                     room_options={"hash_every": HASH_EVERY, "input_delay": 0})
    with serving(app) as url:
        yield url, app, Bundle.open(build)


async def out_of_step(url: str, misbehave: str) -> int:
    """A hand-written client that joins and then misbehaves one way; returns the close code."""
    async with websockets.connect(url.replace("http", "ws") + "/rooms/pong/shared") as ws:
        await ws.send(p.hello(p.PLAYER))
        welcome = p.decode_server(await ws.recv())  # type: ignore[arg-type]
        assert isinstance(welcome, p.Welcome)
        tick = welcome.state.tick + len(welcome.state.frames)
        try:
            while True:
                data = await asyncio.wait_for(ws.recv(), 20)
                frame = p.decode_server(data)  # type: ignore[arg-type]
                if isinstance(frame, p.Frame):
                    tick = frame.tick + 1
                if misbehave == "future":
                    await ws.send(p.input_message(tick + MAX_AHEAD + 50, player_bytes("KeyW")))
                elif misbehave == "past" and tick % HASH_EVERY == 0:
                    await ws.send(p.hash_message(tick, bytes(32)))
                    await ws.send(p.input_message(tick - 20, player_bytes("KeyW")))
                elif misbehave == "silent" and tick % 5 == 0:  # inputs, and never a hash
                    await ws.send(p.input_message(tick, player_bytes("KeyW" if tick % 10 else "KeyS")))
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None
            return e.rcvd.code


def test_out_of_step_clients_are_closed_and_a_player_beside_them_is_not(
        server: tuple[str, object, Bundle], engine: Engine) -> None:
    url, app, bundle = server
    good = OnlineClient(bundle, engine, prediction=Prediction(window=8, lead=2))

    async def story() -> tuple[object, list[int]]:
        playing = asyncio.create_task(good.play(RoomAddress.parse(f"{url}/play/pong?room=shared"), ticks=1500,
                                                recording=script("KeyW")))
        await asyncio.sleep(0.3)
        codes = [await out_of_step(url, how) for how in ("future", "past", "silent")]
        return await playing, codes

    outcome, codes = asyncio.run(story())
    assert codes == [CLOSE_PROTOCOL, CLOSE_PROTOCOL, CLOSE_OUT_OF_STEP] and CLOSE_OUT_OF_STEP in CLOSE_MEANINGS
    room = app.state.host.runners[("pong", "shared")].room  # type: ignore[attr-defined]
    assert outcome.tick == 1500 and outcome.heals == 0  # type: ignore[attr-defined]
    assert room.hashes.get(1500, outcome.state_hash) == outcome.state_hash  # type: ignore[attr-defined]
    assert all(room.hashes.get(t, h) == h for t, h in good.replica.reported)  # type: ignore[attr-defined]
    good.close()
