"""The ASGI app: multiplayer rooms over WebSocket (and, beside them, the store's HTTP routes)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from layerw.runtime.engine import CpuLimit, Engine
from layerw.server.catalog import Catalog
from layerw.session.directory import CLAIM_TTL_S, Directory, MemoryDirectory
from layerw.session.host import CLOSE_ELSEWHERE, CLOSE_POLICY, Limits, RoomHost

ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def create_app(catalog: Catalog, *, limits: Limits | None = None, room_options: dict[str, int] | None = None,
               directory: Directory | None = None, public_url: str = "") -> Starlette:
    """``public_url`` is how other server processes' clients reach this one (for room routing)."""
    engine = Engine(CpuLimit.EPOCH)
    host = RoomHost(catalog.bundle, engine, limits or Limits(), room_options)
    rooms_dir = directory or MemoryDirectory()
    host.on_room_closed = lambda room: rooms_dir.release(room, public_url)

    async def rooms(request: Request) -> JSONResponse:
        return JSONResponse([{"game": g, "room": r, "tick": run.room.tick, "clients": len(run.clients),
                              "jitter_p99_ms": run.jitter_p99_ms()} for (g, r), run in host.runners.items()])

    async def room_socket(ws: WebSocket) -> None:
        game, room_id = ws.path_params["game"], ws.path_params["room"]
        await ws.accept()
        if not ROOM_ID.match(room_id) or game not in catalog.names():
            await ws.close(CLOSE_POLICY, f"no game {game!r} or bad room id")
            return
        owner = rooms_dir.claim(f"{game}/{room_id}", public_url)
        if owner != public_url:
            await ws.close(CLOSE_ELSEWHERE, owner)  # the client reconnects to the owning process
            return

        async def receive() -> bytes:
            try:
                return await ws.receive_bytes()
            except WebSocketDisconnect as e:
                raise ConnectionError(f"client closed ({e.code})") from None
            except KeyError:  # a text frame: starlette finds no "bytes" in it
                return b""

        async def close(code: int, reason: str) -> None:
            try:
                await ws.close(code, reason)
            except (RuntimeError, WebSocketDisconnect):
                pass  # already closed by the client

        await host.serve(game, room_id, receive, ws.send_bytes, close)

    async def keep_claims() -> None:
        while True:
            await asyncio.sleep(CLAIM_TTL_S / 3)
            rooms_dir.refresh([f"{g}/{r}" for g, r in host.runners], public_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        refresher = asyncio.create_task(keep_claims())
        yield
        refresher.cancel()
        await host.close()
        rooms_dir.close()
        engine.close()

    app = Starlette(routes=[Route("/rooms", rooms), WebSocketRoute("/rooms/{game}/{room}", room_socket)],
                    lifespan=lifespan)
    app.state.host = host
    app.state.catalog = catalog
    return app

