"""How server processes run: uvloop where it exists, and no permessage-deflate on WebSockets."""

from __future__ import annotations

import asyncio
import sys

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from layerw.server import run
from tests.server_thread import serving


async def _which_loop(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(type(asyncio.get_running_loop()).__module__)
    await ws.close()


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_servers_run_on_uvloop_without_deflate() -> None:
    app = Starlette(routes=[WebSocketRoute("/loop", _which_loop)])

    async def ask(url: str) -> tuple[str, list[str]]:
        async with websockets.connect(f"{url}/loop") as ws:  # offers permessage-deflate, as browsers do
            extensions = ws.response.headers.get_all("Sec-WebSocket-Extensions") if ws.response else []
            return str(await ws.recv()), extensions

    with serving(app) as url:
        loop, extensions = asyncio.run(ask(url.replace("http", "ws")))
    assert loop.startswith("uvloop")
    assert extensions == []  # declined: room frames are tiny and snapshots already compressed


def test_options_override_the_defaults() -> None:
    config = run.config(object(), "127.0.0.1", 0, log_level="info")
    assert (config.loop, config.ws, config.ws_per_message_deflate, config.log_level) == (run.LOOP, "websockets-sansio",
                                                                                       False, "info")
