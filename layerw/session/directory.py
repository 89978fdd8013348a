"""Directory: which server process owns which room — the only state servers share.

One process owns a room (it runs the authoritative game); any process may receive a join for it.
``claim`` makes this process the owner unless another live process already is; ``owner`` says
where a room lives. ``MemoryDirectory`` serves a single process; ``RedisDirectory`` lets several
``layerw serve`` processes (or machines) behind a load balancer route joins to the right one.
Claims expire unless refreshed, so a dead process's rooms can be taken over.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from layerw.errors import SessionError

CLAIM_TTL_S = 30


class Directory(ABC):
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
    def open(url: str | None) -> Directory:
        """``None`` or ``memory://`` for one process; ``redis://HOST:PORT/DB`` for many."""
        if not url or url == "memory://":
            return MemoryDirectory()
        if url.startswith(("redis://", "rediss://", "unix://")):
            return RedisDirectory(url)
        raise SessionError(f"unknown room directory {url!r}: use memory:// or redis://HOST:PORT")


class MemoryDirectory(Directory):
    def __init__(self) -> None:
        self._owners: dict[str, tuple[str, float]] = {}

    def claim(self, room: str, me: str) -> str:
        current = self.owner(room)
        if current is None:
            self._owners[room] = (me, time.monotonic() + CLAIM_TTL_S)
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
                self._owners[room] = (me, time.monotonic() + CLAIM_TTL_S)

    def release(self, room: str, me: str) -> None:
        if self.owner(room) == me:
            del self._owners[room]

    def close(self) -> None:
        self._owners.clear()


class RedisDirectory(Directory):
    """Claims are Redis keys ``layerw:room:<room>`` set with NX and a TTL."""

    # Spec: https://redis.io/docs/latest/commands/set/ (NX, EX) for an atomic claim-or-read.
    _REFRESH = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        try:
            self._redis.ping()
        except redis.RedisError as e:
            raise SessionError(f"cannot reach the room directory at {url}: {e}") from e
        self._refresh = self._redis.register_script(self._REFRESH)
        self._release = self._redis.register_script(self._RELEASE)

    @staticmethod
    def _key(room: str) -> str:
        return f"layerw:room:{room}"

    def claim(self, room: str, me: str) -> str:
        if self._redis.set(self._key(room), me, nx=True, ex=CLAIM_TTL_S):
            return me
        owner = self._redis.get(self._key(room))
        return str(owner) if owner is not None else self.claim(room, me)

    def owner(self, room: str) -> str | None:
        value = self._redis.get(self._key(room))
        return str(value) if value is not None else None

    def refresh(self, rooms: list[str], me: str) -> None:
        for room in rooms:
            self._refresh(keys=[self._key(room)], args=[me, CLAIM_TTL_S])

    def release(self, room: str, me: str) -> None:
        self._release(keys=[self._key(room)], args=[me])

    def close(self) -> None:
        self._redis.close()
