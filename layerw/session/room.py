"""Room: one lockstep session — the authoritative game, its seats, and the frames it stamps.

A room advances its own instance of the game one tick at a time. Each tick it turns the inputs
clients sent for that tick (late ones land on the next tick, none means "same as before") into
one Frame, applies it, and returns it for broadcasting. Every host that applies the same frames to
the same snapshot reaches the same state, so only inputs travel. Snapshots taken every
``snapshot_every`` ticks, plus the frames since, let anyone join or rejoin at any time.

This module is transport-free: the server feeds it messages and ships what it returns.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError, RoomFull, RoomLost, SeatTaken, SessionError
from layerw.observability.logs import ContextLog
from layerw.runtime.assets import Event
from layerw.runtime.engine import Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.start import start_game
from layerw.session import protocol as p
from layerw.session.renderprobe import RenderProbe
from layerw.session.saved import Saved
from layerw.wire import GRACE_TICKS, KEPT_SNAPSHOTS, MAX_AHEAD

log = logging.getLogger("layerw.room")
LIVE_HASHES = 3  # a seat's connection heard from within this many hash intervals is live
DESYNC_LOG_S = 10  # game seconds between two desync log lines of a room (the rest are counted)


class RoomState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class SeatState(enum.Enum):
    FREE = "free"
    CONNECTED = "connected"
    AWAY = "away"  # disconnected, seat kept for the grace period

    def to(self, new: SeatState) -> SeatState:
        allowed = {SeatState.FREE: {SeatState.CONNECTED}, SeatState.CONNECTED: {SeatState.AWAY, SeatState.FREE},
                   SeatState.AWAY: {SeatState.CONNECTED, SeatState.FREE}}
        if new not in allowed[self]:
            raise SessionError(f"seat cannot go from {self.value} to {new.value}")
        return new


@dataclass
class Seat:
    state: SeatState = SeatState.FREE
    token: bytes = b""
    away_since: int = 0
    heard: int = -1  # tick of its connection's last INPUT or HASH; -1: none since it joined
    holder: str = ""  # who holds it (the host's label for the client's address), until it is free again
    agreed: int = -1  # the last tick whose hash it sent agreed with the room's
    differs: int = -1  # the first hash tick that differed since then (-1: in sync)
    acked: int = -1  # the newest tick its connection sent a HASH of; -1: none since it joined
    digest: str = ""  # SHA-256 (hex) of the token, when the seat came from a checkpoint (which holds no tokens)

    def holds(self, token: bytes) -> bool:
        """True when ``token`` is this seat's (a resumed seat knows only its digest until its player returns)."""
        if self.token:
            return self.token == token
        return bool(self.digest) and hashlib.sha256(token).hexdigest() == self.digest


class LogThrottle:
    """At most one log line per ``every`` ticks for one kind of event: the first is logged, the ones
    after it are counted, and the count is logged once the window has passed (``due``/``flush``)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.until = -1  # first tick of the next window
        self.held = 0  # events not logged since the last line

    def allow(self, tick: int) -> bool:
        """True when this event may be logged now; otherwise it is counted."""
        if tick >= self.until:
            self.until = tick + self.every
            return True
        self.held += 1
        return False

    def due(self, tick: int) -> bool:
        return self.held > 0 and tick >= self.until

    def flush(self, tick: int) -> int:
        """The count held back (and a new window from ``tick``)."""
        held, self.held, self.until = self.held, 0, tick + self.every
        return held


class Room:
    def __init__(self, room_id: str, bundle: Bundle, engine: Engine, *, seats: int | None = None,
                 input_delay: int = 2, hash_every: int = 30, snapshot_every: int = 300,
                 grace_ticks: int = GRACE_TICKS, seed: int = 0) -> None:
        """``seed``: the game's seed (a server's rooms get one each: ``RoomHost``); clients never need
        it, they start from the room's snapshot, which holds the seeded state. The game runs on the
        default tier (``Tier.AUTO``: the AOT tier on a server's epoch engine); clients may run another."""
        seats = bundle.config.players if seats is None else seats  # the manifest's [game] players
        if not 1 <= seats <= abi.MAX_PLAYERS:
            raise SessionError(f"a room has 1..{abi.MAX_PLAYERS} seats, not {seats}")
        self.id = room_id
        self.state = RoomState.OPEN
        # The authoritative game mixes no sound: nobody hears the server, and mixing cost every room
        # ~15-50 us a tick (a quarter of the rooms bench's CPU at 50 rooms). So its snapshots carry no
        # voices: a client that joins hears the sounds started from then on, never a burst of old ones.
        # Nor does it read each tick's sound block (drop_sound): ~8 us of a pong room's ~45 us tick.
        self.seed = seed
        game = start_game(bundle, engine, seed=self.seed, audio=False)
        game.drop_sound()
        game.play_as(None)  # the room's own copy: a cart shows player 0's view (NETPLAY 0b100)
        self.game: GameHost = game
        self.game.log.bind(room=room_id)  # the guest's own log lines name the room too
        # tick from the game, not from self: a room holds no reference to itself (it is freed by refcount)
        self.log = ContextLog(log, tick=functools.partial(getattr, self.game, "tick_count"), game=self.game.name,
                              room=room_id)
        self.inputs = InputState(players=seats)
        for i in range(seats):
            self.inputs.record["players"][i]["connected"] = 0
        self.seats = [Seat() for _ in range(seats)]
        self.input_delay, self.hash_every, self.snapshot_every = input_delay, hash_every, snapshot_every
        self.grace_ticks = grace_ticks
        self.pending: dict[int, dict[int, bytes]] = {}  # tick -> seat -> lw_player
        self.events: list[tuple[int, int, int, int]] = []  # for the next frame
        self.frames: list[bytes] = []  # encoded, since the newest snapshot (bytes: nothing for the GC to trace)
        self.saved: deque[Saved] = deque(maxlen=KEPT_SNAPSHOTS)
        self.hashes: dict[int, str] = {}
        self.live_ticks = LIVE_HASHES * hash_every
        self.desyncs = LogThrottle(DESYNC_LOG_S * self.tick_rate)
        self.render_probe = RenderProbe(bundle, engine)  # run on the first desync (a host gives it a thread)
        self.started_over: str | None = None  # why this room replaced one it could not resume (a seat token is refused)
        self._save()

    @property
    def tick(self) -> int:
        return self.game.tick_count

    @property
    def tick_rate(self) -> int:
        return self.game.config.tick_rate

    def _save(self) -> None:
        self.saved.append(Saved(self.tick, self.game.snapshot(), self.inputs.record.tobytes()))
        self.frames = []

    # --- seats ----------------------------------------------------------------------------------

    def join(self, hello: p.Hello, holder: str = "") -> p.Welcome:
        """Seat a player (or a returning one, by token) or a spectator; returns the WELCOME. A
        player's seat is then held by ``holder`` (the host counts seats per client address).

        A token names its seat whether the seat is away or still connected. While the seat's
        connection is live (it sent an INPUT or HASH within ``live_ticks``) a HELLO with its
        token is refused (SeatTaken); a connection that has gone quiet since (a half-open socket
        the server has not seen drop) is taken over, and the host closes it."""
        self._require_open()
        seat = p.NO_SEAT
        token = bytes(p.TOKEN_SIZE)
        if hello.role == p.PLAYER:
            seat = self._seat_for(hello.token)
            entry = self.seats[seat]
            rejoin = entry.state is not SeatState.FREE
            if entry.state is SeatState.CONNECTED and entry.heard >= 0 and self.tick - entry.heard <= self.live_ticks:
                raise SeatTaken(f"seat {seat} of room {self.id} is in use by a live connection (heard "
                                f"{self.tick - entry.heard} ticks ago); it can be taken over once that one "
                                f"has been silent for {self.live_ticks} ticks")
            entry.heard = -1  # a new connection: not heard from yet
            entry.holder = holder
            entry.acked = -1
            if entry.state is not SeatState.CONNECTED:
                entry.state = entry.state.to(SeatState.CONNECTED)
            if not rejoin:
                entry.token = secrets.token_bytes(p.TOKEN_SIZE)
                self._set_player(seat, connected=True)
                self.events.append((abi.EVENTS["PLAYER_JOINED"], seat, 0, 0))
            token = entry.token
        return p.Welcome(seat, token, self.tick_rate, self.input_delay, self.hash_every, self.snapshot_every,
                         self.state_for(hello.base_tick))

    def holds(self, token: bytes) -> bool:
        """True when ``token`` names a seat this room keeps (a HELLO with it rejoins, taking no new seat)."""
        return any(token) and any(s.state is not SeatState.FREE and s.holds(token) for s in self.seats)

    def holders(self) -> list[str]:
        """Who holds each taken seat (connected or away), one entry per seat."""
        return [s.holder for s in self.seats if s.state is not SeatState.FREE]

    def _seat_for(self, token: bytes) -> int:
        if any(token):
            for i, s in enumerate(self.seats):
                if s.state is not SeatState.FREE and s.holds(token):
                    s.token = token
                    return i
            if self.started_over is not None:
                raise RoomLost(f"room {self.id} started over ({self.started_over}): that seat is gone; join again")
        for i, s in enumerate(self.seats):
            if s.state is SeatState.FREE:
                return i
        raise RoomFull(f"room {self.id} has no free seat ({len(self.seats)} seats)")

    def _set_player(self, seat: int, connected: bool) -> None:
        blank = np.zeros((), dtype=abi.PLAYER.dtype)
        blank["connected"] = int(connected)
        self.pending.setdefault(self.tick, {})[seat] = blank.tobytes()

    def leave(self, seat: int) -> None:
        """A player's connection went away: keep the seat for the grace period."""
        if seat == p.NO_SEAT:
            return
        entry = self.seats[seat]
        entry.state = entry.state.to(SeatState.AWAY)
        entry.away_since = self.tick

    def _expire_seats(self) -> None:
        for i, s in enumerate(self.seats):
            if s.state is SeatState.AWAY and self.tick - s.away_since >= self.grace_ticks:
                s.state = s.state.to(SeatState.FREE)
                s.token, s.holder = b"", ""
                self._set_player(i, connected=False)
                self.events.append((abi.EVENTS["PLAYER_LEFT"], i, 0, 0))

    def base(self, base_tick: int) -> Saved | None:
        """The kept snapshot at ``base_tick`` (a rejoining client holds it), if the room still has it."""
        return next((s for s in self.saved if s.tick == base_tick), None)

    def state_ready(self, base_tick: int) -> bool:
        """True when ``state_for(base_tick)`` is only a copy: the encoding it needs is done."""
        newest, base = self.saved[-1], self.base(base_tick)
        return newest.has_delta(base) if base is not None else newest.encoded

    def state_for(self, base_tick: int) -> p.State:
        """What a joining client needs: the newest snapshot (as a page delta against ``base_tick``'s
        snapshot when the room still has it: no blocks at all when that is the newest) plus every
        frame since. Encodes the snapshot here unless that is done already (``state_ready``): the
        host does it off the event loop first."""
        newest, base = self.saved[-1], self.base(base_tick)
        if base is not None:
            body, kind, base_at = newest.delta_from(base), p.DELTA, base.tick
        else:
            body, kind, base_at = newest.full(), p.FULL, p.NO_BASE
        return p.State(newest.tick, newest.inputs, kind, base_at, body, tuple(self.frames))

    # --- ticking --------------------------------------------------------------------------------

    def submit(self, seat: int, msg: p.Input) -> None:
        """An input from ``seat`` for a target tick; late ones land on the next tick stamped. One for a
        tick too far ahead, or before the newest tick its client hashed, is a ProtocolError."""
        self._require_open()
        if seat == p.NO_SEAT or self.seats[seat].state is not SeatState.CONNECTED:
            raise ProtocolError("spectators and empty seats send no input")
        entry = self.seats[seat]
        entry.heard = self.tick
        if msg.tick > self.tick + MAX_AHEAD:
            raise ProtocolError(f"input for tick {msg.tick} is more than {MAX_AHEAD} ticks ahead of {self.tick}")
        if msg.tick < entry.acked:  # a client's inputs are for ticks it has not confirmed yet
            raise ProtocolError(f"input for tick {msg.tick}, before tick {entry.acked} this client confirmed")
        player = np.frombuffer(msg.player, dtype=abi.PLAYER.dtype).copy()[0]
        player["connected"] = 1  # a client cannot disconnect itself or others through its input
        self.pending.setdefault(max(msg.tick, self.tick), {})[seat] = player.tobytes()

    def step(self) -> bytes:
        """Advance one tick; returns the encoded frame every client must apply for it."""
        self._require_open()
        self._expire_seats()
        tick, events = self.game.tick_count, self.events
        if self.desyncs.due(tick):
            self.log.warning("room %s: %d more desyncs in the last %d ticks", self.id, self.desyncs.flush(tick),
                             self.desyncs.every)
        changes = self.pending.pop(tick, None)
        if events:
            self.events = []
        return self._advance(p.Frame(tick, tuple(sorted(changes.items())) if changes else (), tuple(events)))

    def _advance(self, frame: p.Frame) -> bytes:
        """Apply a stamped frame and keep what joins need (the frame, hashes, snapshots)."""
        apply_frame(self.game, self.inputs, frame)
        encoded = frame.encode()
        self.frames.append(encoded)
        tick = self.game.tick_count
        if tick % self.hash_every == 0:
            self.hashes[tick] = self.game.state_hash()
            for old in [t for t in self.hashes if t < tick - 10 * self.hash_every]:
                del self.hashes[old]
        if tick % self.snapshot_every == 0:
            self._save()
        return encoded

    def resume(self, snapshot: Snapshot, inputs: bytes, frames: Sequence[bytes], seats: Sequence[Seat],
               pending: dict[int, dict[int, bytes]], events: Sequence[tuple[int, int, int, int]]) -> None:
        """Continue a room another process ran, from its checkpoint: its snapshot (with the input
        record held then), the frames it stamped since, replayed as they were, then its seats, inputs
        stamped for later ticks and events for the next frame. Every seat not free is away from now
        on: its player has the grace period to reconnect. A snapshot of another build raises
        SnapshotError and changes nothing."""
        if len(seats) != len(self.seats):
            raise SessionError(f"a checkpoint of {len(seats)} seats cannot resume a room of {len(self.seats)}")
        self.game.restore(snapshot)
        self.inputs.record[...] = np.frombuffer(inputs, dtype=abi.INPUT.dtype)[0]
        self.saved.clear()
        self._save()
        for encoded in frames:
            self._advance(p.decode_frame(encoded))
        self.seats = list(seats)
        for seat in self.seats:
            if seat.state is not SeatState.FREE:
                seat.state, seat.away_since, seat.heard = SeatState.AWAY, self.tick, -1
        self.pending, self.events = {tick: dict(changes) for tick, changes in pending.items()}, list(events)

    def check(self, seat: int, msg: p.Hash) -> bool:
        """True when a player's hash agrees with the room's (or the room no longer knows). A
        spectator's hash is not checked: it plays no seat, and a heal is not its to ask for. The
        first desync is logged, then at most a line (with a count) per ``DESYNC_LOG_S``, each once the
        render probe has its verdict (at once in a bare room; a host probes on a thread). A player's
        hash for a tick the room has not reached, or older than its last one, is a ProtocolError."""
        if seat == p.NO_SEAT:
            return True
        entry = self.seats[seat]
        if entry.state is SeatState.CONNECTED:
            entry.heard = self.tick
            if msg.tick > self.tick:
                raise ProtocolError(f"hash for tick {msg.tick}, which the room (at tick {self.tick}) has not reached")
            if msg.tick < entry.acked:
                raise ProtocolError(f"hash for tick {msg.tick} after one for tick {entry.acked}: hashes go forward")
            entry.acked = msg.tick
        ours = self.hashes.get(msg.tick)
        if ours is None:
            return True
        if ours == msg.digest.hex():
            entry.agreed, entry.differs = max(entry.agreed, msg.tick), -1
            return True
        if entry.differs < 0:
            entry.differs = msg.tick
        if self.desyncs.allow(self.tick):
            since = (f"it agreed at tick {entry.agreed}, so the states parted in ticks {entry.agreed + 1}..{msg.tick}"
                     if entry.agreed >= 0 else "no earlier hash of it agreed")
            args = (self.id, seat, entry.differs, since, msg.tick, msg.digest.hex()[:16], ours[:16])
            self.render_probe.ask(self.saved[-1], functools.partial(
                _log_desync, self.log, "desync in room %s: seat %s differs first at tick %d (%s); at tick %d it has %s, "
                "room has %s; %s", args, {"seat": seat, "first_differing_tick": entry.differs}))
        return False

    def _require_open(self) -> None:
        if self.state is not RoomState.OPEN:
            raise SessionError(f"room {self.id} is closed")

    def end(self) -> None:
        """Close the room to joins, inputs and ticks, leaving its game to be freed by whoever ends it
        (a host frees it on a thread, off its event loop; nothing here touches the game after this)."""
        self.state = RoomState.CLOSED

    def close(self) -> None:
        """End the room and free its game now."""
        if self.state is RoomState.OPEN:
            self.end()
            self.game.close()


def _log_desync(room_log: ContextLog, text: str, args: tuple[object, ...], extra: dict[str, object],
                probe: RenderProbe) -> None:
    """Log a desync once the render probe has its verdict (a module function: what waits for the probe
    holds the room's log, never the room, so a room that closes meanwhile is freed)."""
    room_log.warning(text, *args, probe.verdict(), extra={**extra, "render_changes_state": probe.changes})


def apply_frame(game: GameHost, inputs: InputState, frame: p.Frame) -> None:
    """What every host does with a frame: update the held inputs, then tick with its events."""
    if frame.tick != game.tick_count:
        raise ProtocolError(f"frame for tick {frame.tick} arrived at tick {game.tick_count}")
    for seat, player in frame.changes:
        inputs.record["players"][seat] = np.frombuffer(player, dtype=abi.PLAYER.dtype)[0]
    game.tick(inputs, [Event(frame.tick, kind, player, a, b) for kind, player, a, b in frame.events] if frame.events else ())
