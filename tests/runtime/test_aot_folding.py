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
from tests.runtime.test_aot_aligned import PAGE, ends_alike
from tests.runtime.test_aot_translation import wasm2c
from tests.wat import bundle, contract_wat

OUT = 0x9000  # results go to the state region (above the lw_io block)


def access(x: int, k: int, op: str = "i32.load") -> str:
    """``op`` at ``(i32.add (local.get $x) (i32.const k))`` with $x = ``x``: the shape wasm2c
    writes as a move, a constant, an add and the access, which the translation folds."""
    return f"(local.set $x (i32.const {x})) ({op} (i32.add (local.get $x) (i32.const {k}))"


Y = "(local $y i32) "  # a second local, for the sums of two


def two(x: int, y: int, k: int = 0, op: str = "i32.load") -> str:
    """``op`` at ``x + y`` (two locals), plus ``k`` where given: the sums of names the translation folds."""
    address = "(i32.add (local.get $x) (local.get $y))"
    return (f"(local.set $x (i32.const {x})) (local.set $y (i32.const {y})) "
            f"({op} {f'(i32.add {address} (i32.const {k}))' if k else address}")


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
    # sums of two locals (x + y) and of three terms (x + y + k): past 2^32, and past 2^33 (the third copy)
    "two locals, load that wraps": f"{Y}{MARK} (i32.store (i32.const {OUT}) {two(-0x7000, 0x7000 + OUT + 0x100)}))",
    "two locals, store that wraps": f"{Y}{two(-8, 8 + OUT, op='i32.store')} (i32.const 0x55667788)) "
                                    f"(i32.store (i32.const {OUT + 4}) (i32.load (i32.const {OUT})))",
    "three terms, load that wraps twice": f"{Y}{MARK} (i32.store (i32.const {OUT}) {two(-0x100, -0x100, 0x200 + OUT + 0x100)}))",
    "three terms, v128 store that wraps twice": f"{Y}{two(-0x100, -0x100, 0x200 + OUT, op='v128.store')} "
                                                "(v128.const i32x4 1 2 3 4)) "
                                                f"(i32.store (i32.const {OUT + 0x20}) (i32.load (i32.const {OUT + 12})))",
    "two locals, a term changes": f"{Y}(local.set $x (i32.const 0x100)) "
                                  f"(local.set $y (i32.add (local.get $x) (i32.const {OUT}))) "
                                  f"(local.set $x (i32.const 0x200)) (i32.store (local.get $y) (i32.const 3)) "
                                  f"(i32.store (i32.const {OUT + 0x300}) (i32.load (i32.add (local.get $y) (local.get $x))))",
    "past the memory, two locals": f"{Y}(drop {two(0xFFF0, 0x20)}))",
    "across the memory's end, two locals": f"{Y}(drop {two(0xFFF0, 0xE)}))",
    "across the memory's end, v128": f"{Y}(drop {two(0xFFF8, 0, op='v128.load')}))",
    "wraps past the memory twice, three terms": f"{Y}(drop {two(-0x100, -0x100, 0x200 + 0x20000)}))",
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


def test_folds_sums_of_names(tmp_path: Path) -> None:
    three = translation.fold(translation.rewrite(wasm2c(tmp_path, tick(CASES["three terms, load that wraps twice"]))))
    assert three.count("(lw_folded_base, ") == 1
    assert f"(u64)(var_x) + (u64)(var_y) + {0x200 + OUT + 0x100}ull)" in three
    changed = translation.fold(translation.rewrite(wasm2c(tmp_path, tick(CASES["two locals, a term changes"]))))
    assert changed.count("(lw_folded_base, ") == 1  # the load at y + x; not the store through y once x changed
    assert "(u64)(var_y) + (u64)(var_x))" in changed


def rmw(base: int, source: int, end: int, start: int = 0) -> str:
    """A tick that adds 2 * the f32x4 at ``source + i`` to the one at ``base + i`` for i = ``start``,
    + 16, .. below ``end``: matmul's inner loop (its accumulators on the stack, addressed by adds of two
    locals), which the translation folds."""
    return contract_wat(pages="1 1", tick=f"""(local $base i32) (local $source i32) (local $i i32)
      (local.set $base (i32.const {base})) (local.set $source (i32.const {source})) (local.set $i (i32.const {start}))
      (loop $l
        (v128.store (i32.add (local.get $base) (local.get $i))
          (f32x4.add (v128.load (i32.add (local.get $base) (local.get $i)))
                     (f32x4.mul (v128.load (i32.add (local.get $source) (local.get $i))) (f32x4.splat (f32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const {end}))))""",
                        init=f"(memory.fill (i32.const 0x8000) (i32.const 0x3f) (i32.const {PAGE - 0x8000}))")


RMWS = {
    "inside memory": (rmw(0xC000, 0x8000, 0x1000), True),
    "through 4 GiB": (rmw(-0x4000, -0x8000, 0x11000, 0x10000), True),  # both sums wrap: 0xC000 and 0x8000 first
    "off the end": (rmw(0xC000, 0x8000, 0x8000), False),
    "off the end, across it": (rmw(0xC008, 0x8000, 0x8000), False),  # the access at 0xFFF8 spans the end
    "source off the end first": (rmw(0x8000, 0xC004, 0x8000), False),
}


def test_folds_the_walk(tmp_path: Path) -> None:
    out = translation.fold(translation.rewrite(wasm2c(tmp_path, RMWS["inside memory"][0])))
    assert out.count("(lw_folded_base, wasm_rt_local_memory_size, &instance->w2c_memory, (u64)(var_base) + (u64)(var_i)") == 2
    assert out.count("(lw_folded_base, wasm_rt_local_memory_size, &instance->w2c_memory, (u64)(var_source) + (u64)(var_i)") == 1


@pytest.mark.parametrize("name", list(RMWS))
def test_folded_walk_ends_as_on_wasmtime(name: str, tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """Which access traps and the whole memory then: the same on both tiers."""
    wat, runs = RMWS[name]
    ends_alike(wat, runs, tmp_path, engine, aot_compiler)
