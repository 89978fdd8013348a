"""HostImports: the ``layerw`` namespace a game imports (``abi.IMPORTS``), bound to one instance."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import wasmtime

from layerw import abi
from layerw.runtime.assets import AssetTable
from layerw.runtime.guestmemory import Caller, GuestMemory
from layerw.runtime.saveslots import SaveSlots

MAX_NAME = 1024
LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
BAD_ARGUMENT = abi.SAVE_RESULTS["BAD_ARGUMENT"]


def _memory(caller: Caller) -> GuestMemory:
    mem = caller.get("memory")
    assert isinstance(mem, GuestMemory)
    return mem


def _in_bounds(caller: Caller, ptr: int, n: int) -> bool:
    return ptr >= 0 and n >= 0 and ptr + n <= _memory(caller).data_len(caller)


class HostImports:
    def __init__(self, game: str, assets: AssetTable, tick: Callable[[], int],
                 log: logging.Logger | logging.LoggerAdapter[Any], saves: SaveSlots) -> None:
        self.game = game
        self.saves = saves
        self.assets = assets
        self.tick = tick
        self.log = log

    def functions(self) -> dict[str, Callable[..., Any]]:
        """Each import's host function by name (each takes the caller first)."""
        funcs: dict[str, Callable[..., Any]] = {
            "asset_request": self.asset_request,
            "asset_size": self.asset_size,
            "asset_read": self.asset_read,
            "image_size": self.image_size,
            "log": self.log_message,
            "save_write": self.save_write,
            "save_read": self.save_read,
            "save_size": self.save_size,
            "save_version": self.save_version,
        }
        assert set(funcs) == {s.name for s in abi.IMPORTS}
        return funcs

    def define(self, linker: wasmtime.Linker) -> None:
        funcs = self.functions()
        i32 = wasmtime.ValType.i32()
        for sig in abi.IMPORTS:
            ty = wasmtime.FuncType([i32] * len(sig.params), [i32] * len(sig.results))
            linker.define_func(abi.IMPORT_MODULE, sig.name, ty, funcs[sig.name], access_caller=True)

    def asset_request(self, caller: Caller, ptr: int, n: int) -> int:
        if not (0 < n <= MAX_NAME and _in_bounds(caller, ptr, n)):
            return -1
        name = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        return self.assets.request(name, self.tick())

    def asset_size(self, caller: Caller, handle: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.data is None:
            return -1
        return len(asset.data)

    def asset_read(self, caller: Caller, handle: int, offset: int, dst: int, n: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.data is None or offset < 0 or not _in_bounds(caller, dst, n):
            return -1
        chunk = asset.data[offset:offset + n]
        _memory(caller).write(caller, chunk, dst)
        return len(chunk)

    def image_size(self, caller: Caller, handle: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.image is None:
            return -1
        h, w = asset.image.shape[:2]
        return (int(w) << 16) | int(h)

    def log_message(self, caller: Caller, level: int, ptr: int, n: int) -> None:
        if not (0 <= n <= 4096 and _in_bounds(caller, ptr, n)):
            return
        text = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        self.log.log(LOG_LEVELS[min(max(level, 0), 3)], "[%s] %s", self.game, text)

    # --- save slots: every bad pointer, length or name is LW_SAVE_BAD_ARGUMENT, never a trap ------

    def _save_name(self, caller: Caller, ptr: int, n: int) -> bytes | None:
        if not (0 < n <= abi.SAVE_NAME_MAX and _in_bounds(caller, ptr, n)):
            return None
        return bytes(_memory(caller).read(caller, ptr, ptr + n))

    def save_write(self, caller: Caller, name_ptr: int, name_len: int, data_ptr: int, data_len: int,
                   version: int) -> int:
        name = self._save_name(caller, name_ptr, name_len)
        if name is None or not _in_bounds(caller, data_ptr, data_len):
            return BAD_ARGUMENT
        return self.saves.write(name, bytes(_memory(caller).read(caller, data_ptr, data_ptr + data_len)), version)

    def save_read(self, caller: Caller, name_ptr: int, name_len: int, dst: int, n: int) -> int:
        name = self._save_name(caller, name_ptr, name_len)
        if name is None or not _in_bounds(caller, dst, n):
            return BAD_ARGUMENT
        slot = self.saves.slot(name)
        if isinstance(slot, int):
            return slot
        chunk = slot.data[:n]
        _memory(caller).write(caller, chunk, dst)
        return len(chunk)

    def save_size(self, caller: Caller, name_ptr: int, name_len: int) -> int:
        name = self._save_name(caller, name_ptr, name_len)
        return BAD_ARGUMENT if name is None else self.saves.size(name)

    def save_version(self, caller: Caller, name_ptr: int, name_len: int) -> int:
        name = self._save_name(caller, name_ptr, name_len)
        return BAD_ARGUMENT if name is None else self.saves.version(name)
