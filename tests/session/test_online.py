"""Rooms over real WebSockets: native clients through a uvicorn server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websockets

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import Recording
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session import protocol as p
from layerw.session.client import RoomAddress, play_online
from layerw.session.host import CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, Limits
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def server(built: Callable[[Path], Path]) -> Iterator[tuple[str, object]]:
    app = create_app(DirCatalog([built(GAMES / "pong")]), limits=Limits(messages_per_second=100, burst=100),
                     room_options={"hash_every": 30})
    with serving(app) as url:
        yield url, app


def script(seat_key: str) -> Recording:
    rec = Recording()
    for t in range(20, 560, 60):
        rec.changes[t].append({"tick": t, "down": [seat_key]})
        rec.changes[t + 25].append({"tick": t + 25, "up": [seat_key]})
    return rec


def test_two_native_clients_agree_with_the_server(server: tuple[str, object], built: Callable[[Path], Path],
                                                  engine: Engine) -> None:
    url, app = server
    bundle = Bundle.open(built(GAMES / "pong"))
    address = RoomAddress.parse(f"{url}/play/pong?room=duel")

    async def both() -> list[object]:
        return await asyncio.gather(
            play_online(address, bundle, engine, ticks=600, recording=script("KeyW")),
            play_online(address, bundle, engine, ticks=600, recording=script("ArrowDown")))

    a, b = asyncio.run(both())
    assert a.state_hash == b.state_hash  # type: ignore[attr-defined]
    room = app.state.host.runners[("pong", "duel")].room  # type: ignore[attr-defined]
    assert room.hashes.get(600, a.state_hash) == a.state_hash  # type: ignore[attr-defined]
    assert {a.seat, b.seat} == {0, 1} and a.heals == b.heals == 0  # type: ignore[attr-defined]


def test_room_address_parsing() -> None:
    addr = RoomAddress.parse("http://127.0.0.1:8000/play/pong?room=r1")
    assert addr.websocket == "ws://127.0.0.1:8000/rooms/pong/r1"
    for bad in ("ftp://x/play/pong?room=a", "http://x/play/pong", "http://x/pong?room=a"):
        with pytest.raises(Exception, match="room address"):
            RoomAddress.parse(bad)


async def _close_code(url: str, messages: list[bytes]) -> int:
    async with websockets.connect(url.replace("http", "ws") + "/rooms/pong/abuse") as ws:
        for m in messages:
            await ws.send(m)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None
            return e.rcvd.code


@pytest.mark.parametrize("messages, code", [
    ([b"\x02garbage"], CLOSE_PROTOCOL),  # first message not HELLO
    ([p.hello(p.PLAYER), bytes(p.MAX_CLIENT_MESSAGE + 10)], CLOSE_TOO_BIG),
    ([p.hello(p.PLAYER)] + [p.hash_message(0, bytes(32))] * 400, CLOSE_POLICY),  # flooding
    ([p.hello(p.PLAYER), b"\x77"], CLOSE_PROTOCOL),
])
def test_abusive_clients_are_closed_and_the_room_keeps_ticking(server: tuple[str, object], messages: list[bytes],
                                                               code: int) -> None:
    url, app = server
    assert asyncio.run(_close_code(url, messages)) == code
    runner = app.state.host.runners.get(("pong", "abuse"))  # type: ignore[attr-defined]
    if runner is not None:
        before = runner.room.tick
        wait_until(lambda: runner.room.tick > before, "the room keeps ticking")
