"""A real redis-server on a free loopback port, for directory tests (one process per ``redis_server``)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from layerw.errors import SessionError
from layerw.session.directory import RedisDirectory
from tests.server_thread import free_port


@dataclass(frozen=True)
class RedisServer:
    url: str
    process: subprocess.Popen[bytes]  # its pid lets a test stall it for real (SIGSTOP / SIGCONT)


@contextmanager
def redis_server(work: Path) -> Iterator[RedisServer]:
    """Start redis-server (no persistence, data in ``work``), wait until it answers, stop it after."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is missing: `make test` installs it (Debian package redis-server)"
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(work)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                RedisDirectory(url).close()
                break
            except SessionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield RedisServer(url, proc)
    finally:
        proc.terminate()
        proc.wait(10)
