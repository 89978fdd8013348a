"""The browser's host imports are bit-exact with the native host's: a module that draws WASI random
bytes (SplitMix64 from the seed), reads the virtual clock and writes to stdout ends in the same
state hash in Chromium as on wasmtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from tests.wat import bundle, contract_wat
from tests.web.conftest import PlayPage, StaticServer

SEED = (1 << 40) + 12345  # both 32-bit halves non-zero
TICKS = 20
IMPORTS = """
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
"""
# Each tick: 13 random bytes (a partial 64-bit word) and the monotonic clock into a slot of 8.
TICK = """
  (local $slot i32)
  (local.set $slot (i32.and (i32.load (i32.const 2048)) (i32.const 7)))
  (drop (call $random (i32.add (i32.const 4096) (i32.shl (local.get $slot) (i32.const 4))) (i32.const 13)))
  (drop (call $clock (i32.const 1) (i64.const 0) (i32.add (i32.const 4300) (i32.shl (local.get $slot) (i32.const 3)))))
"""
# At init: "hi from wasm\\n" to stdout through one iovec.
INIT = """
  (i32.store (i32.const 5000) (i32.const 5100))
  (i32.store (i32.const 5004) (i32.const 13))
  (i64.store (i32.const 5100) (i64.const 0x6f7266206968))
  (i64.store (i32.const 5106) (i64.const 0x0a6d736177206d))
  (drop (call $write (i32.const 1) (i32.const 5000) (i32.const 1) (i32.const 5008)))
"""


def test_wasi_random_clock_and_stdout_match_native(server: StaticServer, play_page: Callable[..., PlayPage],
                                                   engine: Engine, tmp_path: Path) -> None:
    game_bundle = bundle(tmp_path / "wasi", contract_wat(imports=IMPORTS, tick=TICK, init=INIT), name="wasi")
    with Game(game_bundle, engine, seed=SEED) as game:
        Runner(game).run_headless(TICKS)
        native_hash = game.state_hash()
    page = play_page().open(server.add_game(game_bundle.path), ticks=TICKS, fast=True, seed=SEED, renderer="webgl2")
    page.wait_stopped()
    assert page.state_hash() == native_hash
    assert "info: [wasi] hi from wasm" in page.console
