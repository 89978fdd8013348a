"""Library: a compiled module loaded with ctypes, and its instances (``AotInstance``).

The runtime library is loaded once per process with RTLD_GLOBAL (every module library resolves
wasm2c's runtime and lwaot's hooks from it, so one signal handler and one deadline watchdog serve
all modules); each module library is loaded RTLD_LOCAL with hidden symbols, so any number of
modules coexist. ctypes releases the GIL for the whole of ``lw_call``: guest code runs without it,
and a host import (a ``HOST_FN`` callback) takes it back while Python runs.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerw.errors import ToolchainError
from layerw.runtime.aot import glue
from layerw.runtime.aot.linetable import LineTable

HOST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int32, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64))
GROW_FAILED = (1 << 64) - 1
MAX_ARGS = 4  # i32 arguments of an export (a game's take at most 2)
TRACE_MAX = 64  # lwaot.c's TRACE_MAX: native frames of a trap's stack

# lwaot.h's trap codes beyond wasm2c's
DEADLINE, HOST, INITIAL_MEMORY, MEMORY_COUNT, SETUP, REENTRY, TABLE_COUNT, TABLE_SIZE = range(100, 108)


class RtMemory(ctypes.Structure):
    """wasm2c's wasm_rt_memory_t (wasm-rt.h)."""

    _fields_ = [("data", ctypes.c_void_p), ("data_end", ctypes.c_void_p), ("page_size", ctypes.c_uint32),
                ("pages", ctypes.c_uint64), ("max_pages", ctypes.c_uint64), ("size", ctypes.c_uint64),
                ("is64", ctypes.c_bool)]


class RtInstance(ctypes.Structure):
    """lwaot.h's lw_instance (the head of every instance)."""

    _fields_ = [("dispatch", ctypes.c_void_p), ("host", ctypes.c_void_p), ("memory", ctypes.POINTER(RtMemory)),
                ("cap_pages", ctypes.c_uint64), ("max_table_elements", ctypes.c_uint32),
                ("max_tables", ctypes.c_uint32), ("memories", ctypes.c_uint32), ("tables", ctypes.c_uint32),
                ("instantiated", ctypes.c_int32)]


class _Runtime:
    """The runtime library, loaded once per process: every module library resolves lwaot's hooks
    and thread state from the first one loaded, so all must be that same build (its file name is
    its build's digest, whichever cache holds it)."""

    _loaded: tuple[str, ctypes.CDLL] | None = None
    _lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> ctypes.CDLL:
        with cls._lock:
            if cls._loaded is not None:
                name, lib = cls._loaded
                if name != path.name:
                    raise ToolchainError(f"this process runs the AOT runtime {name}, not {path.name}: the AOT tier's "
                                         "sources or toolchain changed since it started; restart it")
                return lib
            lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            # addresses as plain integers (instance, arguments, result): converting ctypes pointers
            # doubled the cost of a call (about 1 us more per tick, measured)
            lib.lw_call.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
            lib.lw_call.restype = ctypes.c_int32
            lib.lw_memory_grow.argtypes = [ctypes.POINTER(RtMemory), ctypes.c_uint64]
            lib.lw_memory_grow.restype = ctypes.c_uint64
            lib.lw_trace.argtypes = [ctypes.c_void_p, ctypes.c_int32]
            lib.lw_trace.restype = ctypes.c_int32
            cls._loaded = (path.name, lib)
            return lib


@functools.lru_cache(maxsize=16)
def line_table(path: Path) -> LineTable:
    """The line table of the library at ``path`` (its name is its content's digest), read once per
    process for every game that runs it (reading takes about a second for a 200 KB library)."""
    return LineTable(path)


class Library:
    """One module's library, beside the runtime it was built against."""

    def __init__(self, runtime: Path, module: Path) -> None:
        self.runtime = _Runtime.load(runtime)
        self.path = module
        self.module = ctypes.CDLL(str(module), mode=ctypes.RTLD_LOCAL)
        self._lines: tuple[LineTable, int] | None = None
        self.module.lw_module_new.argtypes = [HOST_FN, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32]
        self.module.lw_module_new.restype = ctypes.POINTER(RtInstance)
        self.module.lw_module_free.argtypes = [ctypes.POINTER(RtInstance)]
        self.module.lw_module_free.restype = None

    def wasm_frames(self, trace: list[int]) -> list[tuple[int, int]]:
        """A trap's native stack (``AotInstance.trace``) as wasm frames, (code offset, function
        index) innermost first; the addresses outside this module's translated code are dropped.
        Reads the library's line table on first use (OSError when its file is gone)."""
        if self._lines is None:
            table = line_table(self.path)
            loaded = ctypes.cast(self.module.lw_module_new, ctypes.c_void_p).value or 0
            self._lines = (table, loaded - table.symbols["lw_module_new"])  # where the library is loaded
        table, base = self._lines
        return [frame for address in trace for frame in table.frames(address - base)]


def _free(free: Callable[[Any], None], instance: Any) -> None:
    free(instance)


class AotInstance:
    """One instance of a module's library: its calls, its memory, freed on ``close`` (or when
    collected). ``host`` answers the module's imports (see ``HOST_FN``)."""

    def __init__(self, library: Library, host: Callable[[int, Any, Any], int], *, cap_pages: int, max_tables: int,
                 max_table_elements: int) -> None:
        self._call = library.runtime.lw_call
        self._trace = library.runtime.lw_trace
        self._trace_buffer = (ctypes.c_uint64 * TRACE_MAX)()
        self._grow_memory = library.runtime.lw_memory_grow
        self._host = HOST_FN(host)  # kept alive as long as the instance
        ptr = library.module.lw_module_new(self._host, cap_pages, max_tables, max_table_elements)
        if not ptr:
            raise MemoryError("cannot allocate an AOT instance")
        self._ptr = ptr
        self._head = ptr.contents
        self._args = (ctypes.c_uint32 * MAX_ARGS)()
        self._result = ctypes.c_uint64()
        self._addresses = (ctypes.addressof(ptr.contents), ctypes.addressof(self._args), ctypes.addressof(self._result))
        self._closed = False
        self._finalizer = weakref.finalize(self, _free, library.module.lw_module_free, ptr)

    def call(self, which: int, args: tuple[int, ...], deadline_ms: int) -> tuple[int, int]:
        """Run dispatch id ``which`` (``glue.INSTANTIATE`` or 1 + an index into the library's exports,
        ``glue.EXPORTS`` for a game) with i32 ``args``; (trap code, 0 when none; the result's bits)."""
        for i, value in enumerate(args):
            self._args[i] = value & 0xFFFFFFFF
        instance, arguments, result = self._addresses
        code = self._call(instance, which, arguments, result, deadline_ms)
        return code, self._result.value

    def trace(self) -> list[int]:
        """The native stack of this thread's last trap (``Library.wasm_frames`` reads it): take it
        right after the call that trapped, on the thread that made it."""
        n = self._trace(ctypes.addressof(self._trace_buffer), TRACE_MAX)
        return list(self._trace_buffer[:n])

    def instantiate(self, deadline_ms: int) -> int:
        return self.call(glue.INSTANTIATE, (), deadline_ms)[0]

    @property
    def memory(self) -> RtMemory | None:
        """The instance's linear memory (None before instantiation allocated it)."""
        mem = None if self._closed else self._head.memory
        return mem.contents if mem else None

    def grow(self, pages: int) -> bool:
        """Grow memory by ``pages`` (within its cap); False when it cannot."""
        mem = None if self._closed else self._head.memory
        return bool(mem) and self._grow_memory(mem, pages) != GROW_FAILED

    def close(self) -> None:
        self._closed = True
        self._finalizer()
