"""Hostile modules: each gets its typed error, and the host goes on to run the next game."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.errors import (
    ContractError,
    GameCrashed,
    GameError,
    GameExited,
    GameOutOfMemory,
    GameTimedOut,
    InvalidModule,
    LayerWError,
)
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from tests.wat import bundle, contract_wat

GROW_BOMB = "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable"


def run_ticks(game: Game, n: int) -> None:
    state = InputState()
    for _ in range(n):
        game.tick(state)


def assert_next_game_runs(tmp_path: Path, engine: Engine) -> None:
    count = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"
    ok = bundle(tmp_path / "next", contract_wat(tick=count))
    with Game(ok, engine) as game:
        run_ticks(game, 10)
        assert game.tick_count == 10


@pytest.mark.parametrize("data", [b"not wasm at all", b"(module)", b"\0asm\x01\0\0\0\x05\xff", b""])
def test_malformed_bytes_are_invalid_module(tmp_path: Path, engine: Engine, data: bytes) -> None:
    with pytest.raises(InvalidModule):
        Game(bundle(tmp_path / "bad", data), engine)
    assert_next_game_runs(tmp_path, engine)


@pytest.mark.parametrize("limit", [CpuLimit.EPOCH, CpuLimit.FUEL])
def test_infinite_loop_in_tick_times_out(tmp_path: Path, limit: CpuLimit) -> None:
    with Engine(limit, cache=tmp_path / "cache") as engine:
        game = Game(bundle(tmp_path / "loop", contract_wat(tick="(loop (br 0))"), tick_ms=50), engine)
        run_ticks(game, 0)
        with pytest.raises(GameTimedOut) as err:
            run_ticks(game, 1)
        assert err.value.game == "hostile" and err.value.tick == 0
        assert isinstance(err.value, TimeoutError)
        with pytest.raises(GameError, match="already failed"):
            run_ticks(game, 1)
        assert_next_game_runs(tmp_path, engine)


def test_memory_grow_bomb_hits_the_cap(tmp_path: Path, engine: Engine) -> None:
    game = Game(bundle(tmp_path / "bomb", contract_wat(tick=GROW_BOMB), memory_mb=4), engine)
    with pytest.raises(GameOutOfMemory, match="memory at its cap of 4 MiB"):
        run_ticks(game, 1)
    assert game.memory.data_len(game.store) <= 4 * 1024 * 1024
    assert_next_game_runs(tmp_path, engine)


def test_initial_memory_above_the_cap(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(GameOutOfMemory, match="initial memory"):
        Game(bundle(tmp_path / "big", contract_wat(pages=128), memory_mb=2), engine)


def test_unreachable_is_game_crashed_with_trap_code(tmp_path: Path, engine: Engine) -> None:
    tick = "(if (i32.eq (i32.load (i32.const 2048)) (i32.const 3)) (then unreachable))"  # trap at tick 3
    game = Game(bundle(tmp_path / "trap", contract_wat(tick=tick)), engine)
    with pytest.raises(GameCrashed) as err:
        run_ticks(game, 10)
    assert (err.value.trap_code, err.value.tick, err.value.game) == ("unreachable", 3, "hostile")
    assert "tick 3" in str(err.value)
    assert_next_game_runs(tmp_path, engine)


def test_missing_export_is_named(tmp_path: Path, engine: Engine) -> None:
    wat = contract_wat(exports=("lw_init", "lw_tick"))
    with pytest.raises(ContractError, match="missing export: function 'lw_render'"):
        Game(bundle(tmp_path / "noexport", wat), engine)


@pytest.mark.parametrize("imp, named", [
    ('(import "env" "teleport" (func))', "env.teleport"),
    ('(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))',
     "wasi_snapshot_preview1.path_open"),
    ('(import "layerw" "open_socket" (func))', "layerw.open_socket"),
])
def test_unknown_import_is_named(tmp_path: Path, engine: Engine, imp: str, named: str) -> None:
    with pytest.raises(ContractError, match=f"unknown import '{named}'"):
        Game(bundle(tmp_path / "import", contract_wat(imports=imp)), engine)
    assert_next_game_runs(tmp_path, engine)


def test_wrong_import_signature(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(ContractError, match="wrong signature"):
        Game(bundle(tmp_path / "sig", contract_wat(imports='(import "layerw" "asset_size" (func (param i64)))')), engine)


def test_wrong_abi_version_is_invalid_module(tmp_path: Path, engine: Engine) -> None:
    wat = contract_wat(init="(i32.store (i32.const 1028) (i32.const 99))")
    with pytest.raises(InvalidModule, match="ABI 99"):
        Game(bundle(tmp_path / "abi", wat), engine)


def test_proc_exit_is_game_exited(tmp_path: Path, engine: Engine) -> None:
    wat = contract_wat(imports='(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))',
                       tick="(call $exit (i32.const 7))")
    game = Game(bundle(tmp_path / "exit", wat), engine)
    with pytest.raises(GameExited) as err:
        run_ticks(game, 1)
    assert err.value.code == 7


def test_bad_render_length_is_reported(tmp_path: Path, engine: Engine) -> None:
    game = Game(bundle(tmp_path / "len", contract_wat(render="(i32.const 999999)")), engine)
    with pytest.raises(GameCrashed, match="lw_render returned 999999"):
        game.render()


def test_restore_after_a_crash_continues(tmp_path: Path, engine: Engine) -> None:
    tick = ("(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"
            "(if (i32.eq (i32.load (i32.const 2048)) (i32.const 5)) (then unreachable))")
    game = Game(bundle(tmp_path / "crash", contract_wat(tick=tick)), engine)
    run_ticks(game, 3)
    snap = game.snapshot()
    with pytest.raises(GameCrashed):
        run_ticks(game, 5)
    game.restore(snap)
    assert game.tick_count == 3
    run_ticks(game, 2)
    assert game.tick_count == 5


def test_every_error_is_a_layerw_error() -> None:
    for cls in (ContractError, GameCrashed, GameExited, GameOutOfMemory, GameTimedOut, InvalidModule):
        assert issubclass(cls, LayerWError)
