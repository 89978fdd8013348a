"""Keeps the small ctypes array types wasmtime-py builds on its hot paths alive.

CPython caches ``c_ubyte * n`` and friends only weakly, and wasmtime-py builds one on many calls
(``Memory.read``/``write`` of n bytes, ``Caller.get`` of a name, ``Func.__call__``'s value
arrays). Each type nobody holds is dropped after its call and, being a cycle, waits for the
cyclic GC; the next call builds it again. In a room server that is a steady stream of fresh type
objects: tens of microseconds to build each, and garbage that makes the collector run (and
pause ticks) where nothing else would. Holding the small ones makes every such call a cache hit.
Importing this module does it (about 20 ms and 1.6 MB, once per process).
"""

from __future__ import annotations

import ctypes

import wasmtime._ffi as ffi  # wasmtime-py's own ctypes declarations (wasmtime_val_t)

SMALL = 256  # byte counts up to this: names, WASI structs, hashes, small reads and writes
VALUES = 16  # parameters or results of one wasm call

HELD: tuple[type, ...] = (
    *(ctypes.c_ubyte * n for n in range(SMALL + 1)),
    *(ctypes.c_char * n for n in range(SMALL + 1)),
    *(ffi.wasmtime_val_t * n for n in range(VALUES + 1)),
)
