"""SaveSlots: the contract's save calls (``abi.SAVE_RESULTS`` codes) over a ``Saves``, for one game.

Written once for every Python backend: the core imports, the component host and the carts' disk
call it with names and bytes already taken out of guest memory. Slots are read from storage the
first time the game asks and kept (write-through), so a read returns the slot as stored at that
tick. Without a ``Saves`` (a room) every call answers LW_SAVE_UNAVAILABLE. A refused or failed
write is logged once per slot with its typed error and never leaves a half-written slot.
"""

from __future__ import annotations

import logging
from typing import Any

from layerw import abi
from layerw.errors import SaveCorrupt, SaveError, SaveTooBig
from layerw.saves import MAX_VERSION, Saves, Slot, check_name

R = abi.SAVE_RESULTS
MAX_LOGGED = 64  # slots whose failures are logged (a game retrying every tick logs each once)


class SaveSlots:
    def __init__(self, saves: Saves | None, game: str, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.saves = saves
        self.game = game
        self.log = log
        self._cache: dict[str, Slot | None] = {}
        self._reported: set[tuple[str, str]] = set()

    def _name(self, raw: bytes) -> str | None:
        try:
            return check_name(raw.decode("ascii"))
        except (UnicodeDecodeError, SaveError):
            return None

    def _report(self, name: str, error: SaveError) -> None:
        key = (name, type(error).__name__)
        if key not in self._reported and len(self._reported) < MAX_LOGGED:
            self._reported.add(key)
            self.log.warning("[%s] save slot %r: %s: %s", self.game, name, type(error).__name__, error)

    def slot(self, raw_name: bytes) -> Slot | int:
        """The slot named ``raw_name``, or the contract's error code."""
        if self.saves is None:
            return R["UNAVAILABLE"]
        name = self._name(raw_name)
        if name is None:
            return R["BAD_ARGUMENT"]
        if name not in self._cache:
            try:
                self._cache[name] = self.saves.read(name)
            except SaveCorrupt as e:
                self._report(name, e)
                return R["CORRUPT"]
            except SaveError as e:
                self._report(name, e)
                return R["STORAGE"]
        found = self._cache[name]
        return R["EMPTY"] if found is None else found

    def size(self, raw_name: bytes) -> int:
        slot = self.slot(raw_name)
        return slot if isinstance(slot, int) else len(slot.data)

    def version(self, raw_name: bytes) -> int:
        slot = self.slot(raw_name)
        return slot if isinstance(slot, int) else slot.version

    def write(self, raw_name: bytes, data: bytes, version: int) -> int:
        """Replace a slot; LW_SAVE_OK or the error code (the slot keeps its old bytes then)."""
        if self.saves is None:
            return R["UNAVAILABLE"]
        name = self._name(raw_name)
        if name is None or not 0 <= version <= MAX_VERSION:
            return R["BAD_ARGUMENT"]
        try:
            self.saves.write(name, data, version)
        except SaveTooBig as e:
            self._report(name, e)
            return R["TOO_BIG"] if e.limit == "slot" else R["FULL"]
        except SaveError as e:
            self._report(name, e)
            return R["STORAGE"]
        self._cache[name] = Slot(version, bytes(data))
        return R["OK"]
