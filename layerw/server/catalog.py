"""Catalog: where the server finds the games it hosts, by name.

``Catalog`` is the interface; ``DirCatalog`` serves build directories (each one a game);
``StoreCatalog`` serves the games published in a store, by channel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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

    def __init__(self, store: Store, channel: str = "latest") -> None:
        self.store = store
        self.channel = channel

    def names(self) -> list[str]:
        return self.store.games()

    def bundle(self, name: str) -> Bundle:
        from layerw.store.bundle import StoreBundle

        return StoreBundle(self.store.url, name, channel=self.channel, options=self.store.options)
