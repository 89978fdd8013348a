"""Bounded caches, least recently used first out: DiskLRU (files under a folder, bounded by bytes)
and MemoryLRU (in memory, bounded by entry count and by bytes).

The edge keeps chunks in a DiskLRU and origin answers in two MemoryLRUs (manifests by channel,
immutable manifests), so a stream of distinct requests costs it at most the bounds, never disk or
memory without end.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from layerw.diskbudget import DiskBudget
from layerw.errors import ConfigError

K = TypeVar("K")
V = TypeVar("V")
log = logging.getLogger("layerw.edge")


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


class DiskLRU:
    """Files under ``root`` named by key; past ``max_bytes`` the least recently used go
    (``layerw.diskbudget``, trimming to exactly the bound)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._budget = DiskBudget([root], max_bytes, trim_to=1.0)
        self._disk_full_logged = False

    def has(self, key: str) -> bool:
        return (self.root / key).is_file()

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        self._budget.used(path)  # recency for eviction
        return data

    def put(self, key: str, data: bytes) -> None:
        try:
            self._budget.write(self.root / key, data)
        except OSError as e:  # e.g. disk full: keep serving from the origin, say so once
            if not self._disk_full_logged:
                log.warning("edge cache cannot write to %s (%s); serving from the origin without caching", self.root, e)
                self._disk_full_logged = True

    @property
    def size(self) -> int:
        return self._budget.total
