"""DevServer: ``layerw dev --serve``'s web face: the game's newest build for browsers, hot-reloaded.

    GET /                      the play page, on the newest build, with the dev overlay (?renderer= ... as /play takes):
                               the game in a game worker, as players run it (?worker=0: on the page's thread)
    GET /dev/events            Server-Sent Events: each build that runs and each failed build (dev_events.py)
    GET /dev/builds/N/...      build N's files, and the game.json descriptor the page's dirSource reads
    GET /web/..., /font.png, /shaders.wgsl   the web client (web_routes.py)

The page (main.js, dev-reload.js) fetches each new build, snapshots its running game (in its worker
or on the page) and restores the snapshot into the new module when the state layout allows, else
restarts and says why. The server runs on its own thread (uvicorn), beside the dev loop that ticks
the native game, and binds 127.0.0.1 unless told otherwise: it serves a developer's sources' builds,
debug info included.
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from layerw.bundle import Bundle
from layerw.errors import LayerWError
from layerw.server import run
from layerw.server.app import IsolationHeaders
from layerw.server.dev_events import DevEvents
from layerw.server.web_routes import NO_STORE, WEB, web_routes

DESCRIPTOR = "game.json"  # what dirSource (source.js) reads first: the config, asset and transpiled names
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


def descriptor(build_dir: Path) -> dict[str, object]:
    """A build directory's game.json: its config, its asset names and transpiled files."""
    bundle = Bundle.open(build_dir)
    return {**asdict(bundle.config), "assets": sorted(bundle.asset_names()), "transpiled": sorted(bundle.transpiled)}


def dev_routes(events: DevEvents, builds: Callable[[int], Path | None]) -> list[BaseRoute]:
    """The page, the event stream and the builds' files; ``builds(n)`` is build n's directory (None: gone)."""
    page = (WEB / "play.html").read_text()

    async def index(request: Request) -> Response:
        latest = events.latest
        if latest is None:
            return HTMLResponse("no build runs yet: fix the errors `layerw dev` shows, then reload", 503)
        head = (f'<base href="/web/">\n<meta name="layerw-dev" content="/dev/events" '
                f'data-src="{html.escape(str(latest["src"]))}" data-build="{int(latest["build"])}">\n')
        return HTMLResponse(page.replace("<head>\n", "<head>\n" + head, 1), headers={"Cache-Control": NO_STORE})

    async def stream(request: Request) -> Response:
        return StreamingResponse(events.stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def build_file(request: Request) -> Response:
        number, rest = int(request.path_params["build"]), str(request.path_params["path"])
        root = builds(number)
        if root is None:
            return JSONResponse({"error": f"build {number} is gone: fetch the newest ({events.latest and events.latest['src']})"},
                                404)
        if rest == DESCRIPTOR:
            return JSONResponse(descriptor(root), headers={"Cache-Control": NO_STORE})
        path = (root / rest).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            return JSONResponse({"error": f"build {number} has no {rest!r}"}, 404)
        return FileResponse(path, headers={"Cache-Control": NO_STORE})

    return [Route("/", index), Route("/dev/events", stream),
            Route("/dev/builds/{build:int}/{path:path}", build_file)]


def dev_app(events: DevEvents, builds: Callable[[int], Path | None]) -> Starlette:
    """The dev routes and the web client (its "/" index replaced by the dev page)."""
    return Starlette(routes=[*dev_routes(events, builds), *web_routes(lambda: [])], middleware=[Middleware(IsolationHeaders)])


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, bound before the server starts: a port in use fails
    here with what to do, and port 0 names the free port it got."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError as e:
        sock.close()
        raise LayerWError(f"cannot serve the dev page on {host}:{port}: {e.strerror}; pick another port (--serve PORT)") from e
    return sock


class DevServer:
    """The dev app on ``host``:``port`` (0: a free port) on a thread of its own; ``url`` is where it listens."""

    def __init__(self, events: DevEvents, builds: Callable[[int], Path | None], port: int = 0, host: str = "127.0.0.1") -> None:
        self.events = events
        config = run.config(dev_app(events, builds), host, port, timeout_graceful_shutdown=1)
        config.load()
        self._server = uvicorn.Server(config)
        sock = listen(host, port)
        self.port = int(sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="layerw-dev", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self._server.should_exit = True
                sock.close()
                raise LayerWError(f"the dev server on {self.url} did not start")
            time.sleep(0.02)

    def close(self) -> None:
        """End the pages' streams, then stop the server."""
        self.events.close()
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

