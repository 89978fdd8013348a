"""RoomHost: rooms ticking in real time on an asyncio loop, and the clients connected to them.

Rooms of one tick rate share a few ``Clock`` tasks (one per phase of the period): at each beat a
clock steps its rooms, then pushes each encoded frame into that room's clients' outboxes, which
write it at once when the socket takes it and queue it, bounded, behind a client that reads slowly
(one that cannot keep up is disconnected; it never slows the room). Client messages are checked
for size, rate and form before they reach the room; anything wrong closes that connection with a
WebSocket close code and leaves everyone else alone.

What costs the server a snapshot is bounded: joins per client address, heals per connection and
per address (``Allowance``; a heal past them is skipped: the client asks again with its next hash),
and the snapshot itself is encoded once per snapshot tick, in a thread, when a join or heal first
needs it (``RoomRunner.prepare``), or when all rooms' raw kept snapshots pass their budget (``RawKept``).
A room's render probe (on its first desync) runs on the builder threads too (``RenderProbe``).
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import logging
import secrets
import time
from array import array
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from layerw.bundle import Bundle
from layerw.errors import CheckpointError, GameError, OutOfStep, ProtocolError, RoomFull, RoomLost, SeatTaken, SessionError
from layerw.observability import tracing
from layerw.observability.logs import ContextLog
from layerw.observability.metrics import Metrics, RoomReading
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.admission import Admission, RoomKey, footprint
from layerw.session.allowance import Allowance, Bucket
from layerw.session.checkpointer import Checkpointer, Checkpoints
from layerw.session.heap import trim_heap
from layerw.session.lease import Lease
from layerw.session.limits import Limits as Limits  # re-exported: callers configure rooms through the host
from layerw.session.outbox import Outbox
from layerw.session.rawkept import RawKept
from layerw.session.room import Room, RoomState
from layerw.session.saved import Saved
from layerw.wire import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_OUT_OF_STEP,
    CLOSE_POLICY,
    CLOSE_PROTOCOL,
    CLOSE_RESTART,
    CLOSE_ROOM_LOST,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
)

log = logging.getLogger("layerw.session")

PREPARE_TRIES = 3  # snapshot encodings a join waits for before the rest is done on the loop
KEPT_LATENESS = 1024  # ticks of lateness each room keeps for its p99 (the metrics histogram has them all)


class ConnectionState(enum.Enum):
    WAITING_HELLO = "waiting-hello"
    PLAYING = "playing"
    CLOSED = "closed"

    def to(self, new: ConnectionState) -> ConnectionState:
        allowed = {ConnectionState.WAITING_HELLO: {ConnectionState.PLAYING, ConnectionState.CLOSED},
                   ConnectionState.PLAYING: {ConnectionState.CLOSED}, ConnectionState.CLOSED: set()}
        if new not in allowed[self]:
            raise SessionError(f"connection cannot go from {self.value} to {new.value}")
        return new


@dataclass(eq=False)  # identity, so clients can live in a set
class Client:
    outbox: Outbox = field(init=False)  # set by RoomHost.serve: it holds the transport's send
    seat: int = p.NO_SEAT
    state: ConnectionState = ConnectionState.WAITING_HELLO
    kick: tuple[int, str] | None = None  # set by the room: close with this code and reason
    replaced: bool = False  # a newer connection of the same seat took over
    reader: asyncio.Task[None] | None = None  # the connection's task while it waits for a message
    messages: Bucket = field(default_factory=lambda: Bucket(Limits.messages_per_second, Limits.burst))  # its allowance
    heals: Bucket = field(default_factory=lambda: Bucket(Limits.heals_per_second, Limits.heal_burst))
    healed_to: int = -1  # room tick its last heal brought it to: its hashes up to there predate the heal
    acked_at: float = field(default_factory=time.monotonic)  # when it last sent a HASH (or connected)

    def acknowledge(self, msg: p.Hello | p.Input | p.Hash | p.Ping, unacked_s: float) -> None:
        """A HASH acknowledges the frames the client applied; an INPUT from a client that has sent
        none for ``unacked_s`` seconds is OutOfStep (it plays on frames it never answers for)."""
        now = time.monotonic()
        if isinstance(msg, p.Hash):
            self.acked_at = now
        elif isinstance(msg, p.Input) and now - self.acked_at > unacked_s:
            raise OutOfStep(f"inputs but no hash for {now - self.acked_at:.1f} s: this client does not "
                            "acknowledge the room's frames")

    def drop(self, code: int, reason: str) -> None:
        if self.kick is None:
            self.kick = (code, reason)
            if self.reader is not None:
                self.reader.cancel()  # wakes it from receive(); RoomHost._next turns that into "dropped"


class RoomRunner:
    """One room and its clients; its host's clock calls ``beat`` once per tick."""

    def __init__(self, key: tuple[str, str], room: Room, limits: Limits, metrics: Metrics | None = None, *,
                 public: bool = False, encoder: ThreadPoolExecutor | None = None, lease: Lease | None = None) -> None:
        self.key = key  # (game, room id): its entry in RoomHost.runners
        self.lease = lease  # the room runs only while this process holds it (None: no shared directory to lose it to)
        self.fenced = False  # it stopped because its lease was no longer held
        self.encoder = encoder  # the thread that encodes snapshots (None: asyncio's default pool)
        self.room = room
        self.public = public  # listed by GET /rooms for anyone (else only for the operator)
        self.on_kept: Callable[[Saved], None] = lambda saved: None  # the room took a snapshot (the host counts it)
        self._newest = room.saved[-1]
        self.limits = limits
        self.period = 1.0 / (room.tick_rate * limits.speed)
        self.clients: set[Client] = set()
        self.jitter_ms = array("d")  # lateness of recent ticks against their schedule (8 bytes each)
        self.game = room.game.name
        self.metrics = metrics or Metrics()
        self._tick_seconds = self.metrics.tick_seconds.labels(self.game)
        self._tick_lateness = self.metrics.tick_lateness.labels(self.game)
        self._empty_since = time.monotonic()
        self.checkpointer: Checkpointer | None = None  # writes the room to the store (RoomHost's checkpoints)
        self.log = ContextLog(log, tick=lambda: room.tick, game=self.game, room=room.id)

    def jitter_p99_ms(self, window: int = 180) -> float:
        """99th percentile lateness of the last ``window`` ticks against their schedule."""
        recent = sorted(self.jitter_ms[-window:])
        return recent[min(len(recent) - 1, int(len(recent) * 0.99))] if recent else 0.0

    def broadcast(self, data: bytes) -> None:
        for client in list(self.clients):
            if not client.outbox.push(data):
                self.log.warning("room %s: seat %s cannot keep up; disconnecting it", self.room.id, client.seat,
                                 extra={"seat": client.seat})
                self.clients.discard(client)
                client.drop(CLOSE_TRY_AGAIN, "too slow to keep up with the room")

    def beat(self, due: float) -> bytes | None:
        """Tick once (``due`` is when this tick should have started); returns the frame to
        broadcast, or None when the room is done."""
        if self.room.state is not RoomState.OPEN:
            return None
        now = time.monotonic()
        if self.lease is not None and not self.lease.held(now):  # first: not one more tick, nor write, once it may be another's
            self.log.error("room %s: its lease is no longer held; it stops here (another process resumes it)", self.room.id)
            self.fenced = True
            if self.checkpointer is not None:
                self.checkpointer.fence()
            self.drop_all(CLOSE_RESTART, "this server lost the room: rejoin")
            return None
        if self.clients:
            self._empty_since = now
        elif now - self._empty_since > self.limits.empty_room_s:
            self.log.info("room %s: empty for %.0f s, closing", self.room.id, self.limits.empty_room_s)
            return None
        late = max(0.0, now - due)  # this tick's start against its schedule
        self._tick_lateness.observe(late)
        self.jitter_ms.append(late * 1e3)
        if len(self.jitter_ms) > 2 * KEPT_LATENESS:
            del self.jitter_ms[:-KEPT_LATENESS]
        started = time.perf_counter()
        try:
            frame = self.room.step()
        except GameError as e:
            self.metrics.trap(self.game, e)
            self.log.error("room %s stopped: %s", self.room.id, e, extra={"error": type(e).__name__, "frames": e.frames})
            self.drop_all(CLOSE_INTERNAL, f"the game stopped: {e}")
            return None
        self._tick_seconds.observe(time.perf_counter() - started)
        newest = self.room.saved[-1]
        if newest is not self._newest:
            self._newest = newest
            self.on_kept(newest)
        if self.checkpointer is not None:
            self.checkpointer.on_frame(frame, now)
        return frame

    async def prepare(self, base_tick: int) -> None:
        """Wait until the STATE for a client holding ``base_tick``'s snapshot is encoded (in a
        thread, never on the event loop), so that ``room.state_for`` is then only a copy. Call
        ``state_for`` (or ``join``) right after, with no await between: the room ticks meanwhile.

        A room may take a newer snapshot while one is encoded (a loaded machine, frequent snapshots):
        after ``PREPARE_TRIES`` such races ``state_for`` encodes what is left on the loop, one
        bounded cost, rather than the join waiting on a race it may keep losing (it once waited 10 s
        and its seat's grace ran out)."""
        for _ in range(PREPARE_TRIES):
            if self.room.state_ready(base_tick):
                return
            await asyncio.get_running_loop().run_in_executor(self.encoder, self.room.saved[-1].prepare,
                                                             self.room.base(base_tick))

    def drop_all(self, code: int, reason: str) -> None:
        for client in list(self.clients):
            client.drop(code, reason)


PHASES = 4  # clocks per tick rate, their beats spread evenly over one period


class Clock:
    """The beat of a group of rooms that tick at one rate, in one task.

    Rooms do not each sleep until their own next tick: at every beat the clock steps all of
    them, one after another (in an order that rotates, so none is always last), and only then
    pushes every frame to its clients' outboxes. A tick therefore waits for at most the other
    rooms' steps, never for other rooms' network writes, and the loop wakes once per beat, not
    once per room. Each rate has PHASES clocks, their beats a quarter period apart, and a new
    room joins the emptiest: a beat steps a quarter of the rooms, and its sends are done before
    the next quarter's beat. A room whose step raises something unexpected is
    closed; the others keep ticking.
    """

    def __init__(self, period: float, phase: float, on_done: Callable[[RoomRunner], None]) -> None:
        self.period = period
        self.phase = phase  # beats fall at phase * period past every multiple of period (monotonic clock)
        self.runners: list[RoomRunner] = []
        self.on_done = on_done
        self.task: asyncio.Task[None] | None = None
        self._turn = 0

    def add(self, runner: RoomRunner) -> None:
        self.runners.append(runner)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"clock {self.period * 1e3:.1f} ms")

    def remove(self, runner: RoomRunner) -> None:
        if runner in self.runners:
            self.runners.remove(runner)

    def next_beat(self, after: float) -> float:
        """The first beat of this clock at or after ``after``."""
        return after + (self.phase * self.period - after) % self.period

    async def _run(self) -> None:
        due = self.next_beat(time.monotonic())
        await asyncio.sleep(due - time.monotonic())
        while self.runners:
            scheduled = due  # this beat's lateness is against it, a stall's included
            if time.monotonic() - due > 0.25:  # far behind (machine stalled): do not burst to catch up
                due = self.next_beat(time.monotonic() - self.period)
            self._beat(scheduled)
            due += self.period
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    def _beat(self, due: float) -> None:
        """Step every room, then send the frames. (Its own frame: the task's, which waits between
        beats, holds no room, so a room that closes is freed at once.)"""
        self._turn = (self._turn + 1) % len(self.runners)
        stepped: list[tuple[RoomRunner, bytes]] = []
        for runner in self.runners[self._turn:] + self.runners[:self._turn]:
            try:
                frame = runner.beat(due)
            except Exception:  # a bug in one room must not stop the others
                runner.log.exception("room %s failed", runner.room.id)
                runner.drop_all(CLOSE_INTERNAL, "the room failed")
                frame = None
            if frame is None:
                self.remove(runner)
                self.on_done(runner)
            else:
                stepped.append((runner, frame))
        for runner, frame in stepped:
            runner.broadcast(frame)


class RoomHost:
    """Rooms and their clients on one event loop. A new room is built (store fetch, compile,
    instantiate) on a builder thread, once however many joins ask for it meanwhile, and only
    within ``Admission``'s bounds; the loop itself only ever steps rooms and moves messages."""

    def __init__(self, bundles: Callable[[str], Bundle], engine: Engine, limits: Limits | None = None,
                 room_options: dict[str, int] | None = None, metrics: Metrics | None = None,
                 checkpoints: Checkpoints | None = None) -> None:
        self.bundles = bundles
        self.checkpoints = checkpoints  # rooms resume from and write checkpoints there (None: rooms die with the process)
        self._closing = False
        self.engine = engine
        self.limits = limits = limits or Limits()
        self.room_options = room_options or {}
        self.runners: dict[RoomKey, RoomRunner] = {}
        self.admission = Admission(limits)
        self._building: dict[RoomKey, asyncio.Task[RoomRunner]] = {}  # rooms being built, shared by their joins
        self._builders = ThreadPoolExecutor(limits.builders, thread_name_prefix="layerw-room-build")
        # One thread encodes every room's snapshots, in turn: rooms started together snapshot at the same
        # ticks, and a pool would run all those encodings at once, each taking the GIL from the loop.
        self._encoder = ThreadPoolExecutor(1, thread_name_prefix="layerw-snapshot")
        # Closed rooms' games are freed on a thread too (the store, its linear memory, a worker process):
        # rooms closing together (a churn of empty rooms) would otherwise each stall every other room's beat.
        self._closer = ThreadPoolExecutor(1, thread_name_prefix="layerw-room-close")
        self._freeing: set[asyncio.Future[None]] = set()  # games being freed: the host's close waits for them
        self.clocks: dict[tuple[float, int], Clock] = {}  # by tick period and phase
        self.on_room_closed: Callable[[str], None] = lambda room: None
        self.metrics = metrics or Metrics()
        self.metrics.watch_rooms(self.readings)
        self.joins = Allowance(limits.joins_per_second, limits.join_burst, limits.max_peers)  # per address
        self.heals = Allowance(limits.peer_heals_per_second, limits.peer_heal_burst, limits.max_peers)
        self.raw_kept = RawKept(limits.raw_snapshot_bytes)  # every room's kept snapshots not encoded yet
        self._compacting: asyncio.Future[bytes] | None = None  # the one being encoded to come back within it

    @property
    def building(self) -> list[RoomKey]:
        """The rooms being built now (their joins wait); safe to read from another thread."""
        return list(self._building)

    def readings(self) -> list[RoomReading]:
        """Each room's players, spectators and recent jitter, for the metrics."""
        out = []
        for (game, room_id), run in list(self.runners.items()):
            players = sum(1 for c in run.clients if c.seat != p.NO_SEAT)
            out.append(RoomReading(game, room_id, players, len(run.clients) - players, run.jitter_p99_ms() / 1e3))
        return out

    def _in_use(self) -> dict[RoomKey, int]:
        """Each live room's memory footprint, for the admission's memory bounds."""
        return {key: footprint(run.room) for key, run in self.runners.items()}

    def _holders(self) -> dict[RoomKey, list[str]]:
        """Who holds each taken seat of every live room, for the admission's seats per address."""
        return {key: run.room.holders() for key, run in self.runners.items()}

    async def runner(self, game: str, room_id: str, peer: str = "local", public: bool = False,
                     lease: Lease | None = None) -> RoomRunner:
        """The room's runner, building the room first when it is new (``peer``, the joining
        client's address, is who the new room counts against; ``public`` lists it in ``GET /rooms``;
        ``lease``, this process's hold on it in a shared directory, bounds its run and fences its
        checkpoints); raises RoomFull or SessionError past the admission's bounds, GameError when the
        game fails to start."""
        key = (game, room_id)
        if key in self.runners:
            return self.runners[key]
        build = self._building.get(key)
        if build is None:
            self.admission.admit(key, peer, self._in_use(), time.monotonic())
            build = asyncio.get_running_loop().create_task(self._build(key, public, lease), name=f"build room {game}/{room_id}")
            build.add_done_callback(_seen)
            self._building[key] = build
        return await asyncio.shield(build)  # a join that gives up waiting does not stop the build for the others

    async def _build(self, key: RoomKey, public: bool, lease: Lease | None) -> RoomRunner:
        game, room_id = key
        built = False
        try:
            new_room = functools.partial(contextvars.copy_context().run, self._new_room, game, room_id)  # spans nest
            making = asyncio.get_running_loop().run_in_executor(self._builders, new_room)
            try:
                room = await asyncio.shield(making)
            except asyncio.CancelledError:  # the host is closing: the room, once built, closes unused
                making.add_done_callback(_close_unused)
                raise
            try:
                self.admission.settle(key, room, self._in_use())
            except SessionError:
                self._free(room)
                raise
            room.render_probe.executor = self._builders  # a desync's render probe starts a game: never on the loop
            runner = RoomRunner(key, room, self.limits, metrics=self.metrics, public=public, encoder=self._encoder,
                                lease=lease)
            if self.checkpoints is not None:
                runner.checkpointer = self.checkpoints.writer(game, room_id, room, lease)
            runner.on_kept = self._kept
            for saved in room.saved:
                self._kept(saved)
            self.runners[key] = runner
            phases = [self.clocks.setdefault((runner.period, k), Clock(runner.period, k / PHASES, self._closed))
                      for k in range(PHASES)]
            min(phases, key=lambda clock: len(clock.runners)).add(runner)
            built = True
            return runner
        except GameError as e:  # the game traps while starting: no room, counted like any trap
            self.metrics.trap(game, e)
            raise
        finally:
            del self._building[key]
            if not built:
                self.admission.release(key)

    def _new_room(self, game: str, room_id: str) -> Room:
        """Build a room (on a builder thread: this fetches, compiles and instantiates its game), resumed
        from its checkpoint when there is one, else seeded with a seed of its own, which players cannot
        predict (room_options' "seed" fixes one for all; a resumed room keeps its checkpoint's)."""
        options = {"seed": secrets.randbits(64), **self.room_options}
        if self.checkpoints is not None:
            room = self.checkpoints.open(game, room_id, self.bundles(game), self.engine, options)
        else:
            room = Room(f"{game}/{room_id}", self.bundles(game), self.engine, **options)
        room.log.debug("room %s: game seed %d", room.id, room.seed)
        return room

    @property
    def encoding_kept(self) -> bool:
        """Whether a raw kept snapshot is being encoded to come back within the budget. While none
        is, the rooms' raw kept snapshots are within ``Limits.raw_snapshot_bytes``."""
        return self._compacting is not None

    def _kept(self, saved: Saved) -> None:
        """A room took a snapshot: count it raw, and encode the oldest raw ones past the budget."""
        self.raw_kept.add(saved)
        self._compact()

    def _compact(self, done: asyncio.Future[bytes] | None = None) -> None:
        """Encode raw kept snapshots on the encoder thread, one at a time, until they fit the budget."""
        if done is not None:
            self._compacting = None
            if not done.cancelled() and done.exception() is not None:
                log.error("a kept snapshot failed to encode: %r", done.exception())
        if self._compacting is None and not self._closing:
            saved = self.raw_kept.over()
            if saved is not None:
                self._compacting = asyncio.get_running_loop().run_in_executor(self._encoder, saved.full)
                self._compacting.add_done_callback(self._compact)

    def _closed(self, runner: RoomRunner) -> None:
        if runner.checkpointer is not None and not runner.fenced:  # a room that ends is over; one the server stops resumes later
            runner.checkpointer.stop(ended=not self._closing)
        self.raw_kept.drop(runner.room.saved)  # they leave the budget with the room, whoever still holds it
        self._free(runner.room)
        if self.runners.get(runner.key) is runner:
            del self.runners[runner.key]
            self.admission.release(runner.key)
            self.on_room_closed(f"{runner.key[0]}/{runner.key[1]}")

    def _free(self, room: Room) -> None:
        """End ``room`` now (no join, input or tick reaches it from here on) and free its game on the
        closer thread: the loop holds no reference to it after this, so it goes once freed."""
        if room.state is RoomState.OPEN:
            room.end()
            freeing = asyncio.get_running_loop().run_in_executor(self._closer, room.game.close)
            self._freeing.add(freeing)
            freeing.add_done_callback(functools.partial(self._freed, room.id))

    def _freed(self, room_id: str, done: asyncio.Future[None]) -> None:
        self._freeing.discard(done)
        if not self._freeing and not self._closing:  # a wave of closed rooms is freed: return the heap they held
            self._closer.submit(trim_heap)
        if not done.cancelled() and done.exception() is not None:
            log.error("room %s: its game failed to close: %r", room_id, done.exception(), extra={"room": room_id})

    async def serve(self, game: str, room_id: str, receive: Callable[[], Awaitable[bytes]],
                    send: Callable[[bytes], Awaitable[None]], close: Callable[[int, str], Awaitable[None]], *,
                    peer: str = "local", public: bool = False, lease: Lease | None = None) -> None:
        """Run one client connection to its end; the transport gives receive/send/close, ``peer``
        is the client's address (what per-address limits and allowances count by), ``public`` lists
        a room this connection starts, ``lease`` is this process's hold on the room when a shared
        directory says who owns it."""
        if not self.joins.take(peer):  # before anything is read or started
            self.metrics.joins.labels(game, "refused").inc()
            await close(CLOSE_TRY_AGAIN, "too many joins from this address: try again in a few seconds")
            return
        limits = self.limits
        client = Client(messages=Bucket(limits.messages_per_second, limits.burst),
                        heals=Bucket(limits.heals_per_second, limits.heal_burst))
        client.outbox = Outbox(send, self.limits.queue_frames,
                               on_error=lambda e: client.drop(CLOSE_GOING_AWAY, f"connection lost ({e})"))
        runner: RoomRunner | None = None
        code, reason = CLOSE_NORMAL, "bye"
        try:
            hello = p.decode_client(await asyncio.wait_for(receive(), self.limits.hello_timeout_s))
            if not isinstance(hello, p.Hello):
                raise ProtocolError("the first message must be HELLO")
            with tracing.span("join", game=game, room=room_id, role=hello.role):
                try:
                    while True:
                        runner = await self.runner(game, room_id, peer, public, lease)
                        await runner.prepare(hello.base_tick)
                        if runner.room.state is RoomState.OPEN:  # (it may have closed, empty, meanwhile)
                            break
                    if hello.role == p.PLAYER and not runner.room.holds(hello.token):  # a new seat, not a rejoin
                        self.admission.seat(runner.key, peer, self._holders())
                    welcome = runner.room.join(hello, peer)  # join and register in one step: no frame is missed
                except SessionError:
                    self.metrics.joins.labels(game, "refused").inc()
                    raise
                client.seat = welcome.seat
                for old in [c for c in runner.clients if c.seat == client.seat != p.NO_SEAT]:
                    old.replaced = True  # the same player reconnected: its old connection goes
                    runner.clients.discard(old)
                    old.drop(CLOSE_NORMAL, "replaced by a newer connection of this seat")
                runner.clients.add(client)
                client.state = client.state.to(ConnectionState.PLAYING)
                self.metrics.joins.labels(game, _join_outcome(hello, welcome)).inc()
                client.outbox.push(welcome.encode())  # first in its outbox: every frame goes after it
            while True:
                data = await self._next(client, receive)
                if data is None:
                    code, reason = client.kick or (CLOSE_GOING_AWAY, "idle")
                    break
                if len(data) > p.MAX_CLIENT_MESSAGE:
                    code, reason = CLOSE_TOO_BIG, f"message of {len(data)} bytes"
                    break
                if not client.messages.take():
                    code, reason = CLOSE_POLICY, "too many messages"
                    break
                msg = p.decode_client(data)
                client.acknowledge(msg, limits.unacked_s)
                if isinstance(msg, p.Input):
                    runner.room.submit(client.seat, msg)
                elif isinstance(msg, p.Hash) and msg.tick > client.healed_to and not runner.room.check(client.seat, msg):
                    if not (client.heals.take() and self.heals.take(peer)):
                        self.metrics.heals_skipped.labels(game).inc()  # it asks again with its next hash
                        continue
                    self.metrics.heals.labels(game).inc()
                    await runner.prepare(p.NO_BASE)
                    client.healed_to = runner.room.tick
                    if not client.outbox.push(runner.room.state_for(p.NO_BASE).encode()):  # heal
                        code, reason = CLOSE_TRY_AGAIN, "too slow to keep up with the room"
                        break
                elif isinstance(msg, p.Ping):  # a round trip, answered at once (the message allowance bounds them)
                    if not client.outbox.push(p.pong_message(msg.payload)):
                        code, reason = CLOSE_TRY_AGAIN, "too slow to keep up with the room"
                        break
                elif isinstance(msg, p.Hello):
                    raise ProtocolError("HELLO sent twice")
        except TimeoutError:
            code, reason = CLOSE_GOING_AWAY, "idle"
        except (RoomFull, SeatTaken, CheckpointError) as e:  # the client may try again later
            code, reason = CLOSE_TRY_AGAIN, str(e)
        except RoomLost as e:
            code, reason = CLOSE_ROOM_LOST, str(e)
        except OutOfStep as e:  # (before ProtocolError, its parent) a player that stopped acknowledging
            code, reason = CLOSE_OUT_OF_STEP, str(e)
        except ProtocolError as e:
            code, reason = CLOSE_PROTOCOL, str(e)
        except SessionError as e:
            code, reason = CLOSE_POLICY, str(e)
        except ConnectionError:
            code, reason = CLOSE_GOING_AWAY, "connection lost"
        except GameError as e:  # the game could not start (counted by _build())
            code, reason = CLOSE_INTERNAL, f"the game failed to start: {e}"
        finally:
            if runner is not None and client in runner.clients:
                runner.clients.discard(client)
            if runner is not None and client.state is ConnectionState.PLAYING and not client.replaced:
                runner.room.leave(client.seat)
            client.state = ConnectionState.CLOSED
            client.outbox.close()
        if code != CLOSE_NORMAL:
            log.info("closing a client of %s/%s: %s (%d)", game, room_id, reason, code,
                     extra={"game": game, "room": f"{game}/{room_id}", "seat": client.seat, "code": code})
        await close(code, reason[:120])

    async def _next(self, client: Client, receive: Callable[[], Awaitable[bytes]]) -> bytes | None:
        """The client's next message; None when the room dropped it or it stayed idle too long.
        (One timer per message and no extra task: a drop cancels the waiting receive instead.)"""
        if client.kick is not None:
            return None
        client.reader = asyncio.current_task()
        try:
            async with asyncio.timeout(self.limits.idle_timeout_s):
                return await receive()
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if client.kick is not None and task is not None and task.uncancel() == 0:
                return None  # dropped by the room, not the server shutting down
            raise
        finally:
            client.reader = None

    async def close(self) -> None:
        self._closing = True
        for build in list(self._building.values()):
            build.cancel()
        await asyncio.gather(*self._building.values(), return_exceptions=True)
        self._builders.shutdown(wait=False, cancel_futures=True)
        for clock in self.clocks.values():
            if clock.task is not None:
                clock.task.cancel()
                await asyncio.gather(clock.task, return_exceptions=True)
            clock.runners.clear()  # the cancelled task's traceback keeps the clock a while: not its rooms
        self.clocks.clear()
        self._encoder.shutdown(wait=False, cancel_futures=True)  # no beat runs now to ask it for more
        for runner in list(self.runners.values()):
            self._closed(runner)
        await asyncio.gather(*self._freeing, return_exceptions=True)  # every game freed before the engine goes
        self._closer.shutdown(wait=False)


def _seen(build: asyncio.Task[RoomRunner]) -> None:
    """Mark a build's failure as retrieved: its joins got it (or had all gone)."""
    if not build.cancelled():
        build.exception()


def _close_unused(making: asyncio.Future[Room]) -> None:
    if not making.cancelled() and making.exception() is None:
        making.result().close()


def _join_outcome(hello: p.Hello, welcome: p.Welcome) -> str:
    if welcome.seat == p.NO_SEAT:
        return "spectator"
    return "rejoin" if any(hello.token) and welcome.token == hello.token else "player"
