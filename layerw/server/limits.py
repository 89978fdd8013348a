"""Connection limits: what one peer, and all peers together, may hold of a server process.

``ConnectionLimits`` is the operator's dial (every field says what it protects); ``ConnectionTable``
is the book of open connections those limits bound, per client address and in all, and of the rate
at which each address opens new ones. Both are wired
into uvicorn by ``layerw.server.run`` (its HTTP and WebSocket protocols, ``http_protocol.py`` and
``ws_protocol.py``), so ``layerw serve`` and ``layerw edge`` get the same ones.

A connection's address is its peer's, unless the peer is a trusted proxy (``--trusted-proxies``):
then it counts only in the total until its request head names the client (X-Forwarded-For, read as
uvicorn's proxy-headers middleware reads it), and from then on against that client's address.
"""

from __future__ import annotations

import resource
from collections import Counter
from dataclasses import dataclass, field

import uvicorn
from uvicorn.middleware.proxy_headers import _TrustedHosts

from layerw.server.bans import Bans
from layerw.session.allowance import Allowance
from layerw.session.protocol import MAX_CLIENT_MESSAGE

FD_RESERVE = 64  # descriptors kept for everything but client connections: files, the store, redis, logs


def descriptor_budget() -> int:
    """Connections this process can hold and still open its own files: the soft descriptor limit
    less ``FD_RESERVE`` (at least 16)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, (soft if soft != resource.RLIM_INFINITY else 65536) - FD_RESERVE)


@dataclass(frozen=True)
class ConnectionLimits:
    """Per-connection and per-process limits, enforced below the app (in the protocol handlers)."""

    max_connections: int = field(default_factory=descriptor_budget)
    """Open connections in all. Protects the descriptor table: past it accept() fails and every route
    with it; further connections get a 503 and are closed at once."""
    max_connections_per_address: int = 64
    """Open connections from one client address. Protects everyone else's share of ``max_connections``
    (a browser tab needs a handful; a household or school behind one NAT needs more)."""
    new_connections_per_second: float = 20.0
    """New connections one client address may open per second, sustained (a token bucket). Protects the
    event loop: each connection costs an accept, a parse and often a WebSocket handshake and an app task
    before any per-route limit sees it, so one past the rate is answered 503 at once, parsed not at all."""
    new_connection_burst: int = 100
    """New connections one address may open at once above the rate (a page loading, players reconnecting)."""
    addresses: int = 10_000
    """Client addresses whose connection rate is remembered (least recently seen forgotten first):
    bounds the table's own memory against floods from many addresses."""
    request_timeout_s: float = 10.0
    """Seconds a request's head and body may take to arrive, from the moment the server waits for it.
    Protects against slowloris and silent connections (answered 408, or closed if nothing came)."""
    idle_timeout_s: int = 5
    """Seconds a kept-alive HTTP connection may wait for its next request (uvicorn's keep-alive)."""
    handshake_timeout_s: float = 10.0
    """Seconds from a WebSocket upgrade request to the app's accept. Protects against upgrades the app
    never answers holding a connection."""
    max_request_line_bytes: int = 4096
    """Request line (method, target, version). Longer is answered 414 and closed."""
    max_head_bytes: int = 16384
    """Request line and headers together. Longer is answered 431 and closed; protects memory per
    connection and the WebSocket handshake parser (which would otherwise never answer)."""
    max_headers: int = 100
    """Header lines in one request. More is answered 431 and closed."""
    ws_max_room_message_bytes: int = 2 * MAX_CLIENT_MESSAGE
    """Largest message a client may send on a room's WebSocket (``/rooms/...``; no protocol message
    exceeds MAX_CLIENT_MESSAGE). A bigger frame closes the connection (1009) as soon as its header
    arrives, before its payload is buffered."""
    ws_max_message_bytes: int = 1 << 20
    """Largest WebSocket message on any other route (uvicorn's own default is 16 MiB)."""
    ws_control_per_second: float = 4.0
    """WebSocket pings and pongs a client may send per second (averaged by a token bucket). Each ping
    makes the server write a pong: past the rate the connection is closed (1008)."""
    ws_control_burst: int = 16
    """Control frames allowed at once above the rate."""
    ws_ping_interval_s: float = 20.0
    """Seconds between the server's keep-alive pings: a WebSocket peer that vanished is noticed."""
    ws_ping_timeout_s: float = 20.0
    """Seconds a keep-alive ping may wait for its pong before the connection is closed (1011)."""
    write_high_water_bytes: int = 64 * 1024
    """Bytes a connection may have waiting to be written. Above it the server stops reading from that
    peer until it reads: a client that sends and never reads cannot grow the server by its upload."""
    write_stall_s: float = 30.0
    """Seconds a connection's writes may stay above the high-water mark before it is dropped: a peer
    that stopped reading holds its buffers no longer."""
    refusals_per_second: float = 20.0
    """Connections from one address that may be refused per second, sustained (a token bucket): an
    address past it is banned (``bans.py``). Protects the event loop from a flood that is all
    refusals, each still an accept, a 503 and a close."""
    refusal_burst: int = 200
    """Refusals one address may meet at once above the rate (a page reloading against a full server)."""
    ban_s: float = 10.0
    """Seconds a banned address is refused for: on Linux the kernel drops its SYNs, so it is never
    accepted; its clients back off as after a lost SYN."""
    max_banned_addresses: int = 256
    """Addresses banned at once. Past it, a new offender is refused one connection at a time."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"connection limit {name} must be positive, not {value!r}")
        if self.max_request_line_bytes > self.max_head_bytes:
            raise ValueError("max_request_line_bytes cannot exceed max_head_bytes")


class ConnectionTable:
    """Open connections by transport, counted per client address (None: a trusted proxy's connection
    whose client is not known yet) and in all."""

    def __init__(self, limits: ConnectionLimits, trusted_proxies: list[str] | str | None) -> None:
        self.limits = limits
        self.trusted = _TrustedHosts(trusted_proxies) if trusted_proxies is not None else None
        self._address: dict[object, str | None] = {}
        self._per_address: Counter[str] = Counter()
        self.arrivals = Allowance(limits.new_connections_per_second, limits.new_connection_burst, limits.addresses)
        self.refusals = Allowance(limits.refusals_per_second, limits.refusal_burst, limits.addresses)
        self.bans = Bans(limits.max_banned_addresses)

    @classmethod
    def of(cls, config: uvicorn.Config) -> ConnectionTable:
        """The table a server's config carries (``layerw.server.run.ServerConfig``)."""
        table = getattr(config, "connections", None)
        if not isinstance(table, cls):
            raise TypeError("Layer-W's protocols need layerw.server.run.config(...), which carries the connection limits")
        return table

    def is_trusted(self, host: str) -> bool:
        return self.trusted is not None and host in self.trusted

    def admit(self, transport: object, peer: str) -> str | None:
        """Count a new connection; the reason it is refused, or None."""
        address = None if self.is_trusted(peer) else peer
        self.bans.lift_expired()
        if address is not None and address in self.bans:
            return "your address is banned for a while: too many refused connections"
        reason = self._refusal(address)
        if reason is not None:
            if address is not None and not self.refusals.take(address):
                self.bans.ban(address, self.limits.ban_s)
            return reason
        self._address[transport] = address
        if address is not None:
            self._per_address[address] += 1
        return None

    def _refusal(self, address: str | None) -> str | None:
        if len(self._address) >= self.limits.max_connections:
            return "the server is at its connection limit; try again soon"
        return None if address is None else self._address_refusal(address)

    def _address_refusal(self, address: str) -> str | None:
        """Why one more connection from ``address`` is refused (taking one arrival), or None."""
        if self._per_address[address] >= self.limits.max_connections_per_address:
            return "too many connections from your address"
        if not self.arrivals.take(address):
            return "too many new connections from your address: slow down"
        return None

    def client_of(self, peer: str, forwarded_for: str | None) -> str:
        """The client a request from ``peer`` speaks for: X-Forwarded-For's when the peer is trusted."""
        if forwarded_for is None or self.trusted is None or peer not in self.trusted:
            return peer
        return self.trusted.get_trusted_client_address(forwarded_for)[0]

    def rekey(self, transport: object, address: str) -> str | None:
        """Count ``transport`` against ``address`` from now on; the reason it is refused, or None."""
        if transport not in self._address or self._address[transport] == address:
            return None
        refusal = self._address_refusal(address)
        if refusal is not None:
            return refusal
        self.release(transport)
        self._address[transport] = address
        self._per_address[address] += 1
        return None

    def release(self, transport: object) -> None:
        """Forget a closed connection (again: nothing)."""
        if transport not in self._address:
            return
        address = self._address.pop(transport)
        if address is not None:
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]

    def open(self, address: str | None = None) -> int:
        """Connections open from ``address``, or in all."""
        return len(self._address) if address is None else self._per_address[address]
