"""A small app and raw-socket helpers for the connection-limit tests: what a hostile client sends,
byte for byte, to a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

# uvloop's timers run on libuv's clock, kept in whole milliseconds and read once per loop turn: a 0.6 s
# timer may fire up to a millisecond before 0.6 s of time.monotonic() have passed (CI once saw 0.59988 s).
TIMER_GRAIN_S = 0.002


async def _ping(request: Request) -> PlainTextResponse:
    return PlainTextResponse("pong")


async def _echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_bytes(await ws.receive_bytes())
    except WebSocketDisconnect:
        pass


async def _late(ws: WebSocket) -> None:
    await asyncio.sleep(2)  # accepts nothing in time (and ends soon, so the server stops quickly)


async def _slow_echo(ws: WebSocket) -> None:
    await asyncio.sleep(0.5)  # a busy server: frames the client sent at once arrive before the accept
    await _echo(ws)


def app() -> Starlette:
    return Starlette(routes=[Route("/ping", _ping), WebSocketRoute("/echo", _echo), WebSocketRoute("/rooms/echo", _echo),
                             WebSocketRoute("/rooms/slow", _slow_echo), WebSocketRoute("/never", _late)])


class Sockets:
    """Raw client sockets to one server port, all closed on exit."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.opened: list[socket.socket] = []

    def __enter__(self) -> Sockets:
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self.opened:
            s.close()

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        s = socket.socket()
        self.opened.append(s)
        s.settimeout(5.0)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        return s

    def websocket(self, path: str = "/echo") -> socket.socket:
        """A socket past a WebSocket handshake on ``path``."""
        s = self.connect()
        s.sendall(upgrade(path))
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return s


def read_all(s: socket.socket, limit: float = 5.0) -> bytes:
    """Everything until the server closes (or ``limit`` seconds pass: then what came so far)."""
    out = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not data:
            return out
        out += data
    raise TimeoutError(f"the server did not close within {limit} s (got {out[:80]!r})")


def get(path: str = "/ping", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


def upgrade(path: str = "/echo", extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return get(path, f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     f"Sec-WebSocket-Version: 13\r\n{extra}")


def frame(opcode: int, payload: bytes, length: int | None = None) -> bytes:
    """A masked client frame (FIN set); ``length`` may claim more payload than follows."""
    n = len(payload) if length is None else length
    header = bytes([0x80 | opcode])
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_code(data: bytes) -> int | None:
    """The code of the first close frame among server frames in ``data`` (unmasked), or None."""
    i = 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = struct.unpack("!H", data[i:i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", data[i:i + 8])[0], i + 8
        if opcode == 0x8:
            return int(struct.unpack("!H", data[i:i + 2])[0])
        i += n
    return None
