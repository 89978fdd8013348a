"""SaveRates: how many save requests a player, and a client address, may make, counted in this
process or across every process.

Each is a token bucket (``burst`` at once, then ``rate`` a second). ``LocalRates`` keeps them in this
process (``Allowance``): behind a load balancer spreading requests over N servers a player would get
N times its rate. ``RedisRates`` keeps them in the Redis that ``layerw serve --rooms`` shares (as the
quota's write locks are, ``player_locks.py``): one bucket per player and per address for the whole
fleet, refilled by Redis's own clock, each key gone once its bucket would be full again (so memory
is bounded by the players and addresses active in the last ``burst / rate`` seconds).
``SaveRates.open`` picks one from that URL.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

from layerw.errors import SessionError
from layerw.session.allowance import Allowance

PLAYER, ADDRESS = "player", "address"


class SaveRates(ABC):
    blocking: ClassVar[bool] = True  # take() waits on a network: callers on an event loop run it on a thread

    def __init__(self, player_rate: float, player_burst: int, address_rate: float, address_burst: int) -> None:
        self.bounds = {PLAYER: (player_rate, player_burst), ADDRESS: (address_rate, address_burst)}

    @abstractmethod
    def take(self, kind: str, who: str) -> bool:
        """Spend one request of ``who`` (a player id or a client address, as ``kind`` says); False when
        its bucket is empty (nothing spent). SessionError when the shared counter cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @staticmethod
    def open(url: str | None, player_rate: float, player_burst: int, address_rate: float, address_burst: int,
             remembered: int = 10_000) -> SaveRates:
        """``None`` (this process) or ``redis://HOST:PORT/DB`` (every process using it)."""
        if url is None:
            return LocalRates(player_rate, player_burst, address_rate, address_burst, remembered)
        return RedisRates(url, player_rate, player_burst, address_rate, address_burst)


class LocalRates(SaveRates):
    blocking = False

    def __init__(self, player_rate: float, player_burst: int, address_rate: float, address_burst: int,
                 remembered: int = 10_000) -> None:
        super().__init__(player_rate, player_burst, address_rate, address_burst)
        self.allowances = {kind: Allowance(rate, burst, remembered) for kind, (rate, burst) in self.bounds.items()}

    def take(self, kind: str, who: str) -> bool:
        return self.allowances[kind].take(who)

    def close(self) -> None:
        for allowance in self.allowances.values():
            allowance.buckets.clear()


class RedisRates(SaveRates):
    """Hashes ``layerw:saves-rate:<kind>:<who>`` holding a bucket's tokens and when it was last
    refilled, updated by one script (atomic however many processes take at once)."""

    # Spec: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/ (TIME in a script
    # that writes: scripts replicate their effects, Redis >= 5), HSET, PEXPIRE.
    _TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then tokens = tokens - 1 taken = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return taken
"""

    def __init__(self, url: str, player_rate: float, player_burst: int, address_rate: float, address_burst: int) -> None:
        import redis

        super().__init__(player_rate, player_burst, address_rate, address_burst)
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        self._take = self._redis.register_script(self._TAKE)

    def take(self, kind: str, who: str) -> bool:
        import redis

        rate, burst = self.bounds[kind]
        full_ms = math.ceil(burst / rate * 1e3) + 1000  # past this an untouched bucket is full: the key may go
        try:
            return bool(self._take(keys=[f"layerw:saves-rate:{kind}:{who}"], args=[rate, burst, full_ms]))
        except redis.RedisError as e:
            raise SessionError(f"the save rate counter at {self.url} failed: {e}") from e

    def close(self) -> None:
        self._redis.close()
