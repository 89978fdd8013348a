"""Catalog: where the server finds the games it hosts, by name.

``Catalog`` is the interface; ``DirCatalog`` serves build directories (each one a game);
``StoreCatalog`` serves the games published in a store, by channel: each room runs the version the
channel names when the room is built, and a version's bundle is loaded once and shared (a room that
resumes after a failover costs a channel lookup, not a new S3 client and a module load).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path

from layerw.bundle import Bundle
from layerw.errors import ConfigError
from layerw.store.store import Store


class Catalog(ABC):
    @abstractmethod
    def names(self) -> list[str]:
        """The games this server offers."""

    @abstractmethod
    def bundle(self, name: str) -> Bundle:
        """The game to run in a room; KeyError-like ConfigError for unknown names."""


class DirCatalog(Catalog):
    def __init__(self, build_dirs: list[Path]) -> None:
        self._bundles = {}
        for d in build_dirs:
            b = Bundle.open(Path(d))
            self._bundles[b.config.name] = b

    def names(self) -> list[str]:
        return sorted(self._bundles)

    def bundle(self, name: str) -> Bundle:
        try:
            return self._bundles[name]
        except KeyError:
            raise ConfigError(f"no game named {name!r} here; games: {self.names()}") from None


class StoreCatalog(Catalog):
    """Published games in a store; rooms run the version a channel (default ``latest``) names."""

    def __init__(self, store: Store, channel: str = "latest", kept: int = 16) -> None:
        self.store = store
        self.channel = channel
        self.kept = kept  # versions whose bundles stay loaded (the least recently used go first)
        self._bundles: OrderedDict[tuple[str, str], Bundle] = OrderedDict()
        self._lock = threading.Lock()  # rooms are built on several threads

    def names(self) -> list[str]:
        return self.store.games()

    def bundle(self, name: str) -> Bundle:
        from layerw.store.bundle import StoreBundle

        version = self.store.resolve(name, self.channel).config.version  # what the channel names now
        with self._lock:
            cached = self._bundles.get((name, version))
            if cached is not None:
                self._bundles.move_to_end((name, version))
                return cached
        loaded = StoreBundle(self.store.url, name, version=version, options=self.store.options, store=self.store)
        with self._lock:
            kept = self._bundles.setdefault((name, version), loaded)  # two threads may load it at once: one is kept
            self._bundles.move_to_end((name, version))
            while len(self._bundles) > self.kept:
                self._bundles.popitem(last=False)
        return kept
