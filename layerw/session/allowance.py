"""Allowance: token buckets that bound what a connection, or a client address, may make a room do.

A join (a new room, or a snapshot sent) and a heal (a snapshot resent after a disagreeing hash)
cost the server far more than a frame. ``Bucket`` allows ``burst`` at once and ``rate`` a second
after that; ``Allowance`` keeps one bucket per client address, ``max_peers`` of them at most (the
least recently seen are forgotten first, so a flood of addresses cannot grow it).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class Bucket:
    def __init__(self, rate: float, burst: int, now: float | None = None) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.refilled = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> bool:
        """Spend a token; False (nothing spent) when there is none."""
        now = time.monotonic() if now is None else now
        self.tokens = min(float(self.burst), self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Allowance:
    """One bucket per client address."""

    def __init__(self, rate: float, burst: int, max_peers: int = 10_000) -> None:
        self.rate, self.burst, self.max_peers = rate, burst, max_peers
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, peer: str, now: float | None = None) -> bool:
        bucket = self.buckets.pop(peer, None) or Bucket(self.rate, self.burst, now)
        self.buckets[peer] = bucket  # most recently seen last
        while len(self.buckets) > self.max_peers:
            self.buckets.popitem(last=False)
        return bucket.take(now)
