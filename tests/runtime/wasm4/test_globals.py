"""A cart's mutable wasm globals: exported for the host, kept in snapshots and the state hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wasmtime

from layerw.errors import InvalidModule, SnapshotError
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot
from layerw.runtime.start import start_game
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.runtime.wasm4.globals import EXPORT_PREFIX, export_globals
from tests.runtime.wasm4.conftest import wat_cart

COUNTER = """(module
  (import "env" "memory" (memory 1 1))
  (global $sp (mut i32) (i32.const 6000))
  (global $count (mut i32) (i32.const 0))
  (global $speed (mut f64) (f64.const 0.5))
  (global $frozen i64 (i64.const 7))
  (func (export "update")
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $speed (f64.mul (global.get $speed) (f64.const 1.5)))))"""


def run(game: CartGame, ticks: int) -> None:
    for _ in range(ticks):
        game.tick(InputState(1))


def test_state_kept_only_in_globals_survives_snapshots(tmp_path: Path, engine: Engine) -> None:
    bundle = wat_cart(tmp_path, COUNTER)
    with start_game(bundle, engine) as a, start_game(bundle, engine) as b:
        assert isinstance(a, CartGame) and isinstance(b, CartGame)
        assert a.cart_globals.names == (f"{EXPORT_PREFIX}0", f"{EXPORT_PREFIX}1", f"{EXPORT_PREFIX}2")
        run(a, 3)
        snap = a.snapshot()
        assert snap.host["globals"] == [6000, 3, 0.5 * 1.5 ** 3]
        run(a, 4)
        run(b, 2)
        before = b.state_hash()
        b.restore(snap)
        assert b.state_hash() != before and b.globals() == [6000, 3, 0.5 * 1.5 ** 3]
        run(b, 4)
        assert b.globals() == a.globals() and b.state_hash() == a.state_hash()
        assert a.module_sha256 == b.module_sha256  # the original bytes' hash, not the rewritten module's


def test_non_finite_float_globals_travel_in_strict_json(tmp_path: Path, engine: Engine) -> None:
    """NaN and infinities are no JSON numbers (browsers refuse them): a snapshot holds their bits as
    hex strings and a restore reads them back, sign and NaN payload too, so the state hash survives."""
    wat = """(module (import "env" "memory" (memory 1 1))
      (global (mut f64) (f64.const 1)) (global (mut f32) (f32.const 1)) (global (mut f64) (f64.const 1))
      (func (export "update") (global.set 0 (f64.div (f64.const 1) (f64.const 0)))
        (global.set 1 (f32.div (f32.const -1) (f32.const 0))) (global.set 2 (f64.div (f64.const 0) (f64.const 0)))))"""
    bundle = wat_cart(tmp_path, wat)
    with start_game(bundle, engine) as a, start_game(bundle, engine) as b:
        assert isinstance(a, CartGame) and isinstance(b, CartGame)
        run(a, 1)
        data = a.snapshot().to_bytes()
        snap = Snapshot.from_bytes(data)
        infinity, minus_infinity, nan = snap.host["globals"]
        assert (infinity, minus_infinity) == ("000000000000f07f", "000080ff") and nan[-4:] in ("f87f", "f8ff")
        json.loads(data[12:12 + int.from_bytes(data[8:12], "little")],
                   parse_constant=lambda c: pytest.fail(f"{c} in a snapshot header"))
        b.restore(snap)
        assert b.state_hash() == a.state_hash()


def test_exports_are_added_beside_existing_ones_and_after_imported_globals() -> None:
    wasm = wasmtime.wat2wasm("""(module
      (import "x" "g" (global i32))
      (global (mut i64) (i64.const 1))
      (func (export "f") (result i32) (i32.const 9))
      (func $s) (start $s) (data (i32.const 0) "") (memory 1))""")
    out, found = export_globals(wasm)
    assert found.names == (f"{EXPORT_PREFIX}1",) and found.unsaved == 0
    module = wasmtime.Module(wasmtime.Engine(), out)
    assert sorted(e.name for e in module.exports) == ["f", f"{EXPORT_PREFIX}1"]
    bare = wasmtime.wat2wasm('(module (global (mut f32) (f32.const 1)) (memory 1) (data (i32.const 0) "x"))')
    out, found = export_globals(bare)
    assert [e.name for e in wasmtime.Module(wasmtime.Engine(), out).exports] == [f"{EXPORT_PREFIX}0"]
    plain = wasmtime.wat2wasm('(module (global i32 (i32.const 1)))')
    assert export_globals(plain) == (plain, export_globals(plain)[1]) and not export_globals(plain)[1].names


def test_a_cart_with_globals_no_snapshot_can_hold_refuses_snapshots(tmp_path: Path, engine: Engine) -> None:
    wat = '(module (import "env" "memory" (memory 1)) (global (mut v128) (v128.const i64x2 0 0)) (func (export "update")))'
    with start_game(wat_cart(tmp_path, wat), engine) as game:
        assert isinstance(game, CartGame) and game.cart_globals.unsaved == 1
        run(game, 1)
        with pytest.raises(SnapshotError, match="v128"):
            game.snapshot()


def test_malformed_global_initialisers_are_typed_errors() -> None:
    header = bytes.fromhex("0061736d01000000")
    with pytest.raises(InvalidModule):
        export_globals(header + bytes.fromhex("0605017f01ff0b"))  # opcode 0xff in an initialiser
    with pytest.raises(InvalidModule):
        export_globals(header + bytes.fromhex("06ff01"))  # a section longer than the module
    with pytest.raises(InvalidModule):
        export_globals(b"junk")
