"""The HTTP side of the connection limits, against a real uvicorn server on loopback: caps per
address and in all, the request deadline, head sizes and ambiguous framing."""

from __future__ import annotations

import select
import socket
import time

import pytest
import uvicorn

from layerw.server.limits import ConnectionLimits, ConnectionTable
from tests.server import hostile
from tests.server_thread import running, serving
from tests.waiting import wait_until


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _table(server: uvicorn.Server) -> ConnectionTable:
    return ConnectionTable.of(server.config)


def _has_data(s: socket.socket) -> bool:
    """Something (a refusal: the server says nothing unasked otherwise) waits to be read on ``s``."""
    return bool(select.select([s], [], [], 0)[0])


def test_caps_per_address_and_in_all_refuse_with_503_and_free_up_on_close() -> None:
    limits = ConnectionLimits(max_connections=5, max_connections_per_address=3)
    with running(hostile.app(), limits=limits, forwarded_allow_ips="") as server, hostile.Sockets(server.config.port) as sockets:
        table = _table(server)
        held = [sockets.connect() for _ in range(3)]
        wait_until(lambda: table.open("127.0.0.1") == 3, "the server counts three connections from 127.0.0.1")
        refused = sockets.connect()
        assert hostile.read_all(refused).startswith(b"HTTP/1.1 503 ")  # a fourth from 127.0.0.1
        held += [sockets.connect("127.0.0.2") for _ in range(2)]
        wait_until(lambda: table.open() == 5, "the server counts five connections in all")
        full = sockets.connect("127.0.0.3")
        assert b"connection limit" in hostile.read_all(full)  # the sixth in all, from a fresh address
        held[0].close()
        wait_until(lambda: table.open() == 4, "the server forgets the closed connection")
        admitted = sockets.connect()
        admitted.sendall(hostile.get(extra="Connection: close\r\n"))
        assert hostile.read_all(admitted).startswith(b"HTTP/1.1 200 ")



def test_new_connections_past_an_addresss_rate_are_refused_at_accept_and_others_are_not() -> None:
    # A token every 2 s: the six below, each waited on in turn, fit in that on a loaded machine (at 2 a second
    # they did not always, and the fifth found the token the rate had made meanwhile).
    limits = ConnectionLimits(new_connections_per_second=0.5, new_connection_burst=4)
    with running(hostile.app(), limits=limits, forwarded_allow_ips="") as server, hostile.Sockets(server.config.port) as sockets:
        table = _table(server)
        answers = []
        for _ in range(6):  # each opened and finished in turn: never more than one open at once
            s = sockets.connect("127.0.0.66")
            wait_until(lambda s=s: table.open("127.0.0.66") == 1 or _has_data(s), "the gate admits or refuses the connection")
            if not _has_data(s):  # a refusal comes at once, unasked (asking after it would be reset)
                s.sendall(hostile.get(extra="Connection: close\r\n"))
            answers.append(hostile.read_all(s)[:12])
            wait_until(lambda: table.open("127.0.0.66") == 0, "the server forgets the finished connection")
        assert answers[:4] == [b"HTTP/1.1 200"] * 4  # the burst
        assert b"HTTP/1.1 503" in answers[4:]  # past it and the rate, refused before any parsing
        other = sockets.connect("127.0.0.2")  # another address has its own allowance
        other.sendall(hostile.get(extra="Connection: close\r\n"))
        assert hostile.read_all(other).startswith(b"HTTP/1.1 200 ")
        time.sleep(2.0)  # the rate refills (a token in 2 s: the earliest it can, however loaded the machine)
        again = sockets.connect("127.0.0.66")
        again.sendall(hostile.get(extra="Connection: close\r\n"))
        assert hostile.read_all(again).startswith(b"HTTP/1.1 200 ")

def test_a_trusted_proxys_connections_count_against_the_client_it_forwards() -> None:
    limits = ConnectionLimits(max_connections=50, max_connections_per_address=2)
    with running(hostile.app(), limits=limits, forwarded_allow_ips="127.0.0.1") as server, \
            hostile.Sockets(server.config.port) as sockets:
        for _ in range(4):
            sockets.connect()  # the proxy itself is not capped per address
        wait_until(lambda: _table(server).open() == 4, "the server admits the proxy's four connections")
        forwarded = []
        for _ in range(2):
            s = sockets.connect()
            s.sendall(hostile.get(extra="X-Forwarded-For: 10.0.0.1\r\n"))
            assert s.recv(100).startswith(b"HTTP/1.1 200 ")
            forwarded.append(s)
        third = sockets.connect()
        third.sendall(hostile.get(extra="X-Forwarded-For: 10.0.0.1\r\n"))
        assert hostile.read_all(third).startswith(b"HTTP/1.1 503 ")
        other = sockets.connect()
        other.sendall(hostile.get(extra="X-Forwarded-For: 10.0.0.2\r\nConnection: close\r\n"))
        assert hostile.read_all(other).startswith(b"HTTP/1.1 200 ")


def test_silent_slow_and_idle_connections_are_closed_on_time() -> None:
    limits = ConnectionLimits(request_timeout_s=0.6, idle_timeout_s=1)
    with serving(hostile.app(), limits=limits) as url, hostile.Sockets(_port(url)) as sockets:
        # Each close is timed from before the connection (the server's clock on it starts after that): it comes
        # no sooner than its deadline, and read_all's limit fails a connection left open. No upper bound on a
        # loaded machine's timer beyond that: the 408 says which deadline closed the slow one.
        t0 = time.monotonic()
        silent = sockets.connect()
        assert hostile.read_all(silent, 15.0) == b""  # nothing came: closed without an answer
        assert time.monotonic() - t0 >= 0.6 - hostile.TIMER_GRAIN_S

        t0 = time.monotonic()
        slow = sockets.connect()
        slow.sendall(b"GET /ping HTTP/1.1\r\n")
        while time.monotonic() - t0 < 15.0:  # slowloris: a header line every 0.1 s, never the end
            try:
                slow.sendall(b"X-a: b\r\n")
            except OSError:
                break
            if _has_data(slow):
                break
            time.sleep(0.1)
        assert hostile.read_all(slow).startswith(b"HTTP/1.1 408 ")  # the request's deadline, not a quiet spell's
        assert time.monotonic() - t0 >= 0.6 - hostile.TIMER_GRAIN_S

        idle = sockets.connect()
        t0 = time.monotonic()
        idle.sendall(hostile.get())
        assert hostile.read_all(idle, 15.0).startswith(b"HTTP/1.1 200 ")  # then kept alive, then closed
        # the next request's deadline (or the 1 s idle one) after the answer
        assert time.monotonic() - t0 >= 0.6 - hostile.TIMER_GRAIN_S


@pytest.mark.parametrize(("request_bytes", "status"), [
    (hostile.get("/ping?" + "a" * 5000), b"414"),
    (hostile.get(extra="X-Big: " + "b" * 20000 + "\r\n"), b"431"),
    (hostile.get(extra="".join(f"X-{i}: x\r\n" for i in range(120))), b"431"),
    (hostile.upgrade("/echo?" + "a" * 9000), b"414"),  # uvicorn held this one unanswered, forever
    (b"POST /ping HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"400"),
])
def test_bad_heads_are_answered_and_closed(request_bytes: bytes, status: bytes) -> None:
    with serving(hostile.app()) as url, hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        s.sendall(request_bytes)
        answer = hostile.read_all(s)  # read_all raises if the connection stays open
        assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:100]


def test_a_head_trickled_past_the_size_limit_is_answered_431() -> None:
    limits = ConnectionLimits(max_head_bytes=2048, max_request_line_bytes=1024)
    with serving(hostile.app(), limits=limits) as url, hostile.Sockets(_port(url)) as sockets:
        s = sockets.connect()
        s.sendall(b"GET /ping HTTP/1.1\r\n")
        for _ in range(40):
            try:
                s.sendall(b"X-Pad: " + b"p" * 90 + b"\r\n")
            except OSError:
                break
        assert hostile.read_all(s).startswith(b"HTTP/1.1 431 ")


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="request_timeout_s"):
        ConnectionLimits(request_timeout_s=0)
    with pytest.raises(ValueError, match="max_request_line_bytes"):
        ConnectionLimits(max_request_line_bytes=9000, max_head_bytes=8000)


def test_a_connection_past_the_rate_is_refused_before_uvicorn_sets_it_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate answers a refused connection itself: no h11 state machine or uvicorn protocol is made for it."""
    from uvicorn.protocols.http import h11_impl

    from layerw.server import http_protocol

    set_up: list[object] = []
    local_addr = h11_impl.get_local_addr
    monkeypatch.setattr(h11_impl, "get_local_addr", lambda transport: set_up.append(transport) or local_addr(transport))
    built: list[object] = []
    init = http_protocol.HttpProtocol.__init__

    def counted(self: http_protocol.HttpProtocol, *args: object, **kwargs: object) -> None:
        built.append(self)
        init(self, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(http_protocol.HttpProtocol, "__init__", counted)
    limits = ConnectionLimits(new_connections_per_second=0.01, new_connection_burst=2)
    with running(hostile.app(), limits=limits, forwarded_allow_ips="") as server, hostile.Sockets(server.config.port) as sockets:
        before = len(set_up)
        opened = [sockets.connect("127.0.0.66") for _ in range(6)]
        wait_until(lambda: _table(server).open("127.0.0.66") + sum(map(_has_data, opened)) == 6, "the gate meets all six")
        for s in opened[:2]:
            s.sendall(hostile.get(extra="Connection: close\r\n"))
        answers = [hostile.read_all(s)[:12] for s in opened]
        assert answers == [b"HTTP/1.1 200"] * 2 + [b"HTTP/1.1 503"] * 4  # the burst, then refusals
        assert len(set_up) - before == 2  # only the two admitted were set up
        assert len(built) == len(set_up)  # and only they got a protocol beyond the gate

