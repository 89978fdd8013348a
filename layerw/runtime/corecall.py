"""CoreCaller: an exported core function of integers, called without wasmtime-py's per-call overhead.

``wasmtime.Func.__call__`` looks the function's type up and converts every value through its type
objects on each call (tens of µs for a four-argument call). A ``CoreCaller`` reads the type once and
passes the integers straight into the C API's value arrays, built once; traps and errors surface
exactly as wasmtime-py raises them (a host function's exception first, as its ``enter_wasm`` does).
Values cross as i32/i64 only: that is all the functions it is used for take and return.
"""

from __future__ import annotations

import ctypes
from typing import NoReturn, cast

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import maybe_raise_last_exn

VAL = ffi.wasmtime_val_t
TRAP = ctypes.POINTER(ffi.wasm_trap_t)
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
        # built once: the value arrays (kinds set, values written per call) and the function's reference.
        # A nested call of the same function (from a host function) is safe: the engine reads the
        # arguments before the body runs and writes the result as the call returns.
        self._params = (VAL * max(1, len(self.kinds)))()
        for i, kind in enumerate(self.kinds):
            self._params[i].kind = cast(ctypes.c_ubyte, kind)  # ctypes stores and reads plain ints here
        self._results = (VAL * max(1, self.results))()
        self._ref = ctypes.byref(func._func)
        self._count = len(self.kinds)

    def __call__(self, *args: int) -> int:
        if len(args) != self._count:
            raise TypeError(f"expected {self._count} arguments, got {len(args)}")
        params, results = self._params, self._results
        for i, (field, value) in enumerate(zip(self.fields, args, strict=True)):
            setattr(params[i].of, field, value)
        trap = TRAP()  # a fresh one each call: a Trap raised from it owns it
        error = ffi.wasmtime_func_call(self.store._context(), self._ref, params, self._count, results, self.results,
                                       ctypes.byref(trap))
        if error or trap:
            _raise(error, trap)
        if not self.results:
            return 0
        return int(results[0].of.i32 if cast(int, results[0].kind) == KINDS["i32"] else results[0].of.i64)


def _raise(error: ctypes._Pointer[ffi.wasmtime_error_t], trap: ctypes._Pointer[ffi.wasm_trap_t]) -> NoReturn:
    """What a failed call raises, as wasmtime-py's ``enter_wasm`` has it: the exception a host function
    raised during the call first, else the engine's error, else its trap."""
    failure = wasmtime.WasmtimeError._from_ptr(error) if error else wasmtime.Trap._from_ptr(trap)
    maybe_raise_last_exn()
    raise failure
