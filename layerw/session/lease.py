"""Lease: this process's hold on a room it owns in the directory, and ``Leases``, all of them, renewed together.

A lease is good until a fraction (``HELD_FRACTION``) of the directory's ttl after the moment the
request that granted or last renewed it was sent: the directory's claim lasts at least the whole ttl
from then, so an owner that cannot renew (the directory unreachable, the claim lapsed or taken) stops
its room before any other process may claim it. A stall past that (the process paused) is what the
fencing token is for: the owner's late checkpoint writes carry a token older than its successor's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from layerw.errors import SessionError
from layerw.session.directory import Grant, LoopDirectory

log = logging.getLogger("layerw.session")
HELD_FRACTION = 0.75  # of the ttl: the rest is the margin for a stop, and for writes in flight, before another may claim
RENEWALS_PER_TTL = 4  # renewals sent within one ttl: three may fail before a room stops
LAPSE_MARGIN_S = 0.005  # claimed this long after the directory's clock says a lapsed claim expires


class Lease:
    """One room's lease: its grant (owner, fencing token) and until when (monotonic) it is held."""

    def __init__(self, room: str, grant: Grant, sent_at: float, ttl_s: float) -> None:
        self.room, self.grant, self.ttl_s = room, grant, ttl_s
        self.until = sent_at + ttl_s * HELD_FRACTION
        self.lost = False
        self.users = 0  # connections using it now (a room is built only once its join is read: it must outlive the wait)

    @property
    def token(self) -> int | None:
        return self.grant.token

    def held(self, now: float | None = None) -> bool:
        """Still ours: renewed recently enough, and never found lost."""
        return not self.lost and (time.monotonic() if now is None else now) < self.until

    def renewed(self, sent_at: float) -> None:
        if not self.lost:
            self.until = max(self.until, sent_at + self.ttl_s * HELD_FRACTION)

    def lose(self) -> None:
        self.lost = True


class Leases:
    """The leases this process (``me``) holds, by room, renewed on a thread of their own every
    ``every_s``: a busy event loop (rooms being built, checkpoints encoded) delays no renewal, so it
    costs no room its lease. ``wanted`` says which rooms run or are being built (read from that thread)."""

    def __init__(self, directory: LoopDirectory, me: str, wanted: Callable[[], set[str]] = set) -> None:
        self.directory, self.me, self.wanted = directory, me, wanted
        self.held: dict[str, Lease] = {}
        self.late_s = 0.0  # the most a renewal round started behind its schedule (an overloaded process)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="layerw-leases", daemon=True)

    @property
    def every_s(self) -> float:
        return self.directory.directory.ttl_s / RENEWALS_PER_TTL

    async def take(self, room: str, gone: str | None = None) -> Grant | Lease:
        """The room's lease when this process owns it (the one it already holds, or a new one), used by
        the caller until it gives it ``back``; else the grant naming the owner. ``gone`` is an owner
        the client could not reach: when the directory still names it, this waits for its claim to
        lapse (at most one ttl; a live owner renews it meanwhile and is named again) and claims the
        room that instant, instead of the client asking again and again until it has. The hint is
        never trusted beyond that wait: ownership changes only as the directory grants it. A
        directory that fails raises SessionError."""
        sent = time.monotonic()
        grant = await self.directory.lease(room, self.me)
        if grant.owner != self.me and gone is not None and grant.owner == gone:
            left = await self.directory.expires_in(room)
            if left is not None and left <= self.directory.directory.ttl_s:
                await asyncio.sleep(left + LAPSE_MARGIN_S)
                sent = time.monotonic()
                grant = await self.directory.lease(room, self.me)
        if grant.owner != self.me:
            return grant
        with self._lock:
            lease = self.held.get(room)
            if lease is None or lease.grant != grant or not lease.held():
                lease = self.held[room] = Lease(room, grant, sent, self.directory.directory.ttl_s)
            lease.users += 1
        return lease

    def back(self, lease: Lease) -> None:
        """A connection is done with ``lease`` (its room may run on, if ``wanted``)."""
        with self._lock:
            lease.users -= 1

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        due = time.monotonic() + self.every_s
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            late = time.monotonic() - due
            if late > self.every_s:
                log.warning("lease renewals started %.2f s late: this process is overloaded (a room stops once its "
                            "lease is %.2f s old)", late, self.directory.directory.ttl_s * HELD_FRACTION)
            self.late_s = max(self.late_s, late)
            self.renew(self.wanted())
            due = max(due + self.every_s, time.monotonic())

    def renew(self, wanted: set[str]) -> None:
        """Renew the leases of ``wanted`` rooms and of those a connection uses (a blocking call to the
        directory), mark the ones the directory no longer holds as lost, and forget the others (released)."""
        with self._lock:
            for room in [r for r, lease in self.held.items() if r not in wanted and lease.users == 0]:
                self._drop(room)
            held = dict(self.held)
        if not held:
            return
        sent = time.monotonic()
        try:
            kept = self.directory.directory.renew({room: lease.grant for room, lease in held.items()})
        except SessionError as e:  # the next round tries again; a lease not renewed in time stops its room
            log.warning("%s", e)
            return
        for room, lease in held.items():
            if room in kept:
                lease.renewed(sent)
            elif not lease.lost:
                log.error("room %s: its lease was lost (lapsed, or another process claims it): it stops here", room,
                          extra={"room": room})
                lease.lose()

    def drop(self, room: str) -> None:
        """Forget the room's lease and release its claim (off the loop) if still ours, unless a
        connection still uses it (a join that will start the room again)."""
        with self._lock:
            self._drop(room)

    def _drop(self, room: str) -> None:
        lease = self.held.get(room)
        if lease is not None and lease.users == 0:
            del self.held[room]
            if not lease.lost:
                self.directory.release_soon(room, self.me)

    def close(self) -> None:
        """Stop renewing (the rooms are closed by now: their claims lapse, or were released)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def __enter__(self) -> Leases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
