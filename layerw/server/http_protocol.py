"""uvicorn's h11 HTTP protocol, held to ``ConnectionLimits``, behind a ``Gate``.

What it adds to uvicorn's: connections counted (``ConnectionTable``) and refused with a 503 past
the caps, by the ``Gate`` every accepted connection meets first (a flood from one address costs the
loop a small object, a lookup, one write and a close per connection: no h11 state machine, no
uvicorn set-up; one admitted is handed to an ``HttpProtocol``); each request's head checked before
h11 parses it (414, 431, or 400 for ambiguous framing, then closed); a deadline for every request's
head and body (408); a deadline for a peer that stops reading while a response waits; bytes a client
sent behind a WebSocket upgrade handed to the WebSocket protocol with the request (uvicorn drops
them, so their limits went unchecked). Everything else is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from layerw.server import head
from layerw.server.limits import ConnectionTable

AWAITING = (h11.IDLE, h11.SEND_BODY)  # their states while a request is still arriving


class HttpProtocol(H11Protocol):
    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.table = ConnectionTable.of(config)
        self.limits = self.table.limits
        self.request_timer: asyncio.TimerHandle | None = None
        self.stall_timer: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Set up a connection the ``Gate`` admitted (it counts in the table already)."""
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=self.limits.write_high_water_bytes)
        self.await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.table.release(self.transport)
        self.stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.refused:
            super().data_received(data)

    def handle_events(self) -> None:
        if self.conn.their_state is h11.IDLE:
            checked = head.check(self.conn.trailing_data[0], self.limits)
            if isinstance(checked, head.Refusal):
                self.refuse(checked)
                return
            if checked is not None and self.client is not None:
                address = self.table.client_of(self.client[0], checked.forwarded_for)
                reason = self.table.rekey(self.transport, address)
                if reason is not None:
                    self.refuse(head.Refusal(503, reason))
                    return
        super().handle_events()
        if self.conn.their_state not in AWAITING and self.request_timer is not None:
            self.request_timer.cancel()
            self.request_timer = None

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self.stop_timers()  # the WebSocket protocol takes over the connection (and its slot in the table)
        early = self.conn.trailing_data[0]  # frames the client sent behind its upgrade, without waiting for the 101
        super().handle_websocket_upgrade(event)
        if early:  # uvicorn hands over the request alone: these would be lost, and the stream read out of step
            self.transport.get_protocol().data_received(early)  # type: ignore[attr-defined]

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self.await_request()
        super().on_response_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.stall_timer is None:
            self.stall_timer = self.loop.call_later(self.limits.write_stall_s, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None

    def await_request(self) -> None:
        """Start the clock on the next request's head and body."""
        if self.request_timer is not None:
            self.request_timer.cancel()
        self.request_timer = self.loop.call_later(self.limits.request_timeout_s, self.request_timed_out)

    def request_timed_out(self) -> None:
        self.request_timer = None
        if self.transport.is_closing() or self.conn.their_state not in AWAITING:
            return
        if self.cycle is not None and self.cycle.response_started and not self.cycle.response_complete:
            self.transport.close()  # a response is under way: no room for a 408
        elif self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
            self.transport.close()  # nothing of a request came: nobody to answer
        else:
            self.refuse(head.Refusal(408, f"request not received within {self.limits.request_timeout_s:g} s"))

    def refuse(self, refusal: head.Refusal) -> None:
        """Answer ``refusal`` and close; nothing more is read from this connection."""
        self.refused = True
        self.stop_timers()
        if self.cycle is not None:
            self.cycle.disconnected = True  # the app, if one runs, writes nothing after this
        self.logger.info("%s refused: %d %s", self.client[0] if self.client else "?", refusal.status, refusal.reason)
        self.transport.write(refusal.response())
        self.transport.close()

    def stop_timers(self) -> None:
        for timer in (self.request_timer, self.stall_timer):
            if timer is not None:
                timer.cancel()
        self.request_timer = self.stall_timer = None


class Gate(asyncio.Protocol):
    """The protocol every accepted connection meets first: it admits the connection (``ConnectionTable``)
    and hands it to an ``HttpProtocol``, or answers 503 and closes it. Built per connection by
    uvicorn's protocol factory, so it keeps only what it is given: a refusal builds nothing more."""

    __slots__ = ("config", "server_state", "app_state", "loop")

    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.config, self.server_state, self.app_state, self.loop = config, server_state, app_state, _loop

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) else ""
        reason = ConnectionTable.of(self.config).admit(transport, host)
        if reason is not None:
            if _log.isEnabledFor(logging.INFO):
                _log.info("%s refused: 503 %s", host or "?", reason)
            transport.write(_refusal(reason))
            transport.close()
            return
        protocol = HttpProtocol(self.config, self.server_state, self.app_state, self.loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


_log = logging.getLogger("uvicorn.error")  # where uvicorn's protocols log


@functools.lru_cache(maxsize=16)  # a handful of reasons: the answer is built once each
def _refusal(reason: str) -> bytes:
    return head.Refusal(503, reason).response()
