"""Symbolizer: a browser's crash report names code offsets; the server names their source lines.

Players never download a game's symbols (``store_routes``), so a page that crashed reports its
wasm frames as offsets (V8's ``wasm-function[N]:0xOFFSET``) in its telemetry; the server reads
the version's ``symbols.json`` from its store (``Store.symbols``) and logs function and file:line
for each. Tables are kept in a small bounded cache by (game, version); store reads run on the
caller's thread (the telemetry route calls from a thread pool).
"""

from __future__ import annotations

import logging

from layerw.errors import InvalidModule, StoreError
from layerw.server.lru import MemoryLRU
from layerw.store.store import Store
from layerw.symbols import Symbols

log = logging.getLogger("layerw.client")
KEPT_TABLES = 8


class Symbolizer:
    """Source frames for a (game, version)'s code offsets, from ``store``'s symbols."""

    def __init__(self, store: Store, max_tables: int = KEPT_TABLES) -> None:
        self.store = store
        self._tables: MemoryLRU[tuple[str, str], Symbols] = MemoryLRU(max_tables, max_tables, lambda _: 1)

    def table(self, game: str, version: str) -> Symbols | None:
        """The version's table, or None when it has none (or it cannot be read: logged)."""
        table = self._tables.get((game, version))
        if table is None:
            try:
                table = Symbols.from_bytes(self.store.symbols(game, version))
            except (StoreError, InvalidModule) as e:
                log.info("no symbols for %s %s (%s): its crash reports keep their offsets", game, version, e)
                return None
            self._tables.put((game, version), table)
        return table

    def frames(self, game: str, version: str, offsets: list[int]) -> list[dict[str, object]]:
        """Each offset's source frames (inlined calls expanded), innermost first; [] without a table."""
        table = self.table(game, version)
        if table is None:
            return []
        out: list[dict[str, object]] = []
        for offset in offsets:
            frames = table.frames(offset)
            if frames:
                out.extend(f.to_json() for f in frames)
            else:
                out.append({"offset": offset, "function": "?", "file": "", "line": 0})
        return out
