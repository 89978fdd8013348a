"""In-memory connections to ``RoomHost.serve``: what a WebSocket would carry, without the network."""

from __future__ import annotations

import asyncio
from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import Limits, RoomHost
from tests.wat import bundle as wat_bundle
from tests.wat import contract_wat

WAIT_S = 10.0


class Connection:
    """One client: ``put`` sends it a message, ``next`` reads what the server sent it."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.received: list[bytes] = []
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed: tuple[int, str] | None = None
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> bytes:
        data = await self.inbox.get()
        if data is None:
            raise ConnectionError("client closed")
        return data

    async def _send(self, data: bytes) -> None:
        self.received.append(data)
        await self.outbox.put(data)

    async def _close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def open(self, host: RoomHost, game: str, room: str, peer: str = "local") -> Connection:
        self.task = asyncio.create_task(host.serve(game, room, self._receive, self._send, self._close, peer=peer))
        return self

    def put(self, data: bytes | None) -> None:
        self.inbox.put_nowait(data)

    async def next(self, kind: type[p.Welcome] | type[p.State] | type[p.Frame]) -> p.Welcome | p.State | p.Frame:
        """The next message of ``kind`` the server sent (others are skipped)."""
        while True:
            msg = p.decode_server(await asyncio.wait_for(self.outbox.get(), WAIT_S))
            if isinstance(msg, kind):
                return msg

    async def welcome(self, role: int = p.PLAYER, token: bytes = bytes(p.TOKEN_SIZE)) -> p.Welcome:
        self.put(p.hello(role, token))
        msg = await self.next(p.Welcome)
        assert isinstance(msg, p.Welcome)
        return msg

    async def ended(self) -> tuple[int, str]:
        """Wait for the server to close this connection; its (code, reason)."""
        assert self.task is not None
        await asyncio.wait_for(self.task, WAIT_S)
        assert self.closed is not None
        return self.closed


def wat_game(tmp: Path, name: str = "wat", tick: str = "") -> Bundle:
    """A tiny contract game (``tick`` is lw_tick's body; the tick number is at ``INPUT_TICK``)."""
    return wat_bundle(tmp / name, contract_wat(tick=tick), name=name)


INPUT_TICK = "(i32.load (i32.const 2048))"  # lw_input.tick, at tests.wat.INPUT_PTR


def room_host(bundle: Bundle, engine: Engine, **limits: float) -> RoomHost:
    """A host running ``bundle``'s rooms fast (50x real time) with frequent hashes and snapshots."""
    return RoomHost(lambda name: bundle, engine, Limits(**{"speed": 50.0, **limits}),  # type: ignore[arg-type]
                    {"hash_every": 10, "snapshot_every": 60})
