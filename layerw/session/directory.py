"""Directory: which server process owns which room — the only state servers share.

One process owns a room (it runs the authoritative game); any process may receive a join for it.
``claim`` makes this process the owner unless another live process already is; ``owner`` says
where a room lives. ``MemoryDirectory`` serves a single process; ``RedisDirectory`` lets several
``layerw serve`` processes (or machines) behind a load balancer route joins to the right one.
Claims expire unless refreshed, so a dead process's rooms can be taken over. ``LoopDirectory`` is
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
from typing import ClassVar, TypeVar

from layerw.errors import SessionError

CLAIM_TTL_S = 30
log = logging.getLogger("layerw.session")
T = TypeVar("T")


class Directory(ABC):
    blocking: ClassVar[bool] = True  # its calls wait on a network: LoopDirectory runs them off the event loop
    ttl_s: float = CLAIM_TTL_S  # a claim not refreshed for this long lapses: how soon another process takes a dead one's rooms

    @abstractmethod
    def claim(self, room: str, me: str) -> str:
        """Make ``me`` the room's owner if nobody live owns it; returns the owner."""

    @abstractmethod
    def owner(self, room: str) -> str | None:
        """The base URL of the process owning ``room``, if any."""

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

    def claim(self, room: str, me: str) -> str:
        current = self.owner(room)
        if current is None:
            self._owners[room] = (me, time.monotonic() + self.ttl_s)
            return me
        return current

    def owner(self, room: str) -> str | None:
        entry = self._owners.get(room)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

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
    """Claims are Redis keys ``layerw:room:<room>`` set with NX and a TTL (in milliseconds)."""

    # Spec: https://redis.io/docs/latest/commands/set/ (NX, PX) for an atomic claim-or-read.
    _REFRESH = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

    def __init__(self, url: str, ttl_s: float = CLAIM_TTL_S) -> None:
        import redis

        self.ttl_s = ttl_s
        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        try:
            self._redis.ping()
        except redis.RedisError as e:
            raise SessionError(f"cannot reach the room directory at {url}: {e}") from e
        self._refresh = self._redis.register_script(self._REFRESH)
        self._release = self._redis.register_script(self._RELEASE)
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

    def claim(self, room: str, me: str) -> str:
        with self._reaching(f"claim {room}"):
            if self._redis.set(self._key(room), me, nx=True, px=self._ttl_ms):
                return me
            owner = self._redis.get(self._key(room))
        return str(owner) if owner is not None else self.claim(room, me)

    def owner(self, room: str) -> str | None:
        with self._reaching(f"look up {room}"):
            value = self._redis.get(self._key(room))
        return str(value) if value is not None else None

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

    async def refresh(self, rooms: list[str], me: str) -> None:
        await self._call(lambda: self.directory.refresh(rooms, me))

    def release_soon(self, room: str, me: str) -> None:
        """Release a room without waiting (a room closes on its clock's beat); a failure is logged:
        the claim then lapses after CLAIM_TTL_S."""
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
