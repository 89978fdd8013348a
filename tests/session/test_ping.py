"""PING/PONG over a real server: a PING is echoed at once, a PING flood is closed with a code within
the message allowance, and a predicting player in the same room plays on unaffected."""

from __future__ import annotations

import asyncio
import math
import struct
import time
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
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.host import Limits
from layerw.wire import CLOSE_POLICY, MAX_SERVER_MESSAGE
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.test_online import script

BURST = 100
RATE = 50
TICKS = 300


@pytest.fixture(scope="module")
def server(built: Callable[[Path], Path]) -> Iterator[tuple[str, Bundle]]:
    build = built(GAMES / "pong")
    app = create_app(DirCatalog([build]), limits=Limits(speed=2.0, messages_per_second=RATE, burst=BURST),
                     room_options={"hash_every": 30, "input_delay": 0})
    with serving(app) as url:
        yield url, Bundle.open(build)


def test_protocol_round_trips_ping_and_pong() -> None:
    payload = struct.pack("<d", 12.5)
    assert p.decode_client(p.ping_message(payload)) == p.Ping(payload)
    assert p.decode_server(p.pong_message(payload)) == p.Pong(payload)
    with pytest.raises(ProtocolError):
        p.decode_client(bytes([p.PING]) + payload[:4])  # truncated


async def _flood(url: str) -> tuple[bytes, int, int, float]:
    """Join as a player, PING once and wait for its PONG, then send three bursts' worth of PINGs;
    returns the first PONG's payload, the PONGs counted, the close code and the seconds from the
    first message to the close (the allowance refills meanwhile)."""
    started = time.monotonic()
    async with websockets.connect(url, max_size=MAX_SERVER_MESSAGE) as ws:
        await ws.send(p.hello(p.PLAYER))
        assert isinstance(p.decode_server(await ws.recv()), p.Welcome)
        await ws.send(p.ping_message(b"layerw-1"))
        first = None
        while first is None:
            msg = p.decode_server(await ws.recv())
            first = msg.payload if isinstance(msg, p.Pong) else None
        pongs = 1
        try:
            for i in range(3 * BURST):
                await ws.send(p.ping_message(struct.pack("<Q", i)))
        except websockets.ConnectionClosed:
            pass
        try:
            while True:
                pongs += isinstance(p.decode_server(await asyncio.wait_for(ws.recv(), 10)), p.Pong)
        except websockets.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd is not None else -1
        return first, pongs, code, time.monotonic() - started


def test_a_ping_flood_is_closed_and_a_predicting_player_is_unaffected(server: tuple[str, Bundle], engine: Engine) -> None:
    url, bundle = server
    address = RoomAddress.parse(f"{url}/play/pong?room=flood")
    player = OnlineClient(bundle, engine, prediction=Prediction(window=8))

    async def both() -> tuple[Outcome, tuple[bytes, int, int, float]]:
        playing = asyncio.create_task(player.play(address, ticks=TICKS, recording=script("KeyW")))
        await asyncio.sleep(1.0)  # the room is running, the player ahead of it
        flooded = await _flood(address.websocket)
        return await playing, flooded

    started = time.monotonic()
    try:
        outcome, (first, pongs, code, flood_s) = asyncio.run(both())
    finally:
        player.close()
    played_s = time.monotonic() - started  # every round trip the player measured lies within its play
    assert first == b"layerw-1"  # the payload comes back untouched
    assert code == CLOSE_POLICY  # "too many messages"
    assert pongs <= BURST + 1 + math.ceil(RATE * flood_s)  # no more answers than its allowance (refilled at RATE)
    assert outcome.tick == TICKS and outcome.heals == 0 and outcome.predicted > 0
    # the player measured its round trip with PING/PONG: a span of its own play, not a reading of its
    # clock (a load that slows the round trip slows the play around it too, so this holds at any load)
    assert 0 < outcome.rtt_s < played_s, (outcome.rtt_s, played_s)
