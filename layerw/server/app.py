"""The ASGI app: one server for the store's games and chunks, the web client, and multiplayer rooms.

Every response carries CORS (any origin may GET) and COOP/COEP headers, so the browser client
works from this server or with a store on another origin, and chunks may be cached by any CDN.
``GET /metrics`` and ``POST /telemetry`` (browser reports) are the app's observability face
(``telemetry.py``); its metrics live in ``app.state.metrics``, a registry of its own.

A room id is all one needs to join, watch or fill a room, so ``GET /rooms`` lists only rooms
started public (``/rooms/GAME/ROOM?public=1`` on the connection that starts it), except to the
operator: a request from one of ``operators`` (loopback by default) sees every room.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from layerw.observability.metrics import Metrics
from layerw.runtime.engine import CpuLimit, Engine
from layerw.server.catalog import Catalog
from layerw.server.store_routes import store_routes
from layerw.server.telemetry import ReportLimits, ServedBytes, metrics_route, telemetry_route
from layerw.server.web_routes import web_routes
from layerw.session.directory import CLAIM_TTL_S, Directory, MemoryDirectory
from layerw.session.host import CLOSE_ELSEWHERE, CLOSE_POLICY, Limits, RoomHost
from layerw.store.store import Store

ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOOPBACK = ("127.0.0.1", "::1")
ISOLATION = [(b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-embedder-policy", b"require-corp"),
             (b"cross-origin-resource-policy", b"cross-origin")]


class IsolationHeaders:
    """COOP/COEP (cross-origin isolation for the page) and CORP (chunks usable from other origins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *ISOLATION]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(catalog: Catalog, *, store: Store | None = None, limits: Limits | None = None,
               room_options: dict[str, int] | None = None, directory: Directory | None = None,
               public_url: str = "", metrics: Metrics | None = None, reports: ReportLimits | None = None,
               operators: tuple[str, ...] = LOOPBACK) -> Starlette:
    """``store`` adds its HTTP routes; ``public_url`` is how other server processes' clients reach
    this one (for room routing); ``reports`` bounds browser reports (size, rate); ``operators`` are
    the client addresses (after ``--trusted-proxies``) that ``GET /rooms`` shows private rooms to."""
    metrics = metrics or Metrics()
    engine = Engine(CpuLimit.EPOCH)
    host = RoomHost(catalog.bundle, engine, limits or Limits(), room_options, metrics=metrics)
    rooms_dir = directory or MemoryDirectory()
    host.on_room_closed = lambda room: rooms_dir.release(room, public_url)

    async def rooms(request: Request) -> JSONResponse:
        operator = request.client is not None and request.client.host in operators
        return JSONResponse([{"game": g, "room": r, "tick": run.room.tick, "clients": len(run.clients),
                              "jitter_p99_ms": run.jitter_p99_ms()} for (g, r), run in host.runners.items()
                             if run.public or operator])

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
            except RuntimeError as e:  # receiving after the disconnect was already seen
                raise ConnectionError(str(e)) from None
            except KeyError:  # a text frame: starlette finds no "bytes" in it
                return b""

        async def close(code: int, reason: str) -> None:
            try:
                await ws.close(code, reason)
            except (RuntimeError, WebSocketDisconnect):
                pass  # already closed by the client

        await host.serve(game, room_id, receive, ws.send_bytes, close, peer=ws.client.host if ws.client else "local",
                         public=ws.query_params.get("public") == "1")

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

    routes: list[BaseRoute] = [*(store_routes(store, metrics) if store is not None else []), *web_routes(catalog.names),
                               Route("/rooms", rooms), WebSocketRoute("/rooms/{game}/{room}", room_socket),
                               metrics_route(metrics), telemetry_route(metrics, reports)]
    middleware = [Middleware(ServedBytes, metrics=metrics),
                  Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"],
                             allow_headers=["Range", "If-None-Match"], expose_headers=["ETag", "Content-Range"]),
                  Middleware(IsolationHeaders)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.host = host
    app.state.catalog = catalog
    app.state.metrics = metrics
    return app

