"""Address bans: an address that keeps being refused is refused for a while, on Linux by the kernel
before accept (a socket filter on the listening socket), and only that address."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from layerw.server.bans import Bans, parse, program
from layerw.server.limits import ConnectionLimits, ConnectionTable
from tests.server_thread import running
from tests.waiting import wait_until

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="socket filters are Linux's")


def _listener(family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(16)
    return sock


def _connects(listener: socket.socket, source: str | None) -> bool:
    """Whether a connection from ``source`` to ``listener`` completes its handshake (a dropped SYN is
    retried by the kernel after a second: the 0.5 s timeout sees only the first)."""
    family, host, port = listener.family, *listener.getsockname()[:2]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        if source is not None:
            s.bind((source, 0))
        try:
            s.connect((host, port))
        except TimeoutError:
            return False
        listener.accept()[0].close()
        return True


@linux_only
def test_the_kernel_drops_a_banned_addresss_syns_and_no_one_elses() -> None:
    bans = Bans(max_addresses=4)
    with _listener() as listener:
        assert bans.attach(listener)
        assert _connects(listener, "127.0.0.66")
        assert bans.ban("127.0.0.66", 60)
        assert not _connects(listener, "127.0.0.66")
        assert _connects(listener, "127.0.0.1")
        assert bans.lift_expired(time.monotonic() + 61) == 1
        assert _connects(listener, "127.0.0.66")


@linux_only
def test_ipv6_bans_compare_all_sixteen_bytes() -> None:
    try:
        listener = _listener(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with listener:
        bans = Bans(max_addresses=4)
        assert bans.attach(listener)
        bans.ban("::2", 60)  # differs from ::1 in the last byte only
        bans.ban("127.0.0.66", 60)
        assert _connects(listener, None)
        bans.ban("::1", 60)
        assert not _connects(listener, None)


def test_the_program_has_one_short_jump_per_compare() -> None:
    addresses = [parse(f"10.0.{i // 256}.{i % 256}") for i in range(300)] + [parse(f"2001:db8::{i:x}") for i in range(50)]
    insns = program([a for a in addresses if a is not None])
    assert len(insns) == 7 + 1 + 2 * 300 + 1 + 9 * 50 + 1
    assert len(insns) < 4096
    assert all(jt <= 7 and jf <= 7 for _, jt, jf, _ in insns)


def test_what_is_banned() -> None:
    bans = Bans(max_addresses=2)
    assert parse("::ffff:127.0.0.66") == parse("127.0.0.66")  # a dual-stack socket's view of an IPv4 peer
    assert not bans.ban("/tmp/layerw.sock", 60)  # a Unix socket's peer: no address to ban
    assert bans.ban("10.0.0.1", 60, now=0.0) and not bans.ban("10.0.0.1", 60, now=0.0)
    assert bans.ban("10.0.0.2", 90, now=0.0)
    assert not bans.ban("10.0.0.3", 60, now=0.0)  # full: refused one connection at a time instead
    assert bans.lift_expired(now=59.0) == 0 and bans.lift_expired(now=60.0) == 1
    assert "10.0.0.1" not in bans and "10.0.0.2" in bans


def test_an_address_refused_past_its_burst_is_banned_and_only_it() -> None:
    limits = ConnectionLimits(max_connections_per_address=1, refusals_per_second=0.001, refusal_burst=3, ban_s=60)
    table = ConnectionTable(limits, None)
    assert table.admit(object(), "10.0.0.9") is None
    reasons = [table.admit(object(), "10.0.0.9") for _ in range(4)]
    assert reasons[:3] == ["too many connections from your address"] * 3
    assert reasons[3] == "too many connections from your address"  # the refusal that ran the bucket out bans
    assert "10.0.0.9" in table.bans
    assert table.admit(object(), "10.0.0.9") == "your address is banned for a while: too many refused connections"
    assert table.admit(object(), "10.0.0.10") is None


@linux_only
def test_a_server_bans_a_flooding_address_and_lifts_it_on_time() -> None:
    limits = ConnectionLimits(new_connections_per_second=0.001, new_connection_burst=2, refusals_per_second=0.001,
                              refusal_burst=5, ban_s=1.0)
    with running(object(), limits=limits) as server:
        table = ConnectionTable.of(server.config)
        port = server.config.port
        opened = []
        for _ in range(8):  # 2 admitted, 5 refused, the 6th refusal bans
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.66", 0))
            opened.append(s)
            if "127.0.0.66" in table.bans:
                break
        wait_until(lambda: "127.0.0.66" in table.bans, "the flooding address is banned")
        with socket.socket() as probe:  # the kernel drops its SYN: no handshake within the timeout
            probe.settimeout(0.5)
            probe.bind(("127.0.0.66", 0))
            with pytest.raises(TimeoutError):
                probe.connect(("127.0.0.1", port))
        with socket.create_connection(("127.0.0.1", port), timeout=2):  # everyone else still gets in
            pass
        wait_until(lambda: "127.0.0.66" not in table.bans, "the ban lifts by itself (nobody else connecting)")
        with socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.66", 0)):
            pass
        for s in opened:
            s.close()
