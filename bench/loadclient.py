"""A lean WebSocket client for load generators: websockets' sans-I/O protocol on a plain asyncio
Protocol, calling back on every binary message with no future, task or await per message.

Hundreds of players reading 60 frames a second each from one process on the same machine as the
server: the load generator must cost less than what it measures. (websockets' asyncio client
costs several times more per message; real clients live on other machines.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

HANDSHAKE_S = 10.0


class LoadClient(asyncio.Protocol):
    def __init__(self, uri: str, on_message: Callable[[LoadClient, bytes], None]) -> None:
        self.ws = ClientProtocol(parse_uri(uri))
        self.on_message = on_message
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def connect(cls, uri: str, on_message: Callable[[LoadClient, bytes], None], source: str | None = None) -> LoadClient:
        """Open ``uri`` (ws://host:port/path) and finish the handshake; ``source``: the local address to send from."""
        parsed = parse_uri(uri)
        _, client = await asyncio.get_running_loop().create_connection(
            lambda: cls(uri, on_message), parsed.host, parsed.port, local_addr=(source, 0) if source else None)
        try:
            await asyncio.wait_for(client.opened, HANDSHAKE_S)
        except BaseException:
            client.abort()
            raise
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport (uvloop's is not a subclass)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self.opened.set_exception(self.ws.handshake_exc)
                else:
                    self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.BINARY:
                self.on_message(self, bytes(event.data))
        self._flush()

    def send(self, data: bytes) -> None:
        self.ws.send_binary(data)
        self._flush()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.ws.send_close()
            self._flush()
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ws.receive_eof()
        if not self.opened.done():
            self.opened.set_result(None) if exc is None else self.opened.set_exception(exc)
        if not self.closed.done():
            self.closed.set_result(None)  # it ended; how is in self.ws (nobody need retrieve an error)
