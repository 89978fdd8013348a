"""CoreCaller: integer exports called through value arrays it builds once, with wasmtime-py's results."""

from __future__ import annotations

import pytest
import wasmtime

from layerw.runtime.corecall import CoreCaller

WAT = """
(module
  (import "host" "again" (func $again (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "wide") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func (export "none"))
  (func (export "boom") (unreachable))
  ;; n > 0: n + again(n - 1), where the host calls "nest" back with n - 1
  (func (export "nest") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (local.get 0) (call $again (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "float") (param f32) (result f32) (local.get 0)))
"""


class HostRefused(Exception):
    pass


def _again(found: dict[str, CoreCaller], n: int) -> int:
    """The host function: calls "nest" back, except for 7, which it refuses by raising."""
    if n == 7:
        raise HostRefused("seven")
    return found["nest"](n)


def _exports(found: dict[str, CoreCaller]) -> tuple[wasmtime.Store, dict[str, wasmtime.Func]]:
    """The module instantiated, its host function calling ``found["nest"]`` back."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    i32 = wasmtime.ValType.i32()
    linker.define_func("host", "again", wasmtime.FuncType([i32], [i32]), lambda n: _again(found, n))
    exports = linker.instantiate(store, wasmtime.Module(engine, WAT)).exports(store)
    funcs = {}
    for name in ("add", "wide", "none", "boom", "nest", "float"):
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        funcs[name] = func
    return store, funcs


@pytest.fixture
def callers() -> dict[str, CoreCaller]:
    found: dict[str, CoreCaller] = {}
    store, funcs = _exports(found)
    found.update({name: CoreCaller(func, store) for name, func in funcs.items() if name != "float"})
    return found


def test_each_call_gets_its_own_arguments_and_result(callers: dict[str, CoreCaller]) -> None:
    add = callers["add"]
    assert [add(i, 10 * i) for i in range(5)] == [0, 11, 22, 33, 44]
    assert add(-5, 2) == -3  # i32 results come back signed, as wasmtime-py gives them
    assert callers["wide"](1 << 40) == 3 << 40
    assert callers["none"]() == 0


def test_a_nested_call_of_the_same_export_keeps_both_results(callers: dict[str, CoreCaller]) -> None:
    assert callers["nest"](4) == 4 + 3 + 2 + 1
    assert callers["nest"](2) == 3


def test_traps_and_wrong_arity_raise_as_before(callers: dict[str, CoreCaller]) -> None:
    with pytest.raises(wasmtime.Trap):
        callers["boom"]()
    assert callers["add"](1, 2) == 3  # the arrays still serve after a trap
    with pytest.raises(TypeError, match="expected 2 arguments"):
        callers["add"](1)


def test_a_host_functions_exception_surfaces_as_itself(callers: dict[str, CoreCaller]) -> None:
    with pytest.raises(HostRefused, match="seven"):
        callers["nest"](8)  # nest(8) -> host again(7) raises
    assert callers["nest"](3) == 6  # and the next call is clean


def test_non_integer_functions_are_refused() -> None:
    store, funcs = _exports({})
    with pytest.raises(TypeError, match="i32/i64 values only"):
        CoreCaller(funcs["float"], store)
