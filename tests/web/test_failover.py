"""A room in Chromium outlives its server: the page entered through server B, the room lives on A
(two `layerw serve` processes sharing a redis-server directory and a store); A is killed with
SIGKILL, and the page, rejoining through B and naming A gone, plays on in the room B resumed from
A's checkpoint, its seat kept and its hashes agreeing with the room's (no heal)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from layerw.runtime.engine import Engine
from layerw.session.directory import RedisDirectory
from tests.server_thread import free_port
from tests.session.redis_server import redis_server
from tests.session.test_directory import get_json, process, wait_serving
from tests.session.test_resume import CLAIM_TTL_S, published, serve_command
from tests.web.conftest import PlayPage

TICKS = 600
KILL_AT = 150


def test_a_page_plays_on_after_its_rooms_server_is_killed(built: Callable[[Path], Path], engine: Engine,
                                                          play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    _, store, env = published(built, tmp_path)
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
    with redis_server(tmp_path / "redis") as redis, ExitStack() as stack:
        servers = [stack.enter_context(process(serve_command(store, port, "--public-url", url, "--rooms", redis.url,
                                                             "--claim-ttl", str(CLAIM_TTL_S)), log, env))
                   for port, url, log in zip(ports, urls, logs, strict=True)]
        for url, server, log in zip(urls, servers, logs, strict=True):
            wait_serving(url, server, log)
        owner = RedisDirectory(redis.url, ttl_s=10)  # the room lives on A (as if a player had entered there first)
        owner.claim("pong/w", urls[0])
        owner.close()
        page = play_page().goto(f"{urls[1]}/play/pong?room=w&ticks={TICKS}&renderer=webgl2&sound=0&telemetry=0")
        page.wait(f"window.layerw.tick >= {KILL_AT}")
        seat = page.page.evaluate("window.layerw.session.seat")
        assert [r["room"] for r in get_json(f"{urls[0]}/rooms")] == ["w"]  # type: ignore[attr-defined]
        os.kill(servers[0].pid, signal.SIGKILL)
        killed = time.monotonic()
        servers[0].wait(10)
        page.wait("window.layerw.session.reconnects === 1", timeout=20_000)
        back_after = time.monotonic() - killed
        page.wait_stopped()
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        assert session["seat"] == seat and session["heals"] == 0, session
        assert page.tick == TICKS and page.page.evaluate("document.getElementById('error').hidden")
        assert [r["room"] for r in get_json(f"{urls[1]}/rooms")] == ["w"]  # type: ignore[attr-defined]
    print(f"the page played again {back_after:.2f} s after its room's server was killed")
    assert back_after < 10.0  # the lease's lapse (<= 2 s) and a resume, on a loaded machine
    assert "resumed at tick" in logs[1].read_text()
