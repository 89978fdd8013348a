"""How every Layer-W server process runs its app: one place for the event loop, WebSocket settings
and connection limits.

- The event loop is uvloop (libuv) where it exists (Linux, macOS): the room server's work is
  mostly small socket writes and timers, which uvloop does at a fraction of asyncio's cost.
  Windows has no uvloop and gets asyncio's own loop, said once at startup.
- WebSocket permessage-deflate is off: room frames are 7-100 bytes (deflate only adds work to
  them) and snapshots are zstd-compressed already.
- Connections are held to ``ConnectionLimits`` (``limits.py``) by uvicorn's h11 and sans-I/O
  WebSocket protocols, subclassed (``http_protocol.py``, ``ws_protocol.py``).
- Before serving, everything the process holds after start-up (imported modules, the compiled
  engine, the app) is moved out of the garbage collector's reach (``gc.freeze``), so the rare
  full collections scan only what rooms allocate since, not the whole heap: shorter pauses.
- The listening socket is bound here, not by uvicorn, so that addresses banned for floods of refused
  connections are dropped by the kernel before they are accepted (``bans.py``).
- glibc's mmap threshold is held at its start (``session/heap.py``): rooms' snapshots are mapped
  and unmapped whole, so the memory a wave of closed rooms held goes back to the system.
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
from typing import Any

import uvicorn

from layerw.server.http_protocol import Gate
from layerw.server.limits import ConnectionLimits, ConnectionTable
from layerw.server.ws_protocol import WebSocketProtocol
from layerw.session.heap import hold_mmap_threshold

log = logging.getLogger("layerw.server")

LOOP = "asyncio" if sys.platform == "win32" else "uvloop"


class ServerConfig(uvicorn.Config):
    """uvicorn's Config carrying Layer-W's connection limits and the table of connections they bound;
    its protocols are uvicorn's h11 and websockets-sansio ones, subclassed to enforce them (behind a ``Gate``)."""

    def __init__(self, app: Any, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits
        self.connections = ConnectionTable(limits, self.forwarded_allow_ips if self.proxy_headers else None)

    def load(self) -> None:
        super().load()
        self.http_protocol_class = Gate  # it hands each connection it admits to an HttpProtocol
        self.ws_protocol_class = WebSocketProtocol


def config(app: Any, host: str, port: int, limits: ConnectionLimits | None = None, **options: Any) -> ServerConfig:
    """uvicorn's Config with Layer-W's loop, WebSocket settings and ``limits``; ``options`` adds or overrides."""
    limits = limits or ConnectionLimits()
    settings: dict[str, Any] = {"log_level": "warning", "loop": LOOP, "http": "h11", "ws": "websockets-sansio",
                                "ws_per_message_deflate": False, "ws_max_size": limits.ws_max_message_bytes,
                                "ws_ping_interval": limits.ws_ping_interval_s, "ws_ping_timeout": limits.ws_ping_timeout_s,
                                "timeout_keep_alive": limits.idle_timeout_s,
                                "h11_max_incomplete_event_size": limits.max_head_bytes}
    return ServerConfig(app, limits, host=host, port=port, **(settings | options))


def serve(app: Any, host: str, port: int, limits: ConnectionLimits | None = None, **options: Any) -> None:
    """Run ``app`` until interrupted (the process's main job)."""
    if LOOP != "uvloop":
        log.warning("no uvloop on %s: rooms run on asyncio's own event loop (slower)", sys.platform)
    settings = config(app, host, port, limits, **options)
    server = uvicorn.Server(settings)
    sockets = listen(settings)
    hold_mmap_threshold()
    gc.collect()
    gc.freeze()
    server.run(sockets=sockets or None)


def listen(settings: ServerConfig) -> list[socket.socket]:
    """The server's listening socket, bound, with the kernel filter that drops banned addresses' SYNs
    (``bans.py``) where the platform has one; none where uvicorn binds a Unix socket or an inherited
    descriptor itself."""
    if settings.uds or settings.fd is not None:
        return []
    sock = settings.bind_socket()
    settings.connections.bans.attach(sock)
    return [sock]
