"""uvicorn's sans-I/O WebSocket protocol (on the ``websockets`` library), held to ``ConnectionLimits``.

What it adds to uvicorn's: a handshake the ``websockets`` parser rejects is answered 400 (uvicorn
would hold it unanswered forever), and so are frames sent before the handshake's answer that break a
limit (uvicorn would fail an assertion and drop the connection with a traceback); the app must
accept within a deadline; pings and pongs from the
client are rate-limited as they are parsed (each ping costs a pong write) and past the rate the
connection closes 1008;
while the connection's unsent bytes are above the high-water mark the server stops reading from it
(so a client that sends and never reads cannot grow the server by its upload), and one stalled too
long is dropped. The message size cap is uvicorn's ``ws_max_size``, set from the limits, and tighter on the room route.
"""

from __future__ import annotations

import asyncio
from asyncio.transports import BaseTransport
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from layerw.server.head import Refusal
from layerw.server.limits import ConnectionLimits, ConnectionTable

CLOSE_POLICY = 1008
ROOMS = "/rooms/"  # the room route, whose messages are all small


class ThrottledServerProtocol(ServerProtocol):
    """websockets' server protocol with a token bucket on the client's pings and pongs: it answers each
    ping with a pong as it parses it, so the rate must be checked there, before the pong is queued."""

    def __init__(self, limits: ConnectionLimits, clock: Callable[[], float], **options: Any) -> None:
        super().__init__(**options)
        self.limits, self.clock = limits, clock
        self.tokens = float(limits.ws_control_burst)
        self.refilled = clock()

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.PING, Opcode.PONG) and not self.take_token():
            self.fail(CLOSE_POLICY, "too many pings")
            raise ProtocolError("too many pings")  # stops the parser; uvicorn sends the close above and hangs up
        super().recv_frame(frame)

    def take_token(self) -> bool:
        now = self.clock()
        refill = (now - self.refilled) * self.limits.ws_control_per_second
        self.tokens = min(float(self.limits.ws_control_burst), self.tokens + refill)
        self.refilled = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.table = ConnectionTable.of(config)
        self.limits = self.table.limits
        self.conn = ThrottledServerProtocol(self.limits, self.loop.time, extensions=self.conn.available_extensions,
                                            max_size=config.ws_max_size, logger=self.conn.logger)
        self.write_blocked = False
        self.handshake_timer: asyncio.TimerHandle | None = None
        self.stall_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        self.handshake_timer = self.loop.call_later(self.limits.handshake_timeout_s, self.handshake_timed_out)

    def handle_connect(self, event: Request) -> None:
        if event.path.startswith(ROOMS):
            self.conn.max_message_size = self.limits.ws_max_room_message_bytes
        super().handle_connect(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self.table.release(self.transport)
        self.stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.handshake_exc is not None and not self.handshake_initiated and not self.transport.is_closing():
            self.refuse(Refusal(400, f"bad WebSocket handshake: {self.conn.handshake_exc.__cause__ or self.conn.handshake_exc}"))

    def handle_parser_exception(self) -> None:
        if self.conn.close_sent is None:  # it failed before the handshake was answered: no close frame can go yet
            self.refuse(Refusal(400, f"WebSocket frames before the handshake's answer broke a limit: {self.conn.parser_exc}"))
            return
        super().handle_parser_exception()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None

    async def receive(self) -> ASGIReceiveEvent:  # uvicorn's, but reading stays paused while writes are blocked
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            if not self.write_blocked:
                self.transport.resume_reading()
        return message

    def pause_writing(self) -> None:
        super().pause_writing()
        self.write_blocked = True
        self.transport.pause_reading()
        if self.stall_timer is None:
            self.stall_timer = self.loop.call_later(self.limits.write_stall_s, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        self.write_blocked = False
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def handshake_timed_out(self) -> None:
        self.handshake_timer = None
        if not self.handshake_complete and not self.transport.is_closing():
            self.refuse(Refusal(503, f"the WebSocket was not accepted within {self.limits.handshake_timeout_s:g} s"))

    def refuse(self, refusal: Refusal) -> None:
        """Answer the handshake with ``refusal`` and close."""
        self.handshake_complete = self.close_sent = True
        self.disconnected = True  # an app still starting finds the client gone (uvicorn ends it quietly)
        self.stop_timers()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
        self.transport.write(refusal.response())
        self.transport.close()

    def stop_timers(self) -> None:
        for timer in (self.handshake_timer, self.stall_timer):
            if timer is not None:
                timer.cancel()
        self.handshake_timer = self.stall_timer = None
