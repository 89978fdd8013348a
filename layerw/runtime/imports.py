"""HostImports: the ``layerw`` namespace a game imports (``abi.IMPORTS``), bound to one instance."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import wasmtime

from layerw import abi
from layerw.runtime.assets import AssetTable

MAX_NAME = 1024
LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)


def _memory(caller: wasmtime.Caller) -> wasmtime.Memory:
    mem = caller.get("memory")
    assert isinstance(mem, wasmtime.Memory)
    return mem


def _in_bounds(caller: wasmtime.Caller, ptr: int, n: int) -> bool:
    return ptr >= 0 and n >= 0 and ptr + n <= _memory(caller).data_len(caller)


class HostImports:
    def __init__(self, game: str, assets: AssetTable, tick: Callable[[], int],
                 log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.game = game
        self.assets = assets
        self.tick = tick
        self.log = log

    def define(self, linker: wasmtime.Linker) -> None:
        funcs: dict[str, Callable[..., Any]] = {
            "asset_request": self.asset_request,
            "asset_size": self.asset_size,
            "asset_read": self.asset_read,
            "image_size": self.image_size,
            "log": self.log_message,
        }
        assert set(funcs) == {s.name for s in abi.IMPORTS}
        i32 = wasmtime.ValType.i32()
        for sig in abi.IMPORTS:
            ty = wasmtime.FuncType([i32] * len(sig.params), [i32] * len(sig.results))
            linker.define_func(abi.IMPORT_MODULE, sig.name, ty, funcs[sig.name], access_caller=True)

    def asset_request(self, caller: wasmtime.Caller, ptr: int, n: int) -> int:
        if not (0 < n <= MAX_NAME and _in_bounds(caller, ptr, n)):
            return -1
        name = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        return self.assets.request(name, self.tick())

    def asset_size(self, caller: wasmtime.Caller, handle: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.data is None:
            return -1
        return len(asset.data)

    def asset_read(self, caller: wasmtime.Caller, handle: int, offset: int, dst: int, n: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.data is None or offset < 0 or not _in_bounds(caller, dst, n):
            return -1
        chunk = asset.data[offset:offset + n]
        _memory(caller).write(caller, chunk, dst)
        return len(chunk)

    def image_size(self, caller: wasmtime.Caller, handle: int) -> int:
        asset = self.assets.get(handle)
        if asset is None or not asset.ready or asset.image is None:
            return -1
        h, w = asset.image.shape[:2]
        return (int(w) << 16) | int(h)

    def log_message(self, caller: wasmtime.Caller, level: int, ptr: int, n: int) -> None:
        if not (0 <= n <= 4096 and _in_bounds(caller, ptr, n)):
            return
        text = _memory(caller).read(caller, ptr, ptr + n).decode("utf-8", "replace")
        self.log.log(LOG_LEVELS[min(max(level, 0), 3)], "[%s] %s", self.game, text)
