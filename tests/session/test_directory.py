"""Room directory: in memory, and Redis routing joins between two servers: in threads, and as real
`layerw serve` processes joined by real `layerw join` processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import SessionError
from layerw.runtime.engine import Engine
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.client import RoomAddress, play_online
from layerw.session.directory import Directory, MemoryDirectory, RedisDirectory
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.conftest import GAMES
from tests.server_thread import free_port, serving
from tests.session.redis_server import redis_server
from tests.waiting import until


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_claim_owner_release(kind: str, request: pytest.FixtureRequest) -> None:
    d: Directory = MemoryDirectory() if kind == "memory" else Directory.open(request.getfixturevalue("redis_url"))
    room = f"pong/{kind}-room"
    assert d.claim(room, "http://a") == "http://a"
    assert d.claim(room, "http://b") == "http://a"
    assert d.owner(room) == "http://a"
    d.refresh([room], "http://a")
    d.release(room, "http://b")  # not the owner: nothing happens
    assert d.owner(room) == "http://a"
    d.release(room, "http://a")
    assert d.owner(room) is None
    assert d.claim(room, "http://b") == "http://b"
    d.close()


def test_unknown_directory_url() -> None:
    with pytest.raises(SessionError, match="unknown room directory"):
        Directory.open("zookeeper://x")


def test_two_servers_route_joins_to_the_room_owner(redis_url: str, built: Callable[[Path], Path],
                                                   engine: Engine) -> None:
    build = built(GAMES / "pong")
    bundle = Bundle.open(build)
    port_a, port_b = free_port(), free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    app_a = create_app(DirCatalog([build]), directory=Directory.open(redis_url), public_url=url_a)
    app_b = create_app(DirCatalog([build]), directory=Directory.open(redis_url), public_url=url_b)
    with serving(app_a, port=port_a), serving(app_b, port=port_b):
        async def both() -> list[object]:
            first = asyncio.create_task(play_online(RoomAddress.parse(f"{url_a}/play/pong?room=shared"), bundle, engine,
                                                    ticks=120))
            await until(lambda: ("pong", "shared") in app_a.state.host.runners, "server A claims the room first")
            second = play_online(RoomAddress.parse(f"{url_b}/play/pong?room=shared"), bundle, engine, ticks=120)
            return list(await asyncio.gather(first, second))

        a, b = asyncio.run(both())
        assert a.state_hash == b.state_hash  # type: ignore[attr-defined]
        assert ("pong", "shared") in app_a.state.host.runners
        assert ("pong", "shared") not in app_b.state.host.runners


LAYERW = [sys.executable, "-m", "layerw.cli"]


@contextmanager
def process(cmd: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A subprocess whose output goes to ``log``; terminated (killed if need be) however the test ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def wait_serving(url: str, proc: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            get_json(f"{url}/games")
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"`layerw serve` at {url} did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def test_two_serve_processes_with_redis_route_joins(redis_url: str, built: Callable[[Path], Path],
                                                    tmp_path: Path) -> None:
    """Two `layerw serve --rooms redis://…` processes and a `layerw join` through each: the join
    that reaches the wrong process is sent to the owner, both print the same state hash, and only
    the owner hosts the room."""
    store = LocalStore(tmp_path / "store")
    publish(built(GAMES / "pong"), store)
    env = {**os.environ, "LAYERW_CACHE_DIR": str(tmp_path / "cache")}
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with ExitStack() as stack:
        servers = [stack.enter_context(process(
            [*LAYERW, "serve", "--store", str(store.root), "--host", "127.0.0.1", "--port", str(port),
             "--public-url", url, "--rooms", redis_url], tmp_path / f"serve-{port}.log", env))
            for port, url in zip(ports, urls, strict=True)]
        for url, proc, port in zip(urls, servers, ports, strict=True):
            wait_serving(url, proc, tmp_path / f"serve-{port}.log")
        joins = [stack.enter_context(process(
            [*LAYERW, "join", f"{url}/play/pong?room=r", "--headless", "--ticks", "300"], tmp_path / f"join-{i}.log", env))
            for i, url in enumerate(urls)]
        for proc in joins:
            proc.wait(120)
        outs = [(tmp_path / f"join-{i}.log").read_text() for i in range(len(joins))]
        for proc, out in zip(joins, outs, strict=True):
            assert proc.returncode == 0, out
        hosted = [[(r["game"], r["room"]) for r in get_json(f"{url}/rooms")] for url in urls]  # type: ignore[attr-defined]
        owner = RedisDirectory(redis_url)
        try:
            owner_url = owner.owner("pong/r")
        finally:
            owner.close()
    lasts = [out.strip().splitlines()[-2:] for out in outs]
    assert lasts[0] == lasts[1] and lasts[0][0] == "tick 300" and lasts[0][1].startswith("state-hash "), lasts
    assert sorted(("pong", "r") in h for h in hosted) == [False, True], hosted  # exactly one process hosts it
    assert owner_url == urls[[("pong", "r") in h for h in hosted].index(True)]
