"""HostImports: the ``layerw`` namespace a game imports (``abi.IMPORTS``), bound to one instance.

A call the host refuses (a bad pointer or handle, an unknown asset name) answers its error code to
the game and tells ``refused`` why (function name, reason): dev checks report it, release runs
pass a no-op. Only refusals pay for the reason; an asset that is merely not ready yet is no refusal.
"""

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


def _outside(caller: Caller, what: str, ptr: int, n: int) -> str:
    return f"{what} [{ptr}, {ptr} + {n}) is not inside the game's {_memory(caller).data_len(caller)} bytes of memory"


def refuse_nothing(func: str, reason: str) -> None:
    """The ``refused`` of a release run: the game gets its error code, nobody is told."""


class HostImports:
    def __init__(self, game: str, assets: AssetTable, tick: Callable[[], int],
                 log: logging.Logger | logging.LoggerAdapter[Any], saves: SaveSlots,
                 refused: Callable[[str, str], None] = refuse_nothing) -> None:
        self.game = game
        self.refused = refused
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

    def _refuse(self, func: str, code: int, reason: str) -> int:
        self.refused(func, reason)
        return code

    def _asset(self, func: str, handle: int) -> tuple[bytes | None, str]:
        """A ready asset's bytes, else None and why (empty while it is merely not ready yet)."""
        asset = self.assets.get(handle)
        if asset is None:
            return None, f"handle {handle} is not an asset handle (asset_request gave {len(self.assets.assets)} so far)"
        if asset.failed:
            return None, f"asset {asset.name!r} (handle {handle}) failed to load"
        return (asset.data, "") if asset.ready and asset.data is not None else (None, "")

    def asset_request(self, caller: Caller, ptr: int, n: int) -> int:
        if not (0 < n <= MAX_NAME and _in_bounds(caller, ptr, n)):
            reason = f"a name of {n} bytes (1..{MAX_NAME})" if not 0 < n <= MAX_NAME else _outside(caller, "the name", ptr, n)
            return self._refuse("asset_request", -1, reason)
        name = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        handle = self.assets.request(name, self.tick())
        if handle < 0:
            self.refused("asset_request", self.assets.missing(name))
        return handle

    def asset_size(self, caller: Caller, handle: int) -> int:
        data, why = self._asset("asset_size", handle)
        if data is None:
            return self._refuse("asset_size", -1, why) if why else -1
        return len(data)

    def asset_read(self, caller: Caller, handle: int, offset: int, dst: int, n: int) -> int:
        data, why = self._asset("asset_read", handle)
        if data is None:
            return self._refuse("asset_read", -1, why) if why else -1
        if offset < 0 or not _in_bounds(caller, dst, n):
            return self._refuse("asset_read", -1, f"offset {offset} < 0" if offset < 0 else _outside(caller, "dst", dst, n))
        chunk = data[offset:offset + n]
        _memory(caller).write(caller, chunk, dst)
        return len(chunk)

    def image_size(self, caller: Caller, handle: int) -> int:
        data, why = self._asset("image_size", handle)
        asset = self.assets.get(handle)
        if data is None or asset is None:
            return self._refuse("image_size", -1, why) if why else -1
        if asset.image is None:
            return self._refuse("image_size", -1, f"asset {asset.name!r} (handle {handle}) is not an image")
        h, w = asset.image.shape[:2]
        return (int(w) << 16) | int(h)

    def log_message(self, caller: Caller, level: int, ptr: int, n: int) -> None:
        if not (0 <= n <= 4096 and _in_bounds(caller, ptr, n)):
            self.refused("log", f"a message of {n} bytes (0..4096)" if not 0 <= n <= 4096
                         else _outside(caller, "the message", ptr, n))
            return
        text = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        self.log.log(LOG_LEVELS[min(max(level, 0), 3)], "[%s] %s", self.game, text)

    # --- save slots: every bad pointer, length or name is LW_SAVE_BAD_ARGUMENT, never a trap ------

    def _save_name(self, caller: Caller, func: str, ptr: int, n: int) -> bytes | None:
        if not (0 < n <= abi.SAVE_NAME_MAX and _in_bounds(caller, ptr, n)):
            self.refused(func, f"a slot name of {n} bytes (1..{abi.SAVE_NAME_MAX})" if not 0 < n <= abi.SAVE_NAME_MAX
                         else _outside(caller, "the slot name", ptr, n))
            return None
        return bytes(_memory(caller).read(caller, ptr, ptr + n))

    def _bad_name(self, func: str, name: bytes, result: int) -> int:
        if result == BAD_ARGUMENT:
            self.refused(func, f"slot name {name[:80]!r} is not 1..{abi.SAVE_NAME_MAX} bytes of [A-Za-z0-9_.-] "
                         "(not starting with '.'), or the version is out of range")
        return result

    def save_write(self, caller: Caller, name_ptr: int, name_len: int, data_ptr: int, data_len: int,
                   version: int) -> int:
        name = self._save_name(caller, "save_write", name_ptr, name_len)
        if name is None:
            return BAD_ARGUMENT
        if not _in_bounds(caller, data_ptr, data_len):
            return self._refuse("save_write", BAD_ARGUMENT, _outside(caller, "the data", data_ptr, data_len))
        data = bytes(_memory(caller).read(caller, data_ptr, data_ptr + data_len))
        return self._bad_name("save_write", name, self.saves.write(name, data, version))

    def save_read(self, caller: Caller, name_ptr: int, name_len: int, dst: int, n: int) -> int:
        name = self._save_name(caller, "save_read", name_ptr, name_len)
        if name is None:
            return BAD_ARGUMENT
        if not _in_bounds(caller, dst, n):
            return self._refuse("save_read", BAD_ARGUMENT, _outside(caller, "dst", dst, n))
        slot = self.saves.slot(name)
        if isinstance(slot, int):
            return self._bad_name("save_read", name, slot)
        chunk = slot.data[:n]
        _memory(caller).write(caller, chunk, dst)
        return len(chunk)

    def save_size(self, caller: Caller, name_ptr: int, name_len: int) -> int:
        name = self._save_name(caller, "save_size", name_ptr, name_len)
        return BAD_ARGUMENT if name is None else self._bad_name("save_size", name, self.saves.size(name))

    def save_version(self, caller: Caller, name_ptr: int, name_len: int) -> int:
        name = self._save_name(caller, "save_version", name_ptr, name_len)
        return BAD_ARGUMENT if name is None else self._bad_name("save_version", name, self.saves.version(name))
