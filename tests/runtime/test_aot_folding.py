"""Folded accesses (translation.fold and lwaot's folded view) keep wasm's addresses exactly: a
``local + k`` that wraps past 2^32 reaches the low byte wasm's wrapping add reaches, one out of
bounds traps as on wasmtime, and a byte written through one view is read through the other in
program order. Each module runs on both tiers and must end the same way (frames and state hash, or
the same error and trap code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.runtime.aot import translation
from layerw.runtime.aot.compiler import AotCompiler, folds_under
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from tests.hostile.test_aot_differential import outcome
from tests.runtime.test_aot_translation import wasm2c
from tests.wat import bundle, contract_wat

OUT = 0x9000  # results go to the state region (above the lw_io block)


def access(x: int, k: int, op: str = "i32.load") -> str:
    """``op`` at ``(i32.add (local.get $x) (i32.const k))`` with $x = ``x``: the shape wasm2c
    writes as a move, a constant, an add and the access, which the translation folds."""
    return f"(local.set $x (i32.const {x})) ({op} (i32.add (local.get $x) (i32.const {k}))"


def tick(body: str) -> str:
    return contract_wat(tick=f"(local $x i32) {body}", pages="1 4")


MARK = f"(i32.store (i32.const {OUT + 0x100}) (i32.const 0x11223344))"
CASES = {
    # x + k past 2^32 wraps to OUT + 0x100: reads what the store above wrote
    "load that wraps": f"{MARK} (i32.store (i32.const {OUT}) {access(-0x7000, 0x10000 + OUT - 0x9000 + 0x100)}))",
    "store that wraps": f"{access(-8, 8 + OUT, 'i32.store')} (i32.const 0x55667788)) "
                        f"(i32.store (i32.const {OUT + 4}) (i32.load (i32.const {OUT})))",
    "load that wraps to 0": f"(i32.store (i32.const {OUT}) {access(-1, 1)}))",
    # a byte through both views, in program order: unfolded (offset=8), folded, unfolded
    "views in order": "(local.set $x (i32.const 0x9200)) (i32.store offset=8 (local.get $x) (i32.const 1)) "
                      "(i32.store (i32.const 0x9300) (i32.load (i32.add (local.get $x) (i32.const 8)))) "
                      "(i32.store (i32.add (local.get $x) (i32.const 8)) (i32.const 2)) "
                      "(i32.store (i32.const 0x9304) (i32.load offset=8 (local.get $x)))",
    "past the memory, no wrap": f"(drop {access(0xFFF0, 0x20)}))",
    "wraps past the memory": f"(drop {access(-16, 0x20000)}))",
    "across the memory's end": f"(drop {access(0xFFF0, 0xE)}))",
    "past 4 GiB by a static offset": "(local.set $x (i32.const -16)) "
                                     "(drop (i32.load offset=0x20 (i32.add (local.get $x) (i32.const 4))))",
    # a sum kept in a local is folded through its copies until the local it came from changes
    "sum kept in a local": f"(local $y i32) (local.set $x (i32.const -8)) (local.set $y (i32.add (local.get $x) "
                           f"(i32.const {8 + OUT}))) (i32.store (local.get $y) (i32.const 0x55667788)) "
                           "(local.set $x (i32.const 0x100)) (i32.store offset=4 (local.get $y) (i32.load (local.get $y))) "
                           "(i32.store (local.get $y) (i32.const 7))",
    # after a grow the new page is there in both views, and its wrapped twin too
    "grown page through the mirror": f"(drop (memory.grow (i32.const 1))) {access(-16, 0x10020, 'i32.store')} (i32.const 9)) "
                                     f"(i32.store (i32.const {OUT}) (i32.load (i32.const 0x10010)))",
}


def test_folds_the_adds_wasm2c_writes(tmp_path: Path) -> None:
    source = translation.rewrite(wasm2c(tmp_path, tick(CASES["load that wraps"] + CASES["past 4 GiB by a static offset"])))
    out = translation.fold(source)
    assert out.count("(lw_folded_base, ") == 1  # the load; not the one with a static offset
    assert "lw_opaque(wasm_rt_local_memory_base + LW_FOLDED_VIEW)" in out
    kept = translation.fold(translation.rewrite(wasm2c(tmp_path, tick(CASES["sum kept in a local"]))))
    assert kept.count("(lw_folded_base, ") == 1  # the store right after; not those after $x changes
    no_memory = translation.rewrite(wasm2c(tmp_path, '(module (func (export "f")))'))
    assert translation.fold(no_memory) == no_memory


def test_folding_needs_a_memory_below_4_gib() -> None:
    assert folds_under(65535) and not folds_under(65536)


@pytest.mark.parametrize("name", list(CASES))
def test_folded_access_ends_as_on_wasmtime(name: str, tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    b = bundle(tmp_path, tick(CASES[name]), memory_mb=4, tick_ms=1000)
    expected = outcome(Game, b, engine)
    assert outcome(aot_compiler, b, engine) == expected
    runs = not name.startswith(("past", "wraps past", "across"))
    assert (expected[0] == "ran") == runs, expected
