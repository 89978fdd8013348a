"""Browser fixtures: Debian Chromium driven by Playwright, and a tiny test-only static server.

Until `layerw serve` exists, the server below exposes, on 127.0.0.1 (a secure context, so WebCrypto
and WebGPU are on): the web client at /web/, the native renderer's font atlas and WGSL at
/font.png and /shaders.wgsl, and build directories at /games/NAME/ with a `game.json` descriptor
(the config, asset names and transpiled file names the browser's dirSource reads). Chromium comes from Debian
(/usr/bin/chromium); Playwright never downloads a browser.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "layerw" / "web"
GFX = ROOT / "layerw" / "gfx"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage",
]
# WebGPU on SwiftShader: without Chromium's own Vulkan (SwiftShader) the device is destroyed as soon
# as a frame is presented on a canvas; with it, presentation and readback work.
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader"]
LOAD_TIMEOUT_MS = 30_000


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".wasm": "application/wasm",
                      ".wgsl": "text/plain", ".json": "application/json", ".jsonl": "application/jsonl"}
    routes: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, target in sorted(self.routes.items(), key=lambda kv: -len(kv[0])):
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                rest = path[len(prefix):]
                resolved = (target / rest).resolve() if rest else target
                if target in resolved.parents or resolved == target:
                    return str(resolved)
        return str(Path("/nonexistent") / "x")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class StaticServer:
    """A threaded HTTP server on a free loopback port; `add` maps a URL prefix to a file or folder."""

    def __init__(self, files: Path) -> None:
        self.files = files
        self.routes: dict[str, Path] = {"/web/": WEB, "/font.png": GFX / "font.png", "/shaders.wgsl": GFX / "shaders.wgsl",
                                        "/files/": files}
        handler = type("Handler", (_Handler,), {"routes": self.routes})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(files)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_game(self, build_dir: Path, name: str | None = None, **changes: bytes) -> str:
        """Publish a build directory (optionally with changed assets) at /games/NAME/; returns the URL path."""
        bundle = Bundle.open(build_dir)
        name = name or bundle.config.name
        dest = self.files / "games" / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(build_dir, dest)
        for asset, data in changes.items():
            (dest / "assets" / asset).write_bytes(data)
        descriptor = {**asdict(bundle.config), "assets": sorted(bundle.asset_names()), "transpiled": sorted(bundle.transpiled)}
        (dest / "game.json").write_text(json.dumps(descriptor))
        self.routes[f"/games/{name}/"] = dest
        return f"/games/{name}/"

    def add_file(self, name: str, text: str) -> str:
        (self.files / name).write_text(text)
        return f"/files/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticServer]:
    s = StaticServer(tmp_path_factory.mktemp("www"))
    yield s
    s.close()


# Playwright and its browsers live as long as the tests/web package runs, not the session: between its
# sync calls Playwright marks its event loop as this thread's running one (playwright/_impl/_greenlets.py,
# wait_for_future), so a later test's asyncio.run() elsewhere would fail while it lives.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt install chromium; `make test` does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


def _launch(playwright: Any, extra: list[str]) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + extra)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser(playwright: Any) -> Iterator[Any]:
    yield from _launch(playwright, [])


@pytest.fixture(scope="package")
def webgpu_browser(playwright: Any) -> Iterator[Any]:
    yield from _launch(playwright, WEBGPU_ARGS)


class PlayPage:
    """One play.html page; `console` collects its console lines."""

    def __init__(self, page: Any, server: StaticServer) -> None:
        self.page = page
        self.server = server
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def goto(self, url: str) -> PlayPage:
        """Open any page URL (e.g. the real server's /play/GAME)."""
        self.page.goto(url)
        return self

    def open(self, src: str, **params: object) -> PlayPage:
        query = "&".join([f"src={src}"] + [k if v is True else f"{k}={v}" for k, v in params.items()])
        self.page.goto(f"{self.server.url}/web/play.html?{query}")
        return self

    def wait(self, condition: str, timeout: int = LOAD_TIMEOUT_MS) -> None:
        try:
            self.page.wait_for_function(f"() => window.layerw && (window.layerw.status === 'failed' || ({condition}))",
                                        timeout=timeout)
        except Exception as e:
            raise AssertionError(f"page never reached {condition}; console: {self.console[-10:]}") from e
        status, error = self.page.evaluate("[window.layerw.status, window.layerw.error]")
        if status == "failed" and "failed" not in condition:
            raise AssertionError(f"the page failed: {error}; console: {self.console[-10:]}")

    def first(self, value: str, timeout: int = LOAD_TIMEOUT_MS) -> Any:
        """The first value of the JS expression ``value`` that is not null or undefined, read in the
        same poll that saw it (a later evaluate may already see the page in another state)."""
        try:
            found = self.page.wait_for_function(
                f"() => {{ const v = window.layerw && ({value}); return v == null ? null : [v]; }}", timeout=timeout)
        except Exception as e:
            raise AssertionError(f"the page never had {value}; console: {self.console[-10:]}") from e
        return found.json_value()[0]

    def hold(self, key: str, ticks: int, then: int = 0, or_stop: bool = False) -> None:
        """Hold ``key`` down for ``ticks`` of the page's game, then up for ``then`` more: counted in
        ticks, not wall-clock time (a loaded machine may draw no frame for a while), each change
        sent (session.inputsSent) before the next. ``or_stop``: the game stopping (at its last tick)
        ends each wait too, for a test that needs no input to land (a loaded page may join late)."""
        stopped = " || window.layerw.status === 'stopped'" if or_stop else ""
        sent, start = self.page.evaluate("[window.layerw.session.inputsSent, window.layerw.tick]")
        self.page.keyboard.down(key)
        self.wait(f"(window.layerw.session.inputsSent > {sent} && window.layerw.tick >= {start + ticks}){stopped}")
        sent, start = self.page.evaluate("[window.layerw.session.inputsSent, window.layerw.tick]")
        self.page.keyboard.up(key)
        self.wait(f"(window.layerw.session.inputsSent > {sent} && window.layerw.tick >= {start + then}){stopped}")

    def desync_until_healed(self, change: str, before_tick: int, every: int = 120) -> int:
        """Run ``change`` (JS that alters the game's memory, each call differently) until the room
        heals the page, waiting up to ``every`` ticks after each; returns how many changes it took.
        A rollback that restores a snapshot taken before a change undoes it, as it should: the page
        then agrees with the room again and the next change tries once more."""
        changes = 0
        while True:
            heals, tick, status = self.page.evaluate("[window.layerw.session.heals, window.layerw.tick, window.layerw.status]")
            if heals:
                return changes
            assert status == "running" and tick < before_tick, f"no heal after {changes} changes, at tick {tick} ({status})"
            self.page.evaluate(change)
            changes += 1
            self.wait(f"window.layerw.session.heals >= 1 || window.layerw.tick >= {tick + every}"
                      " || window.layerw.status === 'stopped'")

    def wait_running(self) -> None:
        self.wait("window.layerw.status === 'running'")

    def wait_stopped(self, timeout: int = LOAD_TIMEOUT_MS) -> None:
        self.wait("window.layerw.status === 'stopped'", timeout)

    @property
    def tick(self) -> int:
        return int(self.page.evaluate("window.layerw.tick"))

    def state_hash(self) -> str:
        return str(self.page.evaluate("window.layerw.stateHash()"))

    def renderer(self) -> dict[str, str]:
        return dict(self.page.evaluate("window.layerw.renderer"))

    def pixels(self, width: int, height: int) -> np.ndarray:
        data = base64.b64decode(self.page.evaluate("window.layerw.readPixels()"))
        return np.frombuffer(data, np.uint8).reshape(height, width, 4)

    def last_input(self) -> np.ndarray:
        data = base64.b64decode(self.page.evaluate("window.layerw.lastInput()"))
        return np.frombuffer(data, abi.INPUT.dtype)[0]


@pytest.fixture
def play_page(browser: Any, server: StaticServer) -> Iterator[Callable[..., PlayPage]]:
    """Factory: a new page (own context) at play.html; closed after the test."""
    contexts: list[Any] = []

    def make(browser_: Any = browser, **context: Any) -> PlayPage:
        ctx = browser_.new_context(viewport={"width": 800, "height": 600}, **context)
        contexts.append(ctx)
        return PlayPage(ctx.new_page(), server)

    yield make
    for ctx in contexts:
        ctx.close()


SPRITES_COUNT = 200  # the sprites game's scene size in browser tests (SwiftShader is slow)


@pytest.fixture(scope="session")
def published(server: StaticServer, built: Callable[[Path], Path]) -> Callable[[str], str]:
    """Publish a sample game on the test server once; returns its URL path. The sprites game is
    published with config.txt count=SPRITES_COUNT."""
    from tests.conftest import GAMES

    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            changes = {"config.txt": f"count={SPRITES_COUNT}\n".encode()} if name == "sprites" else {}
            cache[name] = server.add_game(built(GAMES / name), None, **changes)
        return cache[name]

    return get


def served_build(server: StaticServer, src: str) -> Path:
    """The build directory the server publishes at `src` (with its changed assets)."""
    return server.routes[src]


ROOM_SNAPSHOT_EVERY = 3000  # rooms on the store server snapshot rarely: joiners get tick-0 state + frames


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory, built: Callable[[Path], Path]) -> Iterator[Any]:
    """The real server (create_app over a LocalStore) with the sample games published; sprites is
    published with config.txt count=SPRITES_COUNT."""
    from tests.conftest import GAMES
    from tests.web.store_server import store_server as serve
    from tests.web.store_server import with_asset

    root = tmp_path_factory.mktemp("store-server")
    with serve(root / "store", snapshot_every=ROOM_SNAPSHOT_EVERY) as s:
        for name in ("pong", "asteroids", "sprites"):
            build = built(GAMES / name)
            if name == "sprites":
                build = with_asset(build, root / "sprites-build", "config.txt", f"count={SPRITES_COUNT}\n".encode())
            s.publish(build)
        yield s
