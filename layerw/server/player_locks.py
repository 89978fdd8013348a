"""PlayerLocks: one player's save writes, one at a time, in this process or across every process.

A write checks the player's quota against what the store holds, then puts: two writes at once
could both pass. ``LocalLocks`` serialises them within one process (asyncio locks, the least
recently used forgotten past a bound); ``RedisLocks`` across every process sharing the Redis of
``layerw serve --rooms`` (a key set NX with a ttl, released only by its holder), so the quota holds
however a player's requests are spread over a fleet. ``PlayerLocks.open`` picks one from that URL.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from layerw.errors import SessionError

LOCK_TTL_S = 10.0  # a holder that died frees the player after this (a write takes milliseconds)
WAIT_S = 5.0  # a write waits this long for the player's other writes, then is refused (503)


class PlayerLocks(ABC):
    @abstractmethod
    def hold(self, player: str) -> AbstractAsyncContextManager[None]:
        """Held while the player's write runs; raises SessionError when it cannot be had in time."""

    @staticmethod
    def open(url: str | None, max_players: int = 10_000) -> PlayerLocks:
        """``None`` (one process) or ``redis://HOST:PORT/DB`` (every process using it)."""
        return LocalLocks(max_players) if url is None else RedisLocks(url)

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class LocalLocks(PlayerLocks):
    def __init__(self, max_players: int = 10_000) -> None:
        self.max_players = max_players
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()

    def hold(self, player: str) -> AbstractAsyncContextManager[None]:
        return self._hold(player)

    @asynccontextmanager
    async def _hold(self, player: str) -> AsyncIterator[None]:
        lock = self._locks.pop(player, None) or asyncio.Lock()
        self._locks[player] = lock
        while len(self._locks) > self.max_players:
            oldest, held = next(iter(self._locks.items()))
            if held.locked():
                break
            del self._locks[oldest]
        async with lock:
            yield

    def close(self) -> None:
        self._locks.clear()


class RedisLocks(PlayerLocks):
    """Keys ``layerw:saves-lock:<player>`` holding a random token, set NX PX; released by compare-and-delete."""

    # Spec: https://redis.io/docs/latest/commands/set/ (NX, PX): a lock its holder alone releases.
    _RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        self._release = self._redis.register_script(self._RELEASE)
        self._local = LocalLocks()  # this process's writes of a player queue here, not by polling Redis

    def _try(self, key: str, token: str) -> bool:
        import redis

        try:
            return bool(self._redis.set(key, token, nx=True, px=round(LOCK_TTL_S * 1e3)))
        except redis.RedisError as e:
            raise SessionError(f"the save lock at {self.url} failed: {e}") from e

    def hold(self, player: str) -> AbstractAsyncContextManager[None]:
        return self._hold(player)

    @asynccontextmanager
    async def _hold(self, player: str) -> AsyncIterator[None]:
        key, token = f"layerw:saves-lock:{player}", secrets.token_hex(16)
        async with self._local.hold(player):
            deadline = time.monotonic() + WAIT_S
            while not await asyncio.to_thread(self._try, key, token):
                if time.monotonic() > deadline:
                    raise SessionError(f"this player's other saves held the lock for {WAIT_S:g} s: try again")
                await asyncio.sleep(0.02)
            try:
                yield
            finally:
                await asyncio.to_thread(self._release, keys=[key], args=[token])

    def close(self) -> None:
        self._redis.close()
