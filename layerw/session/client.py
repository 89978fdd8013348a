"""OnlineClient: a native player in a room — connects, catches up, then plays ahead of the room.

``layerw join http://HOST:PORT/play/GAME?room=ID`` uses it: the page URL a browser opens names
the room; the WebSocket lives at ``ws://HOST:PORT/rooms/GAME/ID``. A player predicts up to
``Prediction.window`` ticks ahead of the confirmed frames, as far as its measured round trip needs
(``Lead``), so its own input shows on the next tick; its replica repairs wrong guesses (``Rollback``).
A spectator, and a player with a window of 0, tick on confirmed frames only. A client that loses
its room after it was welcomed (the server went away, restarted, or was killed and another process
resumes the room from its checkpoint) rejoins by itself with the browser's backoff
(``RETRY_DELAYS_MS``), and raises RoomUnreachable once every retry has failed; closes that
rejoining cannot help (``NO_RETRY``) fail at once. A rejoin starts again from the address the
client was given (a load balancer, or any server of the fleet), which sends it on to the room's owner
(CLOSE_ELSEWHERE); when that owner cannot be reached (it died, and its lease in the directory is
about to lapse) the client asks again at once, naming the owner it found gone (``?gone=``): the
server then waits for that owner's lease to lapse and takes the room over the instant it does (it
resumes the room from its checkpoint), so the client neither polls nor waits longer than the lease.
Should the server still name that owner (alive, just unreachable from here), the client asks again
every ``OWNER_GONE_RETRY_S``, without backing off, bounded by the backoff's total time.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import websockets
from websockets.asyncio.client import ClientConnection

from layerw.bundle import Bundle
from layerw.errors import ProtocolError, RoomUnreachable, SessionError
from layerw.runtime.devchecks import render_changes_state
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.tier import Tier
from layerw.session import protocol as p
from layerw.session.lead import Lead
from layerw.session.replica import Replica
from layerw.session.rollback import DEFAULT_WINDOW
from layerw.wire import (
    CLOSE_ELSEWHERE,
    CLOSE_MEANINGS,
    CLOSE_NORMAL,
    MAX_REDIRECTS,
    MAX_SERVER_MESSAGE,
    NO_RETRY,
    PING_EVERY_S,
    RETRY_DELAYS_MS,
)

log = logging.getLogger("layerw.session")
OWNER_GONE_RETRY_S = 0.25  # between rejoins while the owner the directory names cannot be reached
OPEN_TIMEOUT_S = 3.0  # a server that does not answer a WebSocket handshake this soon is taken as unreachable
SILENCE_S = 3.0  # a room sends a frame every tick: this long without one, a welcomed client takes the server as gone


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
class Prediction:
    """How a player runs ahead of the room: at most ``window`` ticks (0: on confirmed frames only),
    as far as the measured round trip needs, or exactly ``lead`` ticks when given."""

    window: int = DEFAULT_WINDOW
    lead: int | None = None


@dataclass(frozen=True)
class Outcome:
    seat: int
    tick: int
    state_hash: str
    bytes_received: int
    heals: int
    predicted: int = 0  # ticks simulated ahead of the room
    rollbacks: int = 0  # mispredictions repaired
    resimulated: int = 0  # ticks simulated again by those repairs
    rtt_s: float = 0.0  # the largest recent round trip to the server
    joined: int = 0  # the room's tick at this client's first WELCOME


FrameHook = Callable[[Replica, InputState], "bool | None"]  # after each frame; False stops playing


def closed_message(e: websockets.ConnectionClosed) -> str:
    """What a closed connection means, in words, with the server's reason and the close code."""
    if e.rcvd is None:
        return f"the connection to the server was lost ({e})"
    meaning = CLOSE_MEANINGS.get(e.rcvd.code, "the server closed the connection")
    reason = f": {e.rcvd.reason}" if e.rcvd.reason else ""
    return f"{meaning}{reason} (close code {e.rcvd.code})"


@asynccontextmanager
async def connection(url: str, source: str | None = None) -> AsyncIterator[ClientConnection]:
    """A WebSocket to the room at ``url`` (``ws://.../rooms/GAME/ID``) from the local address ``source``
    (default: the system's choice), closed with ``leave`` however the block ends."""
    local: dict[str, Any] = {"local_addr": (source, 0)} if source is not None else {}  # create_connection's
    ws = await websockets.connect(url, max_size=MAX_SERVER_MESSAGE, open_timeout=OPEN_TIMEOUT_S, **local)
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


class _Lost(SessionError):
    """The connection ended in a way a rejoin may mend (lost, going away, restarting, busy)."""


class _Unreachable(_Lost):
    """No connection could be made to the server."""


class _OwnerGone(_Lost):
    """The process the directory names as the room's owner cannot be reached: its lease lapses soon."""

    def __init__(self, message: str, owner: str) -> None:
        super().__init__(message)
        self.owner = owner


class OnlineClient:
    """A native player; its replica outlives a connection, so ``play`` again rejoins the same seat
    (within the room's grace period) and receives only the snapshot blocks that changed."""

    def __init__(self, bundle: Bundle, engine: Engine, *, prediction: Prediction = Prediction(),
                 on_samples: Callable[[bytes], None] | None = None, retry_delays_s: Sequence[float] | None = None,
                 source: str | None = None, tier: Tier = Tier.AUTO) -> None:
        self.replica = Replica(bundle, engine, window=prediction.window, on_samples=on_samples, tier=tier)
        self.prediction = prediction
        self.source = source  # the local address it connects from (a machine with several; None: the system's choice)
        self.retry_delays_s = tuple(d / 1e3 for d in RETRY_DELAYS_MS) if retry_delays_s is None else tuple(retry_delays_s)
        self.rejoins = 0  # rejoins after a lost connection, in all
        self.welcomed = False  # a room has welcomed this client (only then is a lost connection rejoined)
        self.joined: int | None = None  # the room's tick at the first WELCOME
        self.local = InputState()
        self.received = 0
        self.heals = 0
        self.first_heal: tuple[int, bool] | None = None  # (tick, whether lw_render changes state) of the first heal
        self._sent = self.local.record["players"][0].tobytes()  # the input the room holds for us
        self._lead: Lead | None = None  # set at each WELCOME of a player that predicts

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
        until the room's frames confirm ``ticks`` (or ``on_frame`` returns False). ``on_frame`` sees
        the replica after each tick the screen shows and may update the local input (a window's
        devices); any change to the local input, from it or from ``recording`` (applied at the tick
        about to be simulated), is sent to the room for that tick plus the room's input delay. A
        connection lost after the room welcomed this client is rejoined, up to ``retry_delays_s`` tries
        per outage."""
        tries, first, since = 0, None, 0.0
        gone: str | None = None  # the owner the last rejoin found unreachable, named to the next one
        while True:
            welcomed = self.replica.tick
            hinted, gone = gone, None
            try:
                return await self._follow(address, ticks, recording, spectate, on_frame, hinted)
            except _Lost as e:
                if not self.welcomed:
                    raise SessionError(str(e)) from e  # nothing to rejoin
                if self.replica.tick != welcomed:
                    tries, first = 0, None  # it played since the last outage: a new one
                if first is None:
                    first, since = str(e), time.monotonic()
                if isinstance(e, _OwnerGone) and time.monotonic() - since < sum(self.retry_delays_s):
                    gone = e.owner
                    pause = OWNER_GONE_RETRY_S if hinted == e.owner else 0.0  # the server waited for its lease already
                    log.info("room %s/%s: its owner is gone (%s): asking again in %.2f s", address.game, address.room,
                             e, pause)
                    await asyncio.sleep(pause)
                    self.rejoins += 1
                    continue
                if tries == len(self.retry_delays_s):
                    raise RoomUnreachable(f"{first}; then {tries} rejoins over {sum(self.retry_delays_s):.1f} s "
                                          f"failed, the last: {e}") from e
                log.info("lost room %s/%s (%s): rejoining in %.1f s", address.game, address.room, e, self.retry_delays_s[tries])
                await asyncio.sleep(self.retry_delays_s[tries])
                tries += 1
                self.rejoins += 1

    async def _follow(self, address: RoomAddress, ticks: int, recording: Recording | None, spectate: bool,
                      on_frame: FrameHook | None, gone: str | None = None) -> Outcome:
        """One connection, following the server to the process that owns the room (the first one
        names ``gone``, an owner found unreachable, see the module's docstring)."""
        moved_to = None
        for _ in range(MAX_REDIRECTS):
            try:
                return await self._play(address, ticks, recording, spectate, on_frame, gone if moved_to is None else None)
            except _Elsewhere as moved:
                log.info("room %s/%s lives at %s", address.game, address.room, moved.base)
                address = moved_to = RoomAddress(moved.base, address.game, address.room)
            except _Unreachable as e:
                if moved_to is not None:
                    raise _OwnerGone(str(e), moved_to.base) from e
                raise
        raise SessionError(f"room {address.game}/{address.room} moved more than {MAX_REDIRECTS} times")

    async def _play(self, address: RoomAddress, ticks: int, recording: Recording | None, spectate: bool,
                    on_frame: FrameHook | None, gone: str | None = None) -> Outcome:
        replica = self.replica
        role = p.SPECTATOR if spectate else p.PLAYER
        url = address.websocket + (f"?{urlencode({'gone': gone})}" if gone is not None else "")
        try:
            async with connection(url, self.source) as ws:
                await ws.send(p.hello(role, replica.token, replica.base_tick))
                inbox: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
                helpers = [asyncio.create_task(_read(ws, inbox), name="room reader")]
                try:
                    await self._loop(ws, inbox, helpers, ticks, recording, on_frame, address.base)
                finally:
                    for helper in helpers:
                        helper.cancel()
                    await asyncio.gather(*helpers, return_exceptions=True)
                rollback = replica.rollback
                rtt = self._lead.rtt if self._lead is not None else 0.0
                return Outcome(replica.seat, replica.tick, replica.game.state_hash(), self.received, self.heals,
                               rollback.predicted, rollback.rollbacks, rollback.resimulated, rtt, self.joined or 0)
        except websockets.ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == CLOSE_ELSEWHERE:
                raise _Elsewhere(e.rcvd.reason) from None
            if e.rcvd is not None and (e.rcvd.code in NO_RETRY or e.rcvd.code == CLOSE_NORMAL):
                raise SessionError(closed_message(e)) from e
            raise _Lost(closed_message(e)) from e
        except OSError as e:
            raise _Unreachable(f"cannot reach {address.websocket}: {e}") from e

    async def _loop(self, ws: ClientConnection, inbox: asyncio.Queue[bytes | BaseException],
                    helpers: list[asyncio.Task[None]], ticks: int, recording: Recording | None,
                    on_frame: FrameHook | None, base: str) -> None:
        """Predict as far as the lead allows, then wait for the next message (or for the lead to grow).
        A welcomed client that hears nothing from the room for ``SILENCE_S`` takes the server as gone."""
        replica = self.replica
        welcomed = False
        heard = time.monotonic()
        while not welcomed or replica.confirmed < ticks:
            wait: float | None = None
            if welcomed:
                silent = time.monotonic() - heard
                if silent >= SILENCE_S:
                    ws.transport.abort()  # a stalled server answers no close either
                    raise _Lost(f"no frame from {base} for {SILENCE_S:g} s (the server stalled)")
                wait = SILENCE_S - silent
            lead = self._lead
            if welcomed and lead is not None:
                now = time.monotonic()
                while replica.tick < ticks and replica.tick - replica.confirmed < lead.target(now):
                    await self._before_tick(ws, recording)
                    if not replica.predict():
                        break
                    if on_frame is not None and on_frame(replica, self.local) is False:
                        return
                change = lead.next_change(now)
                wait = change if wait is None else min(wait, change)
            try:
                data = await asyncio.wait_for(inbox.get(), wait)
            except TimeoutError:
                continue
            if isinstance(data, BaseException):
                raise data
            heard = time.monotonic()
            self.received += len(data)
            msg = p.decode_server(data)
            if isinstance(msg, p.Welcome):
                replica.welcome(msg)
                welcomed = self.welcomed = True
                if self.joined is None:
                    self.joined = replica.tick
                if replica.seat != p.NO_SEAT:  # the input the room holds for us (a resumed room: maybe an older one)
                    held = replica.inputs.record["players"][replica.seat].copy()
                    held["connected"] = self.local.record["players"][0]["connected"]
                    self._sent = held.tobytes()
                # the room holds (or, for a new seat, is about to apply) the last input this client sent
                replica.rollback.local(replica.tick, self._sent)
                self._lead = None
                if replica.rollback.window:
                    self._lead = Lead(msg.tick_rate, msg.input_delay, replica.rollback.window, self.prediction.lead)
                    self._lead.frame(time.monotonic())  # the WELCOME brought frames up to now: none is late yet
                    helpers.append(asyncio.create_task(_measure(ws), name="room round trips"))
                log.info("joined as seat %s at tick %d", msg.seat, replica.tick)
                continue
            if isinstance(msg, p.Pong):
                if self._lead is not None:
                    now = time.monotonic()
                    self._lead.round_trip(now - struct.unpack("<d", msg.payload)[0], now)
                continue
            if isinstance(msg, p.State):
                if self.first_heal is None:
                    self._diagnose(replica)
                self.heals += 1
                replica.heal(msg)
                continue
            if self._lead is not None:
                self._lead.frame(time.monotonic())
            shown = replica.tick == replica.confirmed  # not ahead: this frame moves the screen on
            if shown:
                await self._before_tick(ws, recording)
            report = replica.apply(msg)
            if report is not None:
                await ws.send(report)
            if shown and on_frame is not None and on_frame(replica, self.local) is False:
                return

    async def _before_tick(self, ws: ClientConnection, recording: Recording | None) -> None:
        """The tick the replica is about to simulate takes the recording's changes; a changed local
        input goes to the room for it."""
        replica = self.replica
        if recording is not None:
            recording.apply(self.local, replica.tick)
        player = self.local.record["players"][0].tobytes()
        if player != self._sent and replica.seat != p.NO_SEAT:
            await ws.send(replica.input_for(player))
            self._sent = player

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


async def _read(ws: ClientConnection, inbox: asyncio.Queue[bytes | BaseException]) -> None:
    """Every server message into ``inbox``, then the error that ended the connection."""
    try:
        while True:
            data = await ws.recv()
            if not isinstance(data, bytes):
                raise ProtocolError("the server sent a text frame")
            inbox.put_nowait(data)
    except (websockets.ConnectionClosed, ProtocolError) as e:
        inbox.put_nowait(e)


async def _measure(ws: ClientConnection) -> None:
    """A PING every ``PING_EVERY_S`` carrying this clock's time; the loop gives each PONG's round trip to
    the lead (the browser measures the same way: it cannot send WebSocket pings)."""
    try:
        while True:
            await ws.send(p.ping_message(struct.pack("<d", time.monotonic())))
            await asyncio.sleep(PING_EVERY_S)
    except websockets.ConnectionClosed:
        return
