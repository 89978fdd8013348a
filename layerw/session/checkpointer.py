"""Checkpointer: each room written to the store every ``every_s`` seconds, so that a process that
dies (``kill -9`` too) loses at most that much play; ``Checkpoints`` is a server's settings and
writer threads, and opens each new room through ``checkpoint.resume``.

On the event loop a room's checkpointer only appends each stamped frame to a list and, when a
write is due and none is in flight, captures what the head needs (a few small copies); the write
itself — a new kept snapshot as a block delta against the chain's last one (a full one every
``full_every`` links), then the head — runs on the writers' threads, so a tick never waits for
the store. Objects no head needs any more (an older chain, an earlier process's run) are deleted
after each full snapshot's head is written: a room holds at most ``full_every`` + 1 snapshot
objects and its head. A failing store never stops the room: the failure is logged, the room's
``gap`` says since when nothing became durable, and the next write retries; frames held meanwhile
are bounded (``max_frames``; past it the chain restarts from the newest kept snapshot).

A room keeps a snapshot only every ``snapshot_every`` ticks (5 s by default), and a resume replays
every frame since the head's snapshot: on a survivor resuming many rooms at once that replay was
most of the failover time. So when the newest snapshot is more than ``replay_s`` of play old, a
write captures one of its own (a copy of the guest memory on the loop; the delta is computed on the
writer thread), kept by the checkpointer alone: a resume then replays at most ``replay_s`` of frames.

A room owned under a lease (``lease.py``) writes its token's head and objects (``checkpoint.py``,
fencing), puts nothing once the lease is no longer held, and its sweep spares newer tokens' objects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from layerw.bundle import Bundle
from layerw.errors import CheckpointError, StoreError
from layerw.runtime.engine import Engine
from layerw.session.checkpoint import Checkpoint, Link, fence_of, head_key, incarnation_of, resume, room_prefix
from layerw.session.room import Room
from layerw.session.saved import Saved
from layerw.store.store import Store

log = logging.getLogger("layerw.session")
FAILURE_LOG_EVERY = 20  # after the first failed write of a room, one log line per this many more
KEPT_WRITES = 256  # recent writes a room's checkpointer keeps for its report


class Fence(Protocol):
    """What a room's checkpoints need of its lease (``lease.Lease``): the fencing token its objects
    carry, and whether it is still held (nothing is put once it is not)."""

    @property
    def token(self) -> int | None: ...

    def held(self, now: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Written:
    """One write's outcome: the head's tick, the bytes put (snapshot object + head), seconds taken,
    and the chain the head names."""

    tick: int
    bytes: int
    seconds: float
    chain: tuple[Link, ...]
    snapshot_bytes: int = 0  # of those bytes, the new snapshot object's (0: only the head moved)


@dataclass(frozen=True)
class _Job:
    saved: Saved | None  # a kept snapshot to add to the chain (None: the chain stays, only the head moves)
    previous: Saved | None  # the chain's last snapshot, for a delta (None: `saved` starts a new chain, whole)
    chain: tuple[Link, ...]  # the chain as durable now
    head: Checkpoint  # its chain is replaced by the one this job makes
    sweep: bool  # delete every other object of the room after the head is written


class WriterState(enum.Enum):
    RUNNING = "running"
    STOPPED = "stopped"  # the server stopped: the checkpoint stays for the next process
    ENDED = "ended"  # the room is over: its checkpoint is deleted
    FENCED = "fenced"  # the room's lease was lost: another process may own it now, so nothing more is written or deleted

    def to(self, new: WriterState) -> WriterState:
        if self is not WriterState.RUNNING:
            raise CheckpointError(f"a checkpointer cannot go from {self.value} to {new.value}")
        return new


class Checkpoints:
    """Where one server's rooms checkpoint: the store, how often, and the threads that write."""

    def __init__(self, store: Store, every_s: float = 0.5, *, full_every: int = 4, max_frames: int = 36_000,
                 durable: bool = True, writers: int = 4, max_age_s: float | None = None, replay_s: float = 1.0) -> None:
        if every_s <= 0 or full_every < 1 or max_frames < 1 or replay_s <= 0:
            raise CheckpointError(f"checkpoints need every_s > 0, full_every >= 1, max_frames >= 1, replay_s > 0 "
                                  f"(got {every_s}, {full_every}, {max_frames}, {replay_s})")
        self.store, self.every_s, self.full_every, self.max_frames = store, every_s, full_every, max_frames
        self.replay_s = replay_s  # the most play a resume replays: older snapshots get a fresh one at the next write
        self.durable = durable  # heads and snapshots fsynced (a power cut, not only a killed process)
        self.max_age_s = max_age_s  # an older checkpoint is abandoned: never resumed (None: any age)
        self.threads = ThreadPoolExecutor(writers, thread_name_prefix="layerw-checkpoint")
        self.in_flight: set[asyncio.Future[object]] = set()  # writes and deletes, awaited by aclose

    def open(self, game: str, room_id: str, bundle: Bundle, engine: Engine, options: dict[str, int]) -> Room:
        """The room, resumed from its checkpoint when it has one (``checkpoint.resume``: on a builder
        thread, it reads the store and replays frames)."""
        return resume(self.store, game, room_id, bundle, engine, options, max_age_s=self.max_age_s)

    def writer(self, game: str, room_id: str, room: Room, lease: Fence | None = None) -> Checkpointer:
        return Checkpointer(self, game, room_id, room, lease)

    def submit(self, call: Callable[[], object]) -> asyncio.Future[object]:
        """Run ``call`` on a writer thread; the future is awaited by ``aclose``."""
        done: asyncio.Future[object] = asyncio.get_running_loop().run_in_executor(self.threads, call)
        self.in_flight.add(done)
        done.add_done_callback(self.in_flight.discard)
        return done

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) for the writes in flight (a stopping server's last checkpoints, and those that
        follow them), then stop the threads."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.wait(list(self.in_flight), timeout=deadline - time.monotonic())
            await asyncio.sleep(0)  # their done callbacks, which may start the last writes
        self.threads.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the threads once the writes asked for are done (outside an event loop)."""
        self.threads.shutdown(wait=True)

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class Checkpointer:
    """One room's checkpoints, written in order (one write in flight at a time)."""

    def __init__(self, checkpoints: Checkpoints, game: str, room_id: str, room: Room, lease: Fence | None = None) -> None:
        self.checkpoints, self.room, self.lease = checkpoints, room, lease
        self.game, self.room_id = game, room_id
        self.token = lease.token if lease is not None else None  # the fencing token its objects carry
        self.prefix, self.head_key = room_prefix(game, room_id), head_key(game, room_id, self.token)
        self.incarnation = incarnation_of(self.token)
        self.state = WriterState.RUNNING
        self.chain: tuple[Link, ...] = ()  # durable now
        self.tail: Saved | None = None  # the kept snapshot the durable chain ends with
        self.first = room.saved[-1].tick  # tick of frames[0]
        self.frames: list[bytes] = list(room.frames)  # stamped since `first`
        self.durable_tick = -1  # the newest tick a head in the store resumes at
        self.failures = 0  # writes failed since the last one that succeeded
        self.gap_since: float | None = None  # monotonic time of the first of those failures
        self.recent: deque[Written] = deque(maxlen=KEPT_WRITES)  # the latest writes that succeeded
        self.started = 0  # writes started
        self.capture_s = 0.0  # event-loop time those writes took, in all: their captures (the rest is on a thread)
        self._writing: asyncio.Future[object] | None = None
        self._due = 0.0  # monotonic time the next write is due (the first one at once)
        self._last_due = False  # the server stopped while a write was in flight: one more follows it

    def on_frame(self, frame: bytes, now: float) -> None:
        """The room stamped ``frame`` (called on the event loop after each tick: an append, and a
        capture when a write is due)."""
        self.frames.append(frame)
        if self._writing is None and now >= self._due and self.state is WriterState.RUNNING:
            self._due = now + self.checkpoints.every_s
            started = time.perf_counter()
            self._write()
            self.capture_s += time.perf_counter() - started
            self.started += 1

    def _write(self) -> None:
        room, newest = self.room, self.room.saved[-1]
        if self.tail is not None and self.tail.tick > newest.tick:  # the checkpointer's own snapshot is newer
            newest = self.tail
        if room.tick - newest.tick > self.checkpoints.replay_s * room.tick_rate:
            newest = Saved(room.tick, room.game.snapshot(), room.inputs.record.tobytes())
        if len(self.frames) > self.checkpoints.max_frames and newest.tick > self.first:  # writes keep failing
            del self.frames[:newest.tick - self.first]
            self.first, self.chain, self.tail = newest.tick, (), None
        fresh = self.tail is None or newest.tick != self.tail.tick
        full = fresh and (self.tail is None or len(self.chain) >= self.checkpoints.full_every)
        base = newest if fresh else self.tail
        assert base is not None
        head = Checkpoint(self.game, self.room_id, self.incarnation, room_options(room), self.chain, base.inputs,
                          tuple(self.frames[base.tick - self.first:]),
                          tuple((s.state.value, hashlib.sha256(s.token).hexdigest() if s.token else s.digest, s.away_since)
                                for s in room.seats),
                          tuple((t, seat, player) for t, changes in sorted(room.pending.items())
                                for seat, player in sorted(changes.items())),
                          tuple(room.events), time.time())
        job = _Job(newest if fresh else None, None if full else self.tail, () if full else self.chain, head, full)
        self._writing = self.checkpoints.submit(lambda: self._put(job))
        self._writing.add_done_callback(lambda done: self._written(job, done))

    def _fenced(self) -> None:
        """Refuse a put once the lease is gone (another process may own the room by now)."""
        if self.lease is not None and not self.lease.held():
            raise CheckpointError(f"room {self.game}/{self.room_id}: its lease is no longer held; nothing more is written")

    def _put(self, job: _Job) -> Written:
        """The write (on a writer thread): the new snapshot object, then the head that names it."""
        store, durable = self.checkpoints.store, self.checkpoints.durable
        started, size, chain = time.perf_counter(), 0, job.chain
        self._fenced()
        if job.saved is not None:
            body = job.saved.full() if job.previous is None else job.saved.delta_from(job.previous)
            kind = "full" if job.previous is None else "delta"
            key = f"{self.prefix}{self.incarnation}/{job.saved.tick:010d}.{kind}"
            store.put(key, body, durable=durable)
            chain, size = (*chain, Link(key, job.saved.tick, kind, hashlib.sha256(body).hexdigest())), len(body)
        record = dataclasses.replace(job.head, chain=chain)
        head = record.encode()
        self._fenced()
        store.put(self.head_key, head, durable=durable)
        if job.sweep:
            self._sweep({self.head_key, *(link.key for link in chain)})
        return Written(record.tick, size + len(head), time.perf_counter() - started, chain, size)

    def _sweep(self, keep: set[str]) -> None:
        """Delete the room's objects no head needs (an older chain, an earlier run's, an earlier owner's;
        never a newer owner's). The head is written by now: a failure here only leaves objects for the
        next sweep, never fails the write."""
        store, mine = self.checkpoints.store, self.token or 0
        try:
            for obj in list(store.list(self.prefix)):
                if obj.key not in keep and fence_of(obj.key, self.prefix) <= mine:
                    store.delete(obj.key)
        except StoreError as e:
            log.warning("room %s/%s: old checkpoint objects stay until the next sweep: %s", self.game, self.room_id, e)

    def _written(self, job: _Job, done: asyncio.Future[object]) -> None:
        self._writing = None
        error = None if done.cancelled() else done.exception()
        if done.cancelled() or error is not None:
            self.failures += 1
            if self.gap_since is None:
                self.gap_since = time.monotonic()
            if self.failures % FAILURE_LOG_EVERY == 1:
                log.warning("room %s/%s: checkpoint failed (%d in a row; durable up to tick %d, the room is at %d): %r",
                            self.game, self.room_id, self.failures, self.durable_tick, self.room.tick, error,
                            extra={"room": f"{self.game}/{self.room_id}"})
        else:
            written = done.result()
            assert isinstance(written, Written)
            if self.failures:
                log.info("room %s/%s: checkpoints written again after %d failures (%.1f s without one)", self.game,
                         self.room_id, self.failures, time.monotonic() - (self.gap_since or 0.0))
            self.failures, self.gap_since, self.durable_tick = 0, None, written.tick
            self.recent.append(written)
            self.chain = written.chain
            if job.saved is not None:
                self.tail = job.saved
                del self.frames[:job.saved.tick - self.first]
                self.first = job.saved.tick
        if self.state is WriterState.ENDED:
            self._delete()
        elif self.state is WriterState.FENCED:
            return
        elif self.state is WriterState.STOPPED and self._last_due:
            self._last_due = False
            self._write()

    @property
    def last(self) -> Written | None:
        return self.recent[-1] if self.recent else None

    def report(self) -> dict[str, float]:
        """What an operator (``GET /rooms``) and the bench see: how far the checkpoint is behind the
        room, and what its recent writes cost."""
        seconds = sorted(w.seconds for w in self.recent)
        return {"durable_tick": self.durable_tick, "behind_ticks": self.room.tick - self.durable_tick,
                "failures": self.failures, "gap_s": 0.0 if self.gap_since is None else time.monotonic() - self.gap_since,
                "writes": self.started, "loop_ms_per_write": 1e3 * self.capture_s / max(1, self.started),
                "bytes_per_write": sum(w.bytes for w in self.recent) / max(1, len(self.recent)),
                "write_ms_p50": 1e3 * seconds[len(seconds) // 2] if seconds else 0.0,
                "write_ms_max": 1e3 * seconds[-1] if seconds else 0.0,
                "snapshot_bytes": sum(w.snapshot_bytes for w in self.recent) / max(1, sum(1 for w in self.recent
                                                                                         if w.snapshot_bytes))}

    def stop(self, *, ended: bool) -> None:
        """The room closes: ``ended`` (it is over) deletes its checkpoint; otherwise (the server stops)
        one last checkpoint is written, so a clean restart loses nothing."""
        if self.state is not WriterState.RUNNING:
            return
        if ended:
            self.state = self.state.to(WriterState.ENDED)
            if self._writing is None:
                self._delete()
            return
        if self._writing is None:
            self._write()
        else:
            self._last_due = True
        self.state = self.state.to(WriterState.STOPPED)

    def fence(self) -> None:
        """The room's lease was lost: write and delete nothing more (its checkpoint is its successor's now)."""
        if self.state is WriterState.RUNNING:
            self.state = self.state.to(WriterState.FENCED)

    def _delete(self) -> None:
        store, head, prefix, mine = self.checkpoints.store, self.head_key, self.prefix, self.token or 0

        def delete() -> None:
            store.delete(head)  # first: no process resumes from a head whose snapshots are going
            for obj in list(store.list(prefix)):
                if fence_of(obj.key, prefix) <= mine:  # a newer owner's objects are not this room's to delete
                    store.delete(obj.key)

        self.checkpoints.submit(delete).add_done_callback(self._deleted)

    def _deleted(self, done: asyncio.Future[object]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning("room %s/%s ended but its checkpoint could not be deleted: %r", self.game, self.room_id,
                        done.exception())


def room_options(room: Room) -> dict[str, int]:
    """The keyword options that build this room again (what a resuming process passes ``Room``)."""
    return {"seats": len(room.seats), "input_delay": room.input_delay, "hash_every": room.hash_every,
            "snapshot_every": room.snapshot_every, "grace_ticks": room.grace_ticks, "seed": room.seed}
