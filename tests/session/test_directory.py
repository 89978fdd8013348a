"""Room directory: in memory, and Redis routing joins between two real server processes."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import SessionError
from layerw.runtime.engine import Engine
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.client import RoomAddress, play_online
from layerw.session.directory import Directory, MemoryDirectory, RedisDirectory
from tests.conftest import GAMES
from tests.server_thread import free_port, serving


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("redis-server")
    assert exe, "redis-server is missing: `make test` installs it (Debian package redis-server)"
    port = free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            RedisDirectory(url).close()
            break
        except SessionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


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
            await asyncio.sleep(0.3)  # server A claims the room first
            second = play_online(RoomAddress.parse(f"{url_b}/play/pong?room=shared"), bundle, engine, ticks=120)
            return list(await asyncio.gather(first, second))

        a, b = asyncio.run(both())
        assert a.state_hash == b.state_hash  # type: ignore[attr-defined]
        assert ("pong", "shared") in app_a.state.host.runners
        assert ("pong", "shared") not in app_b.state.host.runners
