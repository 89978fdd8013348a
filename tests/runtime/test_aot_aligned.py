"""Aligned groups (layerw.runtime.aot.aligned): a loop walking records through an induction local
that stays a multiple of 16 gets its record's accesses made plain and fenced, so clang may pair
them; a loop whose local is not provably aligned keeps every access as it was. Each module runs on
both tiers and must end the same way, with the same memory after a trap: a walk that runs off the
end of memory stops at the same record, every store before it done."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from layerw.errors import LayerWError
from layerw.runtime.aot import aligned, translation
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from tests.runtime.test_aot_translation import wasm2c
from tests.wat import bundle, contract_wat

PAGE = 65536


def walk(start: int, end: int, step: int = 16) -> str:
    """A tick that walks records of four f32 (x, y, vx, vy) from ``start`` while below ``end``:
    x += vx, y += vy, as the sprites tick moves its sprites."""
    return contract_wat(pages="1 1", tick=f"""(local $p i32)
      (local.set $p (i32.const {start}))
      (loop $l
        (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
                                           (f32.load (i32.add (local.get $p) (i32.const 8)))))
        (f32.store (i32.add (local.get $p) (i32.const 4))
                   (f32.add (f32.load (i32.add (local.get $p) (i32.const 4)))
                            (f32.load (i32.add (local.get $p) (i32.const 12)))))
        (local.set $p (i32.add (local.get $p) (i32.const {step})))
        (br_if $l (i32.lt_u (local.get $p) (i32.const {end}))))""",
                         init=f"(memory.fill (i32.const 0x8000) (i32.const 0x3f) (i32.const {PAGE - 0x8000}))")


def test_groups_a_walk_through_an_aligned_local(tmp_path: Path) -> None:
    out, groups = aligned.pair(translation.rewrite(wasm2c(tmp_path, walk(0x8000, 0x9000))))
    assert groups == 1
    assert out.count("lw_plain_f32_load(wasm_rt_local_memory_base, ") == 4
    assert out.count("lw_plain_f32_store(wasm_rt_local_memory_base, ") == 2
    assert out.count(f"\n    {aligned.BARRIER}") == 2


@pytest.mark.parametrize(("start", "step"), [(0x8004, 16), (0x8000, 4)], ids=["start off by 4", "step of 4"])
def test_keeps_a_walk_it_cannot_prove_aligned(start: int, step: int, tmp_path: Path) -> None:
    source = translation.rewrite(wasm2c(tmp_path, walk(start, 0x9000, step)))
    assert aligned.pair(source) == (source, 0)


def ending(game_of: type[MemoryHost] | AotCompiler, tmp_path: Path, wat: str, engine: Engine) -> tuple[str, str]:
    """How two ticks of ``wat`` end ("ran", or the error's type) and its memory's hash then."""
    b = bundle(tmp_path, wat, memory_mb=4, tick_ms=1000)
    game = Game(b, engine) if isinstance(game_of, type) else AotGame(b, engine, game_of)
    try:
        end = "ran"
        try:
            for _ in range(2):
                game.tick(InputState())
        except LayerWError as e:
            end = f"{type(e).__name__} {getattr(e, 'trap_code', None)}"
        return end, hashlib.sha256(game._read(0, PAGE)).hexdigest()
    finally:
        game.close()


@pytest.mark.parametrize(("start", "end"), [(0x8000, 0xC000), (0x8000, PAGE + 0x100), (0x8008, PAGE + 0x100)],
                         ids=["inside memory", "off the end", "off the end, records across it"])
def test_walk_ends_as_on_wasmtime(start: int, end: int, tmp_path: Path, engine: Engine,
                                  aot_compiler: AotCompiler) -> None:
    wat = walk(start, end)
    expected = ending(Game, tmp_path / "wasmtime", wat, engine)
    assert ending(aot_compiler, tmp_path / "aot", wat, engine) == expected
    assert (expected[0] == "ran") == (end <= PAGE), expected
