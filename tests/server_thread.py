"""A real uvicorn server on a free loopback port, in a thread, for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from layerw.server import run
from layerw.server.limits import ConnectionLimits

# Tests open hundreds of connections a second from 127.0.0.1 (one request each); the per-address rate
# of new connections is tested by the tests that pass their own limits.
TEST_LIMITS = ConnectionLimits(new_connections_per_second=100_000, new_connection_burst=100_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: Any, port: int | None = None, limits: ConnectionLimits | None = None,
            **options: Any) -> Iterator[uvicorn.Server]:
    """Run ``app`` on 127.0.0.1 (``limits``, by default ``TEST_LIMITS``, and uvicorn ``options`` as ``run.config`` takes them);
    yields the started server (its config's ``connections`` is the table a test may wait on)."""
    port = port or free_port()
    config = run.config(app, "127.0.0.1", port, limits or TEST_LIMITS, **options)
    server = uvicorn.Server(config)
    sockets = run.listen(config)  # bound as ``layerw serve`` binds it: with its ban filter
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets or None}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(20)
        for sock in sockets:
            sock.close()


@contextmanager
def serving(app: Any, port: int | None = None, limits: ConnectionLimits | None = None, **options: Any) -> Iterator[str]:
    """``running``, yielding the server's base URL (http://127.0.0.1:PORT)."""
    with running(app, port, limits, **options) as server:
        yield f"http://127.0.0.1:{server.config.port}"
