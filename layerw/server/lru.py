"""MemoryLRU: an in-memory cache bounded by entry count and by bytes, least recently used first out.

The edge keeps origin answers in two of these (manifests by channel, immutable manifests), so a
stream of distinct requests costs it at most the bounds, never memory without end.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from layerw.errors import ConfigError

K = TypeVar("K")
V = TypeVar("V")


class MemoryLRU(Generic[K, V]):
    """At most ``max_entries`` values of ``size(value)`` bytes each and ``max_bytes`` in all; a put
    past either bound drops the least recently used (a get or a put marks an entry used). A value
    larger than ``max_bytes`` on its own is not kept."""

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[V], int]) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ConfigError(f"a cache needs room for something: max_entries={max_entries}, max_bytes={max_bytes}; "
                              "give both at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self.bytes = 0

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.pop(key)
        size = self._size(value)
        if size > self.max_bytes:
            return
        self._items[key] = value
        self.bytes += size
        while len(self._items) > self.max_entries or self.bytes > self.max_bytes:
            self.bytes -= self._size(self._items.popitem(last=False)[1])

    def pop(self, key: K) -> V | None:
        value = self._items.pop(key, None)
        if value is not None:
            self.bytes -= self._size(value)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items
