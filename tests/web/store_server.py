"""The real Layer-W server (create_app over a LocalStore) in a uvicorn thread, for browser tests.

Games are published into a temporary store by ``layerw.store.publish``. ``Recorder`` wraps the app
to count what browsers ask for (every HTTP request's path and response status) and, for the
integrity tests, to damage chosen chunks on their way out, as a broken cache between the store
and the browser would.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from layerw.config import GameConfig
from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.save_routes import SaveLimits
from layerw.session.host import RoomHost
from layerw.store.local import LocalStore
from layerw.store.publish import PublishResult, TwinMaker, publish
from tests.server_thread import serving
from tests.wat import contract_wat


@dataclass
class Recorder:
    """ASGI middleware: logs (path, status) of HTTP requests; flips a byte of chosen chunks; holds
    chosen chunks back (a slow link)."""

    app: Any
    requests: list[tuple[str, int]] = field(default_factory=list)
    tamper: set[str] = field(default_factory=set)  # chunk ids whose bytes get damaged in flight
    hold: dict[str, float] = field(default_factory=dict)  # chunk id -> seconds before it is answered

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/chunks/") and path.rsplit("/", 1)[-1] in self.hold:
            await asyncio.sleep(self.hold[path.rsplit("/", 1)[-1]])
        damage = path.startswith("/chunks/") and path.rsplit("/", 1)[-1] in self.tamper
        if damage:  # ask for identity so the damaged bytes reach the page's own check
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.requests.append((path, message["status"]))
            if damage and message["type"] == "http.response.body" and message.get("body"):
                body = bytearray(message["body"])
                body[len(body) // 2] ^= 0xFF
                message = {**message, "body": bytes(body)}
            await send(message)

        await self.app(scope, receive, recording_send)

    def chunk_requests(self) -> list[tuple[str, int]]:
        return [r for r in self.requests if r[0].startswith("/chunks/")]

    def manifest_requests(self, game: str) -> list[tuple[str, int]]:
        return [r for r in self.requests if r[0] == f"/games/{game}/manifest"]


@dataclass
class StoreServer:
    store: LocalStore
    url: str
    recorder: Recorder
    host: RoomHost  # the server's rooms (read from the test's thread: a room's tick, for bounded waits)

    def publish(self, build_dir: Path, channel: str = "latest", *, replay_twin: TwinMaker | None = None) -> PublishResult:
        """Publish ``build_dir`` (with ``replay_twin``, its twin too, as ``layerw publish`` does)."""
        return publish(build_dir, self.store, channel, replay_twin=replay_twin)

    def room_tick(self, game: str, room: str) -> int:
        """The room's present tick (-1 while the server holds no such room)."""
        run = self.host.runners.get((game, room))
        return -1 if run is None else run.room.tick

    def play_url(self, game: str, **params: object) -> str:
        query = "&".join(k if v is True else f"{k}={v}" for k, v in params.items())
        return f"{self.url}/play/{game}" + (f"?{query}" if query else "")


def wat_build(root: Path, name: str, version: str = "1.0.0", tick: str = "") -> Path:
    """A build directory holding a tiny contract module (unique per `tick` body)."""
    build = root / f"{name}-{version}"
    build.mkdir(parents=True)
    (build / "game.wasm").write_bytes(wasmtime.wat2wasm(contract_wat(tick=tick)))
    (build / "layerw.toml").write_text(GameConfig.from_dict({"game": {"name": name, "version": version}}).to_toml())
    return build


def with_asset(build_dir: Path, dest: Path, asset: str, data: bytes) -> Path:
    """A copy of a build directory with one asset replaced."""
    shutil.copytree(build_dir, dest)
    (dest / "assets" / asset).write_bytes(data)
    return dest


@contextmanager
def store_server(root: Path, *, serve_symbols: bool = False, save_limits: SaveLimits | None = None,
                 **room_options: int) -> Iterator[StoreServer]:
    store = LocalStore(root)
    app = create_app(StoreCatalog(store), store=store, room_options=room_options or None, serve_symbols=serve_symbols,
                     save_limits=save_limits)
    recorder = Recorder(app)
    with serving(recorder) as url:
        yield StoreServer(store, url, recorder, app.state.host)
