"""The ASGI app: one server for the store's games and chunks, the web client, and multiplayer rooms.

Every response carries CORS (any origin may GET) and COOP/COEP headers, so the browser client
works from this server or with a store on another origin, and chunks may be cached by any CDN.
``GET /metrics`` and ``POST /telemetry`` (browser reports) are the app's observability face
(``telemetry.py``); its metrics live in ``app.state.metrics``, a registry of its own.

A room id is all one needs to join, watch or fill a room, so ``GET /rooms`` lists only rooms
started public (``/rooms/GAME/ROOM?public=1`` on the connection that starts it), except to the
operator: a request from one of ``operators`` (loopback by default) sees every room, and the
address each one counts against (its ``owner``: whose join created it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
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

from layerw.errors import SessionError, StoreError
from layerw.observability.metrics import Metrics
from layerw.runtime.engine import CpuLimit, Engine
from layerw.server.catalog import Catalog
from layerw.server.player_locks import PlayerLocks
from layerw.server.save_routes import SaveLimits, save_routes
from layerw.server.store_routes import store_routes
from layerw.server.symbolizer import Symbolizer
from layerw.server.telemetry import ReportLimits, ServedBytes, metrics_route, telemetry_route
from layerw.server.web_routes import web_routes
from layerw.session.checkpointer import Checkpoints
from layerw.session.directory import Directory, LoopDirectory, MemoryDirectory
from layerw.session.host import Limits, RoomHost
from layerw.session.lease import Lease, Leases
from layerw.store.gc import gc_rooms
from layerw.store.store import Store
from layerw.wire import CLOSE_ELSEWHERE, CLOSE_POLICY, CLOSE_TRY_AGAIN

log = logging.getLogger("layerw.server")
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


def peer_of(ws: WebSocket) -> str:
    """The client's address as per-address limits count it: the socket's peer, or the address a
    trusted proxy forwarded (uvicorn's ``proxy_headers`` with ``--trusted-proxies`` puts it in the
    scope); an IPv6 address counts by its /64, the block one subscriber gets."""
    host = ws.client.host if ws.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 and not ip.ipv4_mapped else host


def create_app(catalog: Catalog, *, store: Store | None = None, limits: Limits | None = None,
               room_options: dict[str, int] | None = None, directory: Directory | None = None,
               public_url: str = "", metrics: Metrics | None = None, reports: ReportLimits | None = None,
               operators: tuple[str, ...] = LOOPBACK, checkpoints: Checkpoints | None = None,
               serve_symbols: bool = False, save_limits: SaveLimits | None = None) -> Starlette:
    """``store`` adds its HTTP routes and players' saves in it (``save_routes.py``); ``public_url`` is
    how other server processes' clients reach this one (for room routing); ``reports`` bounds browser
    reports (size, rate); ``operators`` are the client addresses (after ``--trusted-proxies``) that
    ``GET /rooms`` shows private rooms to; ``checkpoints`` writes rooms to a store and resumes them
    there (the app closes it when it stops); ``serve_symbols`` lets pages download games' symbols
    (development: crash reports name source lines on the page; without it only the server's logs do);
    ``save_limits`` bounds players' saves (quota, request rates)."""
    metrics = metrics or Metrics()
    engine = Engine(CpuLimit.EPOCH)
    host = RoomHost(catalog.bundle, engine, limits or Limits(), room_options, metrics=metrics, checkpoints=checkpoints)
    rooms_dir = LoopDirectory(directory or MemoryDirectory())
    save_locks = PlayerLocks.open(directory.url if directory is not None else None)  # a player's writes, one at a time
    save_limits = save_limits or SaveLimits()
    save_rates = save_limits.rates(directory.url if directory is not None else None)  # counted fleet-wide with Redis
    leases = Leases(rooms_dir, public_url, lambda: {f"{g}/{r}" for g, r in (*list(host.runners), *host.building)})
    # the rooms this process owns, each run only while its lease is held (renewed on the leases' own thread)
    host.on_room_closed = leases.drop

    async def rooms(request: Request) -> JSONResponse:
        operator = request.client is not None and request.client.host in operators
        listed: list[dict[str, object]] = [{"game": g, "room": r, "tick": run.room.tick, "clients": len(run.clients),
                   "jitter_p99_ms": run.jitter_p99_ms()} for (g, r), run in host.runners.items() if run.public or operator]
        if operator:  # who holds which room: the address each one counts against (Limits.rooms_per_address)
            for entry in listed:
                key = (str(entry["game"]), str(entry["room"]))
                entry["owner"] = host.admission.owners.get(key)
                checkpointer = host.runners[key].checkpointer if key in host.runners else None
                if checkpointer is not None:  # how much play a crash would lose now, and what writes cost
                    entry["checkpoint"] = checkpointer.report()
        return JSONResponse(listed)

    async def room_socket(ws: WebSocket) -> None:
        game, room_id = ws.path_params["game"], ws.path_params["room"]
        await ws.accept()
        if not ROOM_ID.match(room_id) or game not in catalog.names():
            await ws.close(CLOSE_POLICY, f"no game {game!r} or bad room id")
            return
        try:
            lease = await leases.take(f"{game}/{room_id}", ws.query_params.get("gone"))  # gone: an owner the client found dead
        except SessionError as e:
            log.warning("%s", e, extra={"room": f"{game}/{room_id}"})
            await ws.close(CLOSE_TRY_AGAIN, "the room directory is unavailable: try again later")
            return
        if not isinstance(lease, Lease):
            await ws.close(CLOSE_ELSEWHERE, lease.owner)  # the client reconnects to the owning process
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

        try:
            await host.serve(game, room_id, receive, ws.send_bytes, close, peer=peer_of(ws),
                             public=ws.query_params.get("public") == "1", lease=lease if directory is not None else None)
        finally:
            leases.back(lease)

    async def collect_abandoned(checkpoints: Checkpoints) -> None:
        """Delete the checkpoints of rooms abandoned longer than ``max_age_s`` (off the loop, at start)."""
        if checkpoints.max_age_s is None:
            return
        try:
            r = await asyncio.to_thread(gc_rooms, checkpoints.store, max_age_s=checkpoints.max_age_s)
        except StoreError as e:
            log.warning("abandoned room checkpoints stay until the next start or `layerw gc`: %s", e)
            return
        log.info("collected %d abandoned room checkpoints (%d objects, %d bytes); %d rooms' checkpoints are recent",
                 r.rooms, r.deleted, r.deleted_bytes, r.kept)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        leases.start()
        collecting = asyncio.create_task(collect_abandoned(checkpoints)) if checkpoints is not None else None
        yield
        if collecting is not None:
            collecting.cancel()
        await host.close()
        if checkpoints is not None:  # after the host: its rooms' last checkpoints are written first
            await checkpoints.aclose()
        await asyncio.to_thread(leases.close)  # renewed until then: those writes were fenced by live leases
        await rooms_dir.aclose()
        save_locks.close()
        save_rates.close()
        engine.close()

    saves = save_routes(store, catalog, save_limits, locks=save_locks, rates=save_rates) if store is not None else []
    routes: list[BaseRoute] = [*(store_routes(store, metrics, serve_symbols=serve_symbols) + saves if store is not None else []),
                               *web_routes(catalog.names),
                               Route("/rooms", rooms), WebSocketRoute("/rooms/{game}/{room}", room_socket),
                               metrics_route(metrics),
                               telemetry_route(metrics, reports, Symbolizer(store) if store is not None else None)]
    middleware = [Middleware(ServedBytes, metrics=metrics),
                  Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"],
                             allow_headers=["Range", "If-None-Match"], expose_headers=["ETag", "Content-Range"]),
                  Middleware(IsolationHeaders)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.host = host
    app.state.catalog = catalog
    app.state.metrics = metrics
    return app

