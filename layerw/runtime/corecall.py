"""CoreCaller: an exported core function of integers, called without wasmtime-py's per-call overhead.

``wasmtime.Func.__call__`` looks the function's type up and converts every value through its type
objects on each call (tens of µs for a four-argument call). A ``CoreCaller`` reads the type once and
passes the integers straight into the C API's value array; traps and errors surface exactly as
wasmtime-py raises them (its own ``enter_wasm``). Values cross as i32/i64 only: that is all the
functions it is used for take and return.
"""

from __future__ import annotations

import ctypes
from typing import cast

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm

VAL = ffi.wasmtime_val_t
KINDS = {"i32": ffi.WASMTIME_I32.value, "i64": ffi.WASMTIME_I64.value}


class CoreCaller:
    """One exported function bound to its store: ``caller(*ints)`` returns its only result, or 0."""

    def __init__(self, func: wasmtime.Func, store: wasmtime.Store) -> None:
        ty = func.type(store)
        names = [str(p) for p in ty.params] + [str(r) for r in ty.results]
        if any(name not in KINDS for name in names) or len(ty.results) > 1:
            raise TypeError(f"a CoreCaller takes and returns i32/i64 values only, not {names}")
        self.func = func
        self.store = store
        self.kinds = [KINDS[str(p)] for p in ty.params]
        self.fields = ["i32" if str(p) == "i32" else "i64" for p in ty.params]
        self.results = len(ty.results)

    def __call__(self, *args: int) -> int:
        if len(args) != len(self.kinds):
            raise TypeError(f"expected {len(self.kinds)} arguments, got {len(args)}")
        params = (VAL * max(1, len(args)))()
        for i, (kind, field, value) in enumerate(zip(self.kinds, self.fields, args, strict=True)):
            params[i].kind = cast(ctypes.c_ubyte, kind)  # ctypes stores and reads plain ints here
            setattr(params[i].of, field, value)
        results = (VAL * max(1, self.results))()
        with enter_wasm(self.store) as trap:
            error = ffi.wasmtime_func_call(self.store._context(), ctypes.byref(self.func._func), params, len(args),
                                           results, self.results, trap)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
        if not self.results:
            return 0
        return int(results[0].of.i32 if cast(int, results[0].kind) == KINDS["i32"] else results[0].of.i64)
