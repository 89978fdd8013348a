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


def walk(start: int, end: int, step: int = 16, *, backwards: bool = False) -> str:
    """A tick that walks records of four f32 (x, y, vx, vy) from ``start`` while below ``end`` (or,
    ``backwards``, down by ``step`` while above ``end``): x += vx (the fields addressed by adds),
    y += vy (the same with static offsets, ``offset=4``), as the sprites tick moves its sprites."""
    more = f"(i32.gt_s (local.get $p) (i32.const {end}))" if backwards else f"(i32.lt_u (local.get $p) (i32.const {end}))"
    return contract_wat(pages="1 1", tick=f"""(local $p i32)
      (local.set $p (i32.const {start}))
      (loop $l
        (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
                                           (f32.load (i32.add (local.get $p) (i32.const 8)))))
        (f32.store offset=4 (local.get $p) (f32.add (f32.load offset=4 (local.get $p))
                                                    (f32.load offset=12 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const {-step if backwards else step})))
        (br_if $l {more}))""",
                        init=f"(memory.fill (i32.const 0x8000) (i32.const 0x3f) (i32.const {PAGE - 0x8000}))")


@pytest.mark.parametrize("backwards", [False, True], ids=["up", "down"])
def test_groups_a_walk_through_an_aligned_local(backwards: bool, tmp_path: Path) -> None:
    wat = walk(0x9000, 0x8000, backwards=True) if backwards else walk(0x8000, 0x9000)
    out, groups = aligned.pair(translation.rewrite(wasm2c(tmp_path, wat)))
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


WALKS = {
    "inside memory": (walk(0x8000, 0xC000), True),
    "off the end": (walk(0x8000, PAGE + 0x100), False),
    "off the end, records across it": (walk(0x8008, PAGE + 0x100), False),
    "backwards below 0, wrapping": (walk(0x100, -0x100, backwards=True), False),
}


def ends_alike(wat: str, runs: bool, tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """``wat`` ends the same way on both tiers, with the same memory; it runs (or traps) as ``runs`` says."""
    expected = ending(Game, tmp_path / "wasmtime", wat, engine)
    assert ending(aot_compiler, tmp_path / "aot", wat, engine) == expected
    assert (expected[0] == "ran") == runs, expected


@pytest.mark.parametrize("name", list(WALKS))
def test_walk_ends_as_on_wasmtime(name: str, tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    wat, runs = WALKS[name]
    ends_alike(wat, runs, tmp_path, engine, aot_compiler)
