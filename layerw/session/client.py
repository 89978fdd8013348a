"""OnlineClient: a native player in a room — connects, catches up, then ticks on confirmed frames.

``layerw join http://HOST:PORT/play/GAME?room=ID`` uses it: the page URL a browser opens names
the room; the WebSocket lives at ``ws://HOST:PORT/rooms/GAME/ID``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.asyncio.client import ClientConnection

from layerw.bundle import Bundle
from layerw.errors import ProtocolError, SessionError
from layerw.runtime.devchecks import render_changes_state
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState, Recording
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.wire import CLOSE_ELSEWHERE, CLOSE_MEANINGS, MAX_REDIRECTS, MAX_SERVER_MESSAGE

log = logging.getLogger("layerw.session")


@dataclass(frozen=True)
class RoomAddress:
    base: str  # http(s)://host:port
    game: str
    room: str

    @classmethod
    def parse(cls, url: str) -> RoomAddress:
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        room = parse_qs(parts.query).get("room", [""])[0]
        if parts.scheme not in ("http", "https") or len(segments) < 2 or segments[-2] != "play" or not room:
            raise SessionError(f"{url!r} is not a room address like http://HOST:PORT/play/GAME?room=ID")
        return cls(f"{parts.scheme}://{parts.netloc}", segments[-1], room)

    @property
    def websocket(self) -> str:
        scheme = "wss" if self.base.startswith("https") else "ws"
        return f"{scheme}{self.base[self.base.index(':'):]}/rooms/{self.game}/{self.room}"


@dataclass(frozen=True)
class Outcome:
    seat: int
    tick: int
    state_hash: str
    bytes_received: int
    heals: int


FrameHook = Callable[[Replica, InputState], "bool | None"]  # after each frame; False stops playing


def closed_message(e: websockets.ConnectionClosed) -> str:
    """What a closed connection means, in words, with the server's reason and the close code."""
    if e.rcvd is None:
        return f"the connection to the server was lost ({e})"
    meaning = CLOSE_MEANINGS.get(e.rcvd.code, "the server closed the connection")
    reason = f": {e.rcvd.reason}" if e.rcvd.reason else ""
    return f"{meaning}{reason} (close code {e.rcvd.code})"


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[ClientConnection]:
    """A WebSocket to the room at ``url`` (``ws://.../rooms/GAME/ID``), closed with ``leave`` however
    the block ends."""
    ws = await websockets.connect(url, max_size=MAX_SERVER_MESSAGE)
    try:
        yield ws
    finally:
        await leave(ws)


async def leave(ws: ClientConnection) -> None:
    """Close ``ws``, reading (and dropping) what the room sends until the server answers the close.

    The room streams a frame every tick until it reads our close frame, and its answer comes behind
    those frames. websockets stops reading the socket once 16 messages wait unread, so a client that
    only closed would never see the answer and would wait out websockets' whole ``close_timeout``
    (10 s): a player leaving to rejoin came back after its seat's grace and got another seat. The
    wait stays bounded by that timeout against a server that never answers."""
    closing = asyncio.ensure_future(ws.close())
    try:
        async for _ in ws:  # ends once the close handshake is done
            pass
    except websockets.ConnectionClosed:
        pass  # closed without a clean handshake (the timeout, or the server hung up): gone all the same
    finally:
        await closing


class _Elsewhere(Exception):
    def __init__(self, base: str) -> None:
        self.base = base


class OnlineClient:
    """A native player; its replica outlives a connection, so ``play`` again rejoins the same seat
    (within the room's grace period) and receives only the snapshot blocks that changed."""

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        self.replica = Replica(bundle, engine)
        self.local = InputState()
        self.received = 0
        self.heals = 0
        self.first_heal: tuple[int, bool] | None = None  # (tick, whether lw_render changes state) of the first heal
        self._sent = self.local.record["players"][0].tobytes()  # the input the room holds for us

    def _diagnose(self, replica: Replica) -> None:
        """Before the first heal replaces the state: say where it went wrong, and whether this game's
        lw_render changes its state (the room never renders; a client that draws does)."""
        changes = render_changes_state(replica.game)
        self.first_heal = (replica.tick, changes)
        log.warning("desync: the room's state replaces this client's at tick %d (the room logs the first differing "
                    "tick); %s", replica.tick,
                    "lw_render changes the game state: render must only draw (`layerw run --dev` shows where)"
                    if changes else "lw_render left the state alone when tried: look at input handling and "
                    "uninitialised memory", extra={"render_changes_state": changes})

    async def play(self, address: RoomAddress, *, ticks: int, recording: Recording | None = None,
                   spectate: bool = False, on_frame: FrameHook | None = None) -> Outcome:
        """Join (or rejoin) the room, following the server to the process that owns it, and play
        until the local game reaches ``ticks`` (or ``on_frame`` returns False). ``on_frame`` sees the
        replica after each frame and may update the local input (a window's devices); any change to
        the local input, from it or from ``recording``, is sent to the room."""
        for _ in range(MAX_REDIRECTS):
            try:
                return await self._play(address, ticks, recording, spectate, on_frame)
            except _Elsewhere as moved:
                log.info("room %s/%s lives at %s", address.game, address.room, moved.base)
                address = RoomAddress(moved.base, address.game, address.room)
        raise SessionError(f"room {address.game}/{address.room} moved more than {MAX_REDIRECTS} times")

    async def _play(self, address: RoomAddress, ticks: int, recording: Recording | None, spectate: bool,
                    on_frame: FrameHook | None) -> Outcome:
        replica = self.replica
        role = p.SPECTATOR if spectate else p.PLAYER
        try:
            async with connection(address.websocket) as ws:
                await ws.send(p.hello(role, replica.token, replica.base_tick))
                welcomed = False
                while not welcomed or replica.tick < ticks:
                    data = await ws.recv()
                    if not isinstance(data, bytes):
                        raise ProtocolError("the server sent a text frame")
                    self.received += len(data)
                    msg = p.decode_server(data)
                    if isinstance(msg, p.Welcome):
                        replica.welcome(msg)
                        welcomed = True
                        log.info("joined %s/%s as seat %s at tick %d", address.game, address.room, msg.seat, replica.tick)
                        continue
                    if isinstance(msg, p.State):
                        if self.first_heal is None:
                            self._diagnose(replica)
                        self.heals += 1
                        replica.load(msg)
                        continue
                    if recording is not None and msg.tick in recording.changes:
                        recording.apply(self.local, msg.tick)
                    report = replica.apply(msg)
                    if report is not None:
                        await ws.send(report)
                    if on_frame is not None and on_frame(replica, self.local) is False:
                        break
                    player = self.local.record["players"][0].tobytes()
                    if player != self._sent and replica.seat != p.NO_SEAT:
                        await ws.send(replica.input_for(player))
                        self._sent = player
                return Outcome(replica.seat, replica.tick, replica.game.state_hash(), self.received, self.heals)
        except websockets.ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == CLOSE_ELSEWHERE:
                raise _Elsewhere(e.rcvd.reason) from None
            raise SessionError(closed_message(e)) from e
        except OSError as e:
            raise SessionError(f"cannot reach {address.websocket}: {e}") from e

    def close(self) -> None:
        self.replica.close()


async def play_online(address: RoomAddress, bundle: Bundle, engine: Engine, *, ticks: int,
                      recording: Recording | None = None, spectate: bool = False) -> Outcome:
    """Join a room once, play until ``ticks``, and report the state hash."""
    client = OnlineClient(bundle, engine)
    try:
        return await client.play(address, ticks=ticks, recording=recording, spectate=spectate)
    finally:
        client.close()
