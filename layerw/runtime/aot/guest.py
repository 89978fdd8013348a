"""AotMemory and AotCaller: an AOT instance's linear memory and caller, as host functions see them.

The same ``HostImports`` and ``Wasi`` functions serve both tiers (``layerw.runtime.guestmemory``):
they read and write guest memory through ``caller.get("memory")``; here that memory is the
instance's wasm2c memory, reached through its data pointer (no copy beyond the one asked for).
"""

from __future__ import annotations

import ctypes
from typing import Any

from layerw.runtime.aot.library import AotInstance, RtMemory
from layerw.runtime.snapshot import PAGE


class AotMemory:
    """The linear memory of ``instance`` (the ``store`` arguments are accepted and unused)."""

    def __init__(self, instance: AotInstance) -> None:
        self.instance = instance
        self._view_type: type[ctypes.Array[ctypes.c_ubyte]] | None = None

    def _memory(self) -> RtMemory:
        mem = self.instance.memory
        if mem is None:
            raise ValueError("the instance has no memory yet")
        return mem

    def data_len(self, store: Any = None) -> int:
        mem = self.instance.memory
        return int(mem.size) if mem is not None else 0

    def pages(self) -> int:
        return self.data_len() // PAGE

    def _checked(self, start: int, stop: int) -> int:
        mem = self._memory()
        if not 0 <= start <= stop <= mem.size:
            raise ValueError(f"[{start}, {stop}) is outside guest memory of {mem.size} bytes")
        return int(mem.data)

    def read(self, store: Any, start: int, stop: int) -> bytearray:
        base = self._checked(start, stop)
        return bytearray(ctypes.string_at(base + start, stop - start))

    def write(self, store: Any, value: bytes | bytearray, start: int) -> None:
        base = self._checked(start, start + len(value))
        ctypes.memmove(base + start, bytes(value), len(value))

    def view(self) -> memoryview:
        """All of guest memory, zero-copy, valid until the memory grows (the array type for its
        size is held here: ctypes caches such types only weakly, see layerw.runtime.ctypes_types)."""
        mem = self._memory()
        size = int(mem.size)
        if self._view_type is None or ctypes.sizeof(self._view_type) != size:
            self._view_type = ctypes.c_ubyte * size
        return memoryview(self._view_type.from_address(mem.data)).cast("B")


class AotCaller:
    """What a host function receives as its caller: the instance's exports it may look up."""

    def __init__(self, memory: AotMemory) -> None:
        self.memory = memory

    def get(self, name: str) -> AotMemory | None:
        return self.memory if name == "memory" else None
