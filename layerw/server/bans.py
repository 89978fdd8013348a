"""Address bans: a client address that keeps being refused is refused for a while before it costs anything.

Each refused connection still costs the server its accept, a 503 and a close (~100 µs of a core); an
address that opens thousands a second keeps the event loop busy with nothing but refusals, and
everyone's join waits behind them. ``ConnectionTable`` counts each address's refusals in a token bucket
(``ConnectionLimits.refusals_per_second`` / ``refusal_burst``); one that runs out is banned for
``ban_s`` seconds.

A ban is kept in two places:

- here, so the table refuses the address before anything else (the cheap path, on every platform);
- on Linux, in the kernel: a classic BPF socket filter on the listening socket drops the banned
  addresses' SYNs, so they are never accepted at all and their clients back off as TCP does after a
  lost SYN (1 s, then 3 s ...). The filter is rebuilt and swapped in whole (``SO_ATTACH_FILTER``
  replaces the old one atomically) on each ban and lift. Accepted connections keep the filter of their
  moment of accept, which never names their own peer, so nobody already connected is cut.

At most ``max_addresses`` are banned at once (the filter's program stays far under the kernel's
4,096 instructions); past that a new offender is refused in the ordinary way, one connection at a time.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import logging
import socket
import sys
import time

log = logging.getLogger("layerw.server")

SO_ATTACH_FILTER = 26  # Linux's asm-generic/socket.h
_NET = 0xFFF00000  # SKF_NET_OFF (-0x100000): loads relative to the packet's network (IP) header
# BPF_LD|W|ABS, LD|B|ABS, ALU|RSH|K, JMP|JEQ|K, JMP|JA, RET|K (linux/filter.h)
_LD_W, _LD_B, _RSH, _JEQ, _JA, _RET = 0x20, 0x30, 0x74, 0x15, 0x05, 0x06
_ACCEPT, _DROP = 0xFFFFFFFF, 0

Insn = tuple[int, int, int, int]  # code, jt, jf, k: one struct sock_filter


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse(address: str) -> Address | None:
    """The address a packet from ``address`` carries in its IP header (IPv4-mapped IPv6 is IPv4 on the
    wire); None for what is not an IP address (a Unix socket's peer)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def program(addresses: list[Address]) -> list[Insn]:
    """A classic BPF program dropping packets whose source is one of ``addresses`` and accepting the rest.
    Every conditional jump is short (one instruction); version dispatch uses unconditional long jumps."""
    v4 = [a for a in addresses if isinstance(a, ipaddress.IPv4Address)]
    v6 = [a for a in addresses if isinstance(a, ipaddress.IPv6Address)]
    v4_block: list[Insn] = [(_LD_W, 0, 0, _NET + 12)]
    for four in v4:
        v4_block += [(_JEQ, 0, 1, int(four)), (_RET, 0, 0, _DROP)]
    v4_block.append((_RET, 0, 0, _ACCEPT))
    v6_block: list[Insn] = []
    for six in v6:
        words = [int.from_bytes(six.packed[i:i + 4], "big") for i in range(0, 16, 4)]
        for n, word in enumerate(words):  # a mismatch skips the rest of this address's compares and its drop
            v6_block += [(_LD_W, 0, 0, _NET + 8 + 4 * n), (_JEQ, 0, 2 * (3 - n) + 1, word)]
        v6_block.append((_RET, 0, 0, _DROP))
    v6_block.append((_RET, 0, 0, _ACCEPT))
    head: list[Insn] = [
        (_LD_B, 0, 0, _NET),  # version and header length
        (_RSH, 0, 0, 4),
        (_JEQ, 0, 1, 4), (_JA, 0, 0, 3),  # IPv4: to the v4 block
        (_JEQ, 0, 1, 6), (_JA, 0, 0, 1 + len(v4_block)),  # IPv6: past the v4 block
        (_RET, 0, 0, _ACCEPT),
    ]
    return head + v4_block + v6_block


def attach(sock: socket.socket, insns: list[Insn]) -> None:
    """Install ``insns`` as ``sock``'s socket filter, replacing any before it (Linux only; OSError elsewhere)."""
    if not sys.platform.startswith("linux"):
        raise OSError(f"socket filters are Linux's; this is {sys.platform}")
    filters = (_SockFilter * len(insns))(*(_SockFilter(*insn) for insn in insns))
    fprog = _SockFprog(len(insns), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))  # the kernel copies the program now


class Bans:
    """The addresses banned now and until when (monotonic seconds), and the listening sockets that
    drop their SYNs."""

    def __init__(self, max_addresses: int) -> None:
        self.max_addresses = max_addresses
        self._until: dict[str, float] = {}
        self._sockets: list[socket.socket] = []
        self.next_lift = float("inf")
        self._timer: asyncio.TimerHandle | None = None

    def attach(self, sock: socket.socket) -> bool:
        """Have ``sock`` (a listening socket) drop banned addresses' SYNs from now on; False, said in the
        log, where the platform has no socket filters (bans are then kept by the connection table alone)."""
        try:
            attach(sock, program(self._addresses()))
        except OSError as e:
            log.warning("banned addresses are refused after accept, not dropped by the kernel: %s", e)
            return False
        self._sockets.append(sock)
        return True

    def __contains__(self, address: str) -> bool:
        return address in self._until

    def ban(self, address: str, seconds: float, now: float | None = None) -> bool:
        """Ban ``address`` for ``seconds``; False when it is no IP address or ``max_addresses`` are banned."""
        if address in self._until or len(self._until) >= self.max_addresses or parse(address) is None:
            return False
        until = (time.monotonic() if now is None else now) + seconds
        self._until[address] = until
        self.next_lift = min(self.next_lift, until)
        log.warning("%s banned for %.0f s: too many refused connections", address, seconds)
        self._install()
        self._lift_later(seconds)
        return True

    def _lift_later(self, seconds: float) -> None:
        """On the server's loop, lift the bans when they are due: a banned address's own SYNs never reach
        the table, so without a timer its ban would end only when somebody else connects. One timer,
        set for the earliest ban's end."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a table used outside a server (tests): the next admit lifts it
            return

        def lift() -> None:
            self._timer = None
            self.lift_expired()
            if self._until:
                self._timer = loop.call_later(max(0.0, self.next_lift - time.monotonic()) + 0.01, lift)
        self._timer = loop.call_later(seconds + 0.01, lift)

    def lift_expired(self, now: float | None = None) -> int:
        """Lift the bans whose time is up; how many."""
        now = time.monotonic() if now is None else now
        if now < self.next_lift:
            return 0
        lifted = [a for a, until in self._until.items() if until <= now]
        for address in lifted:
            del self._until[address]
        self.next_lift = min(self._until.values(), default=float("inf"))
        if lifted:
            self._install()
        return len(lifted)

    def _addresses(self) -> list[Address]:
        return [ip for a in self._until if (ip := parse(a)) is not None]

    def _install(self) -> None:
        if not self._sockets:
            return
        insns = program(self._addresses())
        for sock in self._sockets:
            try:
                attach(sock, insns)
            except OSError as e:  # the socket closed under us (server shutting down): nothing to filter
                log.warning("could not update the listening socket's ban filter: %s", e)
