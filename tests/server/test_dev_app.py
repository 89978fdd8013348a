"""The dev server of ``layerw dev --serve`` (dev_app.py, dev_events.py) on a real loopback socket:
its page names the newest build, its event stream tells each build and failure, and it serves
builds' files (and their game.json) without letting a path out of a build."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from layerw.errors import LayerWError
from layerw.server.dev_app import DevServer
from layerw.server.dev_events import DevEvents
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    game = scaffold(tmp_path_factory.mktemp("g") / "dgame")
    return build(game, game.parent / "build-1").out


def events_of(lines: Iterator[str], count: int) -> list[dict[str, object]]:
    """The next ``count`` events' data from a text/event-stream."""
    found: list[dict[str, object]] = []
    for line in lines:
        if line.startswith("data: "):
            found.append(json.loads(line[len("data: "):]))
            if len(found) == count:
                break
    return found


def test_page_stream_and_files(built: Path) -> None:
    events = DevEvents()
    events.publish({"type": "build", "build": 1, "tick": 0, "warnings": []})
    server = DevServer(events, lambda n: built if n == 1 else None, 0)
    with server, httpx.Client(base_url=server.url, timeout=20) as http:
        page = http.get("/?renderer=webgl2")  # no redirect: the game runs in a game worker, as players run it
        assert page.status_code == 200 and 'data-src="/dev/builds/1/"' in page.text and 'content="/dev/events"' in page.text
        descriptor = http.get("/dev/builds/1/game.json").json()
        assert descriptor["name"] == "dgame" and descriptor["assets"] == ["ship.png"]
        assert http.get("/dev/builds/1/game.wasm").content == (built / "game.wasm").read_bytes()
        assert http.get("/dev/builds/2/game.wasm").status_code == 404  # gone (or never built)
        outside = http.get("/dev/builds/1/%2e%2e/dgame/layerw.toml")  # a file beside the build
        assert outside.status_code == 404 and "has no" in outside.text, outside.text  # the route saw the .. and refused it
        assert http.get("/web/main.js").status_code == 200
        with http.stream("GET", "/dev/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            [first] = events_of(lines, 1)
            assert first == {"type": "build", "build": 1, "tick": 0, "warnings": [], "src": "/dev/builds/1/"}
            events.publish({"type": "failed", "build": 2, "running": 1, "error": "main.c:3:1: error: x\nsecond line"})
            [failed] = events_of(lines, 1)
            assert failed["error"] == "main.c:3:1: error: x\nsecond line"  # a multi-line text in one event
        assert events.latest is not None and events.latest["build"] == 1  # a failure does not replace the running build


def test_a_port_in_use_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(LayerWError, match=f"cannot serve the dev page on 127.0.0.1:{port}.*--serve PORT"):
            DevServer(DevEvents(), lambda n: None, port)


def test_no_build_yet_is_a_503() -> None:
    with DevServer(DevEvents(), lambda n: None, 0) as server:
        response = httpx.get(f"{server.url}/?worker=0", timeout=20)
        assert response.status_code == 503 and "no build runs yet" in response.text
