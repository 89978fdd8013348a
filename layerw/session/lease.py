"""Lease: this process's hold on a room it owns in the directory, and ``Leases``, all of them, renewed together.

A lease is good until a fraction (``HELD_FRACTION``) of the directory's ttl after the moment the
request that granted or last renewed it was sent: the directory's claim lasts at least the whole ttl
from then, so an owner that cannot renew (the directory unreachable, the claim lapsed or taken) stops
its room before any other process may claim it. A stall past that (the process paused) is what the
fencing token is for: the owner's late checkpoint writes carry a token older than its successor's.
"""

from __future__ import annotations

import logging
import time

from layerw.errors import SessionError
from layerw.session.directory import Grant, LoopDirectory

log = logging.getLogger("layerw.session")
HELD_FRACTION = 0.75  # of the ttl: the rest is the margin for a stop, and for writes in flight, before another may claim
RENEWALS_PER_TTL = 4  # renewals sent within one ttl: three may fail before a room stops


class Lease:
    """One room's lease: its grant (owner, fencing token) and until when (monotonic) it is held."""

    def __init__(self, room: str, grant: Grant, sent_at: float, ttl_s: float) -> None:
        self.room, self.grant, self.ttl_s = room, grant, ttl_s
        self.until = sent_at + ttl_s * HELD_FRACTION
        self.lost = False

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
    """The leases this process (``me``) holds, by room; ``renew`` keeps those still wanted."""

    def __init__(self, directory: LoopDirectory, me: str) -> None:
        self.directory, self.me = directory, me
        self.held: dict[str, Lease] = {}

    @property
    def every_s(self) -> float:
        return self.directory.directory.ttl_s / RENEWALS_PER_TTL

    async def take(self, room: str) -> Grant | Lease:
        """The room's lease when this process owns it (the one it already holds, or a new one); else
        the grant naming the owner. A directory that fails raises SessionError."""
        sent = time.monotonic()
        grant = await self.directory.lease(room, self.me)
        if grant.owner != self.me:
            return grant
        lease = self.held.get(room)
        if lease is None or lease.grant != grant or not lease.held():
            lease = self.held[room] = Lease(room, grant, sent, self.directory.directory.ttl_s)
        return lease

    async def renew(self, wanted: set[str]) -> None:
        """Renew the leases of ``wanted`` rooms (those running or being built), mark the ones the
        directory no longer holds as lost, and forget the others (released)."""
        for room in [r for r in self.held if r not in wanted]:
            self.drop(room)
        if not self.held:
            return
        sent = time.monotonic()
        held = dict(self.held)
        try:
            kept = await self.directory.renew({room: lease.grant for room, lease in held.items()})
        except SessionError as e:  # the next round tries again; a lease not renewed in time stops its room
            log.warning("%s", e)
            return
        for room, lease in held.items():
            if room in kept:
                lease.renewed(sent)
            else:
                log.error("room %s: its lease was lost (lapsed, or another process claims it): it stops here", room,
                          extra={"room": room})
                lease.lose()

    def drop(self, room: str) -> None:
        """Forget the room's lease and release its claim (off the loop) if still ours."""
        lease = self.held.pop(room, None)
        if lease is not None and not lease.lost:
            self.directory.release_soon(room, self.me)
