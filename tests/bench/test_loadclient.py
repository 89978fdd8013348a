"""The load generator's lean WebSocket client against a real server: handshake, messages both ways, close."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.loadclient import LoadClient
from tests.server_thread import serving


async def _echo_twice(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = await ws.receive_bytes()
            await ws.send_bytes(data)
            await ws.send_bytes(data[::-1])
    except WebSocketDisconnect:
        pass


def test_messages_both_ways_in_order() -> None:
    app = Starlette(routes=[WebSocketRoute("/echo", _echo_twice)])

    async def talk(url: str) -> list[bytes]:
        got: list[bytes] = []
        client = await LoadClient.connect(f"{url}/echo", lambda conn, data: got.append(data))
        for message in (b"ab", b"cd" * 5000):  # the second spans several TCP reads
            client.send(message)
        while len(got) < 4:
            await asyncio.sleep(0.01)
        client.close()
        await asyncio.wait_for(client.closed, 5)
        return got

    with serving(app) as url:
        got = asyncio.run(asyncio.wait_for(talk(url.replace("http", "ws")), 20))
    assert got == [b"ab", b"ba", b"cd" * 5000, b"dc" * 5000]


def test_a_refused_handshake_raises() -> None:
    app = Starlette(routes=[])  # no WebSocket route: the upgrade is refused

    async def talk(url: str) -> None:
        await LoadClient.connect(f"{url}/nowhere", lambda conn, data: None)

    with serving(app) as url, pytest.raises(Exception, match="403|404|rejected|status"):
        asyncio.run(talk(url.replace("http", "ws")))
