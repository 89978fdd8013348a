"""Saves in Chromium: IndexedDB keeps a game's slots (and a cart's disk) across a page reload, with
the native host's codes, so the state hash of each run equals the native one; a room-less page
with ?saves=0 keeps none; a write IndexedDB refuses reaches the game as LW_SAVE_STORAGE and the
page as a message."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.start import start_game
from layerw.saves import Saves
from layerw.toolchain.cart import build_cart
from tests.runtime.test_saves import make, results, run, saves_wat
from tests.runtime.wasm4.test_cartgame import DISK_COUNTER
from tests.wat import STATE_BEGIN, contract_wat
from tests.web.conftest import PlayPage, StaticServer

TICKS = 3
R = abi.SAVE_RESULTS


def _native(game: GameHost) -> str:
    for _ in range(TICKS):
        run(game)
    return game.state_hash()


def _play(page: PlayPage, src: str, **params: object) -> str:
    page.open(src, ticks=TICKS, fast=True, renderer="webgl2", **params)
    page.wait_stopped()
    page.page.evaluate("window.layerw.saved()")
    return page.state_hash()


def test_a_save_survives_a_page_reload(server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine,
                                       tmp_path: Path) -> None:
    b = make(tmp_path, saves_wat(if_empty=True))
    saves = Saves(tmp_path / "native")
    with Game(b, engine, saves=saves) as game:  # the first run finds no slot and writes it
        first = _native(game)
        assert results(game)[0] == (R["OK"], 16, 7, 16)
    with Game(b, engine, saves=saves) as game:  # later runs read it
        later = _native(game)
        assert results(game)[0] == (99, 16, 7, 16)
    assert first != later
    src = server.add_game(b.path)
    page = play_page()
    assert _play(page, src) == first
    assert _play(page, src) == later  # reloaded: IndexedDB kept the slot
    assert page.page.evaluate("window.layerw.slot('progress')")["data"] == list(range(16))
    with Game(b, engine) as game:
        assert _play(play_page(), src, saves=0) == _native(game)  # no saves: LW_SAVE_UNAVAILABLE, as natively
        assert results(game)[0] == (R["UNAVAILABLE"],) * 4


def test_a_carts_disk_survives_a_page_reload(server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine,
                                             tmp_path: Path) -> None:
    cart = tmp_path / "disk.wasm"
    cart.write_bytes(wasmtime.wat2wasm(DISK_COUNTER))
    build = build_cart(cart, tmp_path / "disk-build", name="disk-cart")
    saves = Saves(tmp_path / "native")
    hashes = []
    for _ in range(2):
        with start_game(Bundle.open(build), engine, saves=saves) as game:
            hashes.append(_native(game))
    src = server.add_game(build)
    page = play_page()
    assert hashes[0] != hashes[1]  # the second run found the first run's disk
    assert [_play(page, src), _play(page, src)] == hashes
    assert page.page.evaluate("window.layerw.slot('disk')")["data"] == [0, 0, 2]


def test_a_refused_write_reaches_the_game_and_the_page(server: StaticServer, play_page: Callable[..., PlayPage],
                                                       tmp_path: Path) -> None:
    """IndexedDB refusing a write (here: its database closed under the store, as when storage is
    cleared or over quota): the slot goes back to what is stored, the page shows the error and the
    game's next save_write answers LW_SAVE_STORAGE."""
    b = make(tmp_path, saves_wat())
    page = play_page()
    _play(page, server.add_game(b.path), worker=0)  # its page-hosted SaveStore's database is closed
    outcome = page.page.evaluate("""async () => {
      const s = window.layerw.saves, name = new TextEncoder().encode("progress");
      s.db.close();
      const first = s.write(name, new Uint8Array([9, 9]), 1);
      await s.flush();
      return [first, s.size(name), s.write(name, new Uint8Array([9]), 1), window.layerw.saveError,
              document.getElementById("status").textContent];
    }""")
    first, size, second, error, shown = outcome
    assert (first, size, second) == (R["OK"], 16, R["STORAGE"])
    assert "could not save 'progress'" in error and error == shown


def test_hostile_save_calls_give_the_native_codes(server: StaticServer, play_page: Callable[..., PlayPage],
                                                  engine: Engine, tmp_path: Path) -> None:
    """Pointers past memory, negative and huge lengths, bad names and versions, a slot over its
    limit, in one tick: every code lands in the game's state, and the browser's hash is the native one."""
    from tests.runtime.test_saves import IMPORTS, NAME_AT

    good = f"(i32.const {NAME_AT}) (i32.const 8)"
    calls = [
        "(call $save_write (i32.const 65534) (i32.const 8) (i32.const 0) (i32.const 1) (i32.const 1))",
        f"(call $save_write {good} (i32.const 65530) (i32.const 16) (i32.const 1))",
        f"(call $save_write {good} (i32.const 0) (i32.const -1) (i32.const 1))",
        f"(call $save_write {good} (i32.const 0) (i32.const 1) (i32.const -5))",
        f"(call $save_write (i32.const {NAME_AT}) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 1))",
        f"(call $save_write (i32.const {NAME_AT + 8}) (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 1))",
        f"(call $save_write {good} (i32.const 0) (i32.const 65) (i32.const 1))",  # over slot_bytes
        f"(call $save_write {good} (i32.const 0) (i32.const 64) (i32.const 3))",
        f"(call $save_read {good} (i32.const 65530) (i32.const 16))",
        f"(call $save_read {good} (i32.const -4) (i32.const 4))",
        f"(call $save_read {good} (i32.const 8000) (i32.const 0x7fffffff))",
        f"(call $save_read {good} (i32.const 8000) (i32.const 10))",
        "(call $save_size (i32.const -1) (i32.const 8))",
        f"(call $save_version (i32.const {NAME_AT}) (i32.const 65))",
        f"(call $save_size (i32.const {NAME_AT + 8}) (i32.const 3))",
        f"(call $save_version {good})",
    ]
    tick = "".join(f"(i32.store (i32.const {4096 + 4 * i}) {c})" for i, c in enumerate(calls))
    names = "".join(f"\\{b:02x}" for b in b"progress../")
    wat = contract_wat(tick=f"(if (i32.eqz (i32.load (i32.const 2048))) (then {tick}))", imports=IMPORTS,
                       extra=f'(data (i32.const {NAME_AT}) "{names}")')
    b = make(tmp_path, wat, slot_bytes=64, total_bytes=64)
    with Game(b, engine, saves=Saves(tmp_path / "native")) as game:
        native = _native(game)
        codes = list(struct.unpack_from(f"<{len(calls)}i", game.snapshot().memory, 4096 - STATE_BEGIN))
    bad = R["BAD_ARGUMENT"]
    assert codes == [bad, bad, bad, bad, bad, bad, R["TOO_BIG"], R["OK"], bad, bad, bad, 10, bad, bad, bad, 3]
    assert _play(play_page(), server.add_game(b.path)) == native
