"""Directory: which server process owns which room — the only state servers share.

One process owns a room (it runs the authoritative game); any process may receive a join for it.
``claim`` makes this process the owner unless another live process already is; ``owner`` says
where a room lives. ``MemoryDirectory`` serves a single process; ``RedisDirectory`` lets several
``layerw serve`` processes (or machines) behind a load balancer route joins to the right one.
Claims expire unless refreshed, so a dead process's rooms can be taken over. A claim is a lease
(``Grant``): besides its owner it carries a fencing token, from a counter that only grows, which the
owner's checkpoint writes carry, so that an owner that stalled past its lease (and was replaced)
cannot overwrite its successor's checkpoint (``checkpoint.py``). ``LoopDirectory`` is
how the event loop calls a directory: a backend that waits on a network does so on threads of its
own, so a stalled Redis delays only the joins waiting on it, never the rooms ticking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from layerw.errors import SessionError

CLAIM_TTL_S = 30
log = logging.getLogger("layerw.session")
T = TypeVar("T")


@dataclass(frozen=True)
class Grant:
    """A room's claim as the directory holds it: the owner's URL and its fencing token (``None``: a
    directory whose tokens mean nothing beyond this process, so writes are not fenced)."""

    owner: str
    token: int | None


class Directory(ABC):
    blocking: ClassVar[bool] = True  # its calls wait on a network: LoopDirectory runs them off the event loop
    ttl_s: float = CLAIM_TTL_S  # a claim not refreshed for this long lapses: how soon another process takes a dead one's rooms
    url: str | None = None  # the shared service's address (None: this process only); save locks use it too

    def claim(self, room: str, me: str) -> str:
        """Make ``me`` the room's owner if nobody live owns it; returns the owner."""
        return self.lease(room, me).owner

    @abstractmethod
    def lease(self, room: str, me: str) -> Grant:
        """Make ``me`` the room's owner if nobody live owns it (with a new fencing token); returns the
        claim as it stands, ``me``'s or another live process's."""

    @abstractmethod
    def renew(self, held: dict[str, Grant]) -> set[str]:
        """Extend each of these claims by ``ttl_s`` if it is still exactly as granted; returns the rooms
        whose claim is (the others were lost: lapsed, and maybe taken by another process)."""

    @abstractmethod
    def owner(self, room: str) -> str | None:
        """The base URL of the process owning ``room``, if any."""

    @abstractmethod
    def expires_in(self, room: str) -> float | None:
        """Seconds until the room's claim lapses unless renewed (None: nobody claims it)."""

    @abstractmethod
    def refresh(self, rooms: list[str], me: str) -> None:
        """Keep ``me``'s claims alive."""

    @abstractmethod
    def release(self, room: str, me: str) -> None:
        """Give up a room this process owns."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @staticmethod
    def open(url: str | None, ttl_s: float = CLAIM_TTL_S) -> Directory:
        """``None`` or ``memory://`` for one process; ``redis://HOST:PORT/DB`` for many; claims last ``ttl_s``."""
        if not url or url == "memory://":
            return MemoryDirectory(ttl_s)
        if url.startswith(("redis://", "rediss://", "unix://")):
            return RedisDirectory(url, ttl_s)
        raise SessionError(f"unknown room directory {url!r}: use memory:// or redis://HOST:PORT")


class MemoryDirectory(Directory):
    blocking = False  # a dict in this process: calls take microseconds

    def __init__(self, ttl_s: float = CLAIM_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._owners: dict[str, tuple[str, float]] = {}

    def lease(self, room: str, me: str) -> Grant:
        current = self.owner(room)
        if current is None:
            self._owners[room] = (me, time.monotonic() + self.ttl_s)
            return Grant(me, None)
        return Grant(current, None)

    def renew(self, held: dict[str, Grant]) -> set[str]:
        kept = {room for room, grant in held.items() if self.owner(room) == grant.owner}
        for room in kept:
            self._owners[room] = (held[room].owner, time.monotonic() + self.ttl_s)
        return kept

    def owner(self, room: str) -> str | None:
        entry = self._owners.get(room)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def expires_in(self, room: str) -> float | None:
        entry = self._owners.get(room)
        left = entry[1] - time.monotonic() if entry is not None else -1.0
        return left if left >= 0 else None

    def refresh(self, rooms: list[str], me: str) -> None:
        for room in rooms:
            if self.owner(room) == me:
                self._owners[room] = (me, time.monotonic() + self.ttl_s)

    def release(self, room: str, me: str) -> None:
        if self.owner(room) == me:
            del self._owners[room]

    def close(self) -> None:
        self._owners.clear()


class RedisDirectory(Directory):
    """Claims are Redis keys ``layerw:room:<room>`` holding ``"<token> <owner URL>"``, set with NX and a
    TTL (in milliseconds); tokens come from one counter, ``layerw:fence``, that only grows (it lives as
    long as Redis keeps its data: a Redis that restarts empty must be persistent for fencing to hold)."""

    # Spec: https://redis.io/docs/latest/commands/set/ (NX, PX) and INCR, in one script: an atomic claim-or-read.
    _CLAIM = ("local v = redis.call('GET', KEYS[1]) if v then return v end "
              "v = redis.call('INCR', KEYS[2]) .. ' ' .. ARGV[1] redis.call('SET', KEYS[1], v, 'PX', ARGV[2]) return v")
    _MINE = "local v = redis.call('GET', KEYS[1]) if v and string.sub(v, string.find(v, ' ', 1, true) + 1) == ARGV[1] "
    _REFRESH = _MINE + "then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = _MINE + "then return redis.call('DEL', KEYS[1]) end return 0"
    _RENEW = ("local kept = {} for i, key in ipairs(KEYS) do if redis.call('GET', key) == ARGV[i] then "
              "redis.call('PEXPIRE', key, ARGV[#ARGV]) kept[#kept + 1] = i end end return kept")

    def __init__(self, url: str, ttl_s: float = CLAIM_TTL_S) -> None:
        import redis

        self.ttl_s = ttl_s
        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        try:
            self._redis.ping()
        except redis.RedisError as e:
            raise SessionError(f"cannot reach the room directory at {url}: {e}") from e
        self._claim = self._redis.register_script(self._CLAIM)
        self._refresh = self._redis.register_script(self._REFRESH)
        self._release = self._redis.register_script(self._RELEASE)
        self._renew = self._redis.register_script(self._RENEW)
        self.url = url

    @property
    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl_s * 1e3))

    @staticmethod
    def _key(room: str) -> str:
        return f"layerw:room:{room}"

    @contextmanager
    def _reaching(self, what: str) -> Iterator[None]:
        """Redis's errors (unreachable, timed out) become SessionError, naming the directory."""
        import redis

        try:
            yield
        except redis.RedisError as e:
            raise SessionError(f"the room directory at {self.url} failed to {what}: {e}") from e

    @staticmethod
    def _grant(value: str) -> Grant:
        token, _, owner = value.partition(" ")
        return Grant(owner, int(token))

    @staticmethod
    def _value(grant: Grant) -> str:
        return f"{grant.token} {grant.owner}"

    def lease(self, room: str, me: str) -> Grant:
        with self._reaching(f"claim {room}"):
            return self._grant(str(self._claim(keys=[self._key(room), "layerw:fence"], args=[me, self._ttl_ms])))

    def renew(self, held: dict[str, Grant]) -> set[str]:
        if not held:
            return set()
        rooms = list(held)
        with self._reaching(f"renew {len(rooms)} leases"):
            kept = self._renew(keys=[self._key(room) for room in rooms],
                               args=[*(self._value(held[room]) for room in rooms), self._ttl_ms])
        return {rooms[int(i) - 1] for i in kept}

    def owner(self, room: str) -> str | None:
        with self._reaching(f"look up {room}"):
            value = self._redis.get(self._key(room))
        return self._grant(str(value)).owner if value is not None else None

    def expires_in(self, room: str) -> float | None:
        # Spec: https://redis.io/docs/latest/commands/pttl/ (-2: no key, -1: no expiry, which claims never lack)
        with self._reaching(f"look up {room}'s lease"):
            left = int(self._redis.pttl(self._key(room)))
        return left / 1e3 if left >= 0 else None

    def refresh(self, rooms: list[str], me: str) -> None:
        with self._reaching(f"refresh {len(rooms)} claims"):
            for room in rooms:
                self._refresh(keys=[self._key(room)], args=[me, self._ttl_ms])

    def release(self, room: str, me: str) -> None:
        with self._reaching(f"release {room}"):
            self._release(keys=[self._key(room)], args=[me])

    def close(self) -> None:
        self._redis.close()


class LoopDirectory:
    """A directory as code on the event loop calls it. A blocking backend's calls run on a few
    threads of this object's own (a Redis stall holds those threads, never the loop); a
    non-blocking one is called in place. Failures are SessionError, as the backend raises them."""

    def __init__(self, directory: Directory, threads: int = 4) -> None:
        self.directory = directory
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="layerw-directory") if directory.blocking else None

    async def _call(self, call: Callable[[], T]) -> T:
        if self._threads is None:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    async def claim(self, room: str, me: str) -> str:
        return await self._call(lambda: self.directory.claim(room, me))

    async def lease(self, room: str, me: str) -> Grant:
        return await self._call(lambda: self.directory.lease(room, me))

    async def renew(self, held: dict[str, Grant]) -> set[str]:
        return await self._call(lambda: self.directory.renew(held))

    async def expires_in(self, room: str) -> float | None:
        return await self._call(lambda: self.directory.expires_in(room))

    async def refresh(self, rooms: list[str], me: str) -> None:
        await self._call(lambda: self.directory.refresh(rooms, me))

    def release_soon(self, room: str, me: str) -> None:
        """Release a room without waiting (a room closes on its clock's beat); a failure is logged:
        the claim then lapses after the directory's ttl_s."""
        if self._threads is None:
            self._release_logged(room, me)
        else:
            self._threads.submit(self._release_logged, room, me)

    def _release_logged(self, room: str, me: str) -> None:
        try:
            self.directory.release(room, me)
        except SessionError as e:
            log.warning("%s; its claim lapses in %g s", e, self.directory.ttl_s, extra={"room": room})

    async def aclose(self) -> None:
        """Finish the releases already asked for (off the loop), then close the backend."""
        if self._threads is not None:
            await asyncio.to_thread(self._threads.shutdown, True)
        self.directory.close()
