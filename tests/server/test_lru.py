"""MemoryLRU: bounded by entry count and by bytes, least recently used first out."""

from __future__ import annotations

import pytest

from layerw.errors import ConfigError
from layerw.server.lru import MemoryLRU


def test_entry_bound_drops_the_least_recently_used() -> None:
    lru: MemoryLRU[str, bytes] = MemoryLRU(3, 1 << 20, len)
    for key in "abc":
        lru.put(key, key.encode())
    assert lru.get("a") == b"a"  # a is now the most recently used
    lru.put("d", b"d")
    assert "b" not in lru and [k for k in "acd" if k in lru] == ["a", "c", "d"] and len(lru) == 3


def test_byte_bound_counts_every_value() -> None:
    lru: MemoryLRU[int, bytes] = MemoryLRU(100, 1000, len)
    for i in range(10):
        lru.put(i, bytes(300))
        assert lru.bytes <= 1000
    assert len(lru) == 3 and lru.bytes == 900 and 9 in lru and 6 not in lru
    lru.put(9, bytes(100))  # replacing a value counts only the new one
    assert lru.bytes == 700
    lru.put(99, bytes(1001))  # larger than the whole bound: not kept, nothing evicted for it
    assert 99 not in lru and len(lru) == 3 and lru.bytes == 700
    assert lru.pop(9) == bytes(100) and lru.bytes == 600


def test_a_cache_without_room_is_refused() -> None:
    with pytest.raises(ConfigError, match="room"):
        MemoryLRU(0, 10, len)
