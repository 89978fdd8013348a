"""The WebSocket side of the connection limits, against a real uvicorn server on loopback: message
size, ping rate, read backpressure while writes are blocked, the handshake deadline and answer."""

from __future__ import annotations

import socket
import time

import pytest

from layerw.server.limits import ConnectionLimits
from layerw.session.protocol import MAX_CLIENT_MESSAGE
from tests.server import hostile
from tests.server_thread import serving

PING, BINARY = 0x9, 0x2


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_a_frame_over_the_message_limit_closes_1009_before_its_payload_arrives() -> None:
    assert ConnectionLimits().ws_max_room_message_bytes >= MAX_CLIENT_MESSAGE
    with serving(hostile.app()) as url, hostile.Sockets(_port(url)) as sockets:
        ws = sockets.websocket("/rooms/echo")
        ws.sendall(hostile.frame(BINARY, b"x" * MAX_CLIENT_MESSAGE))
        assert len(ws.recv(1024)) >= MAX_CLIENT_MESSAGE  # the largest protocol message is echoed
        ws.sendall(hostile.frame(BINARY, b"x" * 1000, length=16 << 20))  # claims 16 MiB, sends 1000 bytes
        assert hostile.close_code(hostile.read_all(ws)) == 1009


def test_a_ping_flood_is_closed_1008() -> None:
    with serving(hostile.app()) as url, hostile.Sockets(_port(url)) as sockets:
        ws = sockets.websocket()
        ws.sendall(b"".join(hostile.frame(PING, b"p" * 125) for _ in range(200)))
        answer = hostile.read_all(ws)
        assert hostile.close_code(answer) == 1008
        assert answer.count(b"\x8a\x7d") <= ConnectionLimits().ws_control_burst  # pongs for the burst, no more


def test_a_client_that_never_reads_stops_being_read_and_is_dropped_when_stalled() -> None:
    limits = ConnectionLimits(ws_control_per_second=1e9, ws_control_burst=10**9, write_high_water_bytes=16384,
                              write_stall_s=1.0)
    with serving(hostile.app(), limits=limits) as url, hostile.Sockets(_port(url)) as sockets:
        ws = sockets.websocket()
        ws.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        ws.setblocking(False)
        pings = b"".join(hostile.frame(PING, b"p" * 125) for _ in range(2000))  # 262 KB a batch
        sent, last_progress, t0 = 0, time.monotonic(), time.monotonic()
        while time.monotonic() - last_progress < 2.0 and sent < 64 << 20 and time.monotonic() - t0 < 20:
            try:
                n = ws.send(pings)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            except OSError:
                break  # dropped
            sent += n
            last_progress = time.monotonic()
        # without backpressure the server reads all 64 MB and queues as many pongs; with it, the
        # kernel's buffers on both sides are all a non-reader fills
        assert sent < 24 << 20, f"{sent:,} bytes of pings were taken from a client that reads nothing"
        ws.setblocking(True)
        ws.settimeout(5.0)
        dropped = False
        try:
            while ws.recv(65536):
                pass
            dropped = True
        except ConnectionResetError:
            dropped = True
        assert dropped


def test_a_websocket_the_app_never_accepts_gets_503() -> None:
    with serving(hostile.app(), limits=ConnectionLimits(handshake_timeout_s=0.5)) as url, \
            hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        t0 = time.monotonic()  # before the upgrade: the server's handshake clock starts after it
        s.sendall(hostile.upgrade("/never"))
        # The 503 says it is the handshake deadline's; it comes no sooner than that deadline, and read_all
        # fails one never answered (no upper bound on a loaded machine's timer beyond that).
        answer = hostile.read_all(s, 15.0)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"not accepted within 0.5 s" in answer, answer
        assert time.monotonic() - t0 >= 0.5 - hostile.TIMER_GRAIN_S  # libuv's millisecond clock (as for HTTP's deadlines)


def test_a_handshake_the_websocket_parser_rejects_is_answered_400() -> None:
    many = "".join(f"X-{i}: x\r\n" for i in range(140))  # websockets allows 128 headers; uvicorn never answered
    with serving(hostile.app(), limits=ConnectionLimits(max_headers=200)) as url, hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        s.sendall(hostile.upgrade(extra=many))
        assert hostile.read_all(s).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("frames", [b"".join(hostile.frame(PING, b"p" * 125) for _ in range(200)),
                                    hostile.frame(BINARY, b"x" * 1000, length=16 << 20)], ids=["ping-flood", "oversized"])
def test_frames_that_break_a_limit_before_the_handshake_is_answered_get_400(frames: bytes) -> None:
    with serving(hostile.app()) as url, hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        s.sendall(hostile.upgrade("/rooms/slow") + frames)  # all at once, before the app accepts
        assert hostile.read_all(s).startswith(b"HTTP/1.1 400 ")  # answered and closed, not dropped unanswered
        ws = sockets.websocket("/rooms/slow")  # and the server goes on serving
        ws.sendall(hostile.frame(BINARY, b"hello"))
        assert ws.recv(64).endswith(b"hello")


def test_a_frame_sent_with_the_upgrade_reaches_the_app() -> None:
    with serving(hostile.app()) as url, hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        s.sendall(hostile.upgrade("/rooms/echo") + hostile.frame(BINARY, b"early"))  # one write: one read on the server
        answer = b""
        while not answer.endswith(b"early"):
            answer += s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101 ")
