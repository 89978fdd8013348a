"""Canon: calls into component functions, with list<u8> copied at C speed.

wasmtime-py converts a ``list<u8>`` one Python object per byte in both directions (a 100 KiB command
list would cost ~100k ctypes calls). The contract passes every bulk value as ``list<u8>``, so this
module installs a fast path into wasmtime-py's ``ListType`` for byte lists only: the value array
wasmtime's C API uses (one tagged ``wasmtime_component_val_t`` per byte) is filled or read through a
strided numpy view. Values are identical to wasmtime-py's own conversion; only the cost differs.

``Caller`` wraps one exported function: its type is looked up once (wasmtime-py does so per call)
and each call is followed by ``post_return``, as the canonical ABI requires. A trap inside a
component call reaches Python as a plain ``WasmtimeError`` (no ``Trap``, no trap code), so
``trap_of`` recovers the code from wasmtime's message.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi
from wasmtime.component import _types

VAL = ffi.wasmtime_component_val_t
VAL_SIZE = ctypes.sizeof(VAL)
KIND = VAL.kind.offset
PAYLOAD = VAL.of.offset
U8_KIND = ffi.WASMTIME_COMPONENT_U8.value
LIST_KIND = ffi.WASMTIME_COMPONENT_LIST.value


def _vals(data: Any, n: int) -> np.ndarray:
    """The n tagged values at ``data`` as an (n, VAL_SIZE) byte array (a view, not a copy)."""
    raw = ctypes.cast(data, ctypes.POINTER(ctypes.c_uint8))
    return np.ctypeslib.as_array(raw, shape=(n * VAL_SIZE,)).reshape(n, VAL_SIZE)


def lower_bytes(val: bytes | bytearray | memoryview, ptr: Any) -> None:
    raw = ffi.wasmtime_component_vallist_t()
    n = len(val)
    ffi.wasmtime_component_vallist_new_uninit(raw, n)
    if n:
        vals = _vals(raw.data, n)
        vals[:, KIND] = U8_KIND
        vals[:, PAYLOAD] = np.frombuffer(val, dtype=np.uint8)
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def lift_bytes(c: Any) -> bytes:
    assert c.kind == LIST_KIND
    try:
        n = c.of.list.size
        return _vals(c.of.list.data, n)[:, PAYLOAD].tobytes() if n else b""
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(c.of.list))


_to_c = _types.ListType.convert_to_c
_from_c = _types.ListType.convert_from_c


def _convert_to_c(self: _types.ListType, store: Any, val: Any, ptr: Any) -> None:
    if isinstance(val, (bytes, bytearray, memoryview)) and self._is_bytes():
        lower_bytes(val, ptr)
    else:
        _to_c(self, store, val, ptr)


def _convert_from_c(self: _types.ListType, c: Any) -> Any:
    return lift_bytes(c) if self._is_bytes() else _from_c(self, c)


_types.ListType.convert_to_c = _convert_to_c  # type: ignore[method-assign]
_types.ListType.convert_from_c = _convert_from_c  # type: ignore[method-assign]


class Caller:
    """One exported component function bound to its store: ``caller(*args)`` calls it."""

    def __init__(self, func: wc.Func, store: wasmtime.Store) -> None:
        self.func = func
        self.store = store
        self.type = func.type(store)
        self.params = [ty for _, ty in self.type.params]
        self.result = self.type.result

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.params):
            raise TypeError(f"expected {len(self.params)} arguments, got {len(args)}")
        params = (VAL * max(1, len(args)))()
        n = 0
        result = VAL() if self.result is not None else None
        try:
            for ty, val in zip(self.params, args, strict=True):
                ty.convert_to_c(self.store, val, ctypes.pointer(params[n]))
                n += 1
            out = ctypes.byref(result) if result is not None else None

            def run() -> Any:
                return ffi.wasmtime_component_func_call(ctypes.byref(self.func._func), self.store._context(),
                                                        params, n, out, 1 if result is not None else 0)

            wc._enter.enter_wasm(run)
            value = self.result.convert_from_c(result) if self.result is not None and result is not None else None
        finally:
            for i in range(n):
                ffi.wasmtime_component_val_delete(ctypes.byref(params[i]))
        self.func.post_return(self.store)
        return value


# wasmtime's trap messages (crates/environ/src/trap_encoding.rs) -> the names of wasmtime.TrapCode
TRAP_CODES: tuple[tuple[str, str], ...] = (
    ("wasm `unreachable` instruction executed", "unreachable"),
    ("out of bounds memory access", "memory_out_of_bounds"),
    ("integer divide by zero", "integer_division_by_zero"),
    ("integer overflow", "integer_overflow"),
    ("invalid conversion to integer", "bad_conversion_to_integer"),
    ("call stack exhausted", "stack_overflow"),
    ("undefined element", "table_out_of_bounds"),
    ("uninitialized element", "indirect_call_to_null"),
    ("indirect call type mismatch", "bad_signature"),
    ("interrupt", "interrupt"),
    ("all fuel consumed", "out_of_fuel"),
)


def trap_of(error: wasmtime.WasmtimeError) -> tuple[str, str] | None:
    """(trap code, message) when ``error`` is a trap, else None."""
    text = str(error)
    if "wasm trap:" not in text:
        return None
    message = text.rsplit("wasm trap:", 1)[1].strip().splitlines()[0]
    code = next((name for prefix, name in TRAP_CODES if message.startswith(prefix)), "unknown")
    return code, message
