"""Carts as other people's toolchains make them: byte strings through textUtf8, UTF-16 text,
WASI-style entry points, the mouse before the pointer shows, imports WASM-4 does not offer, and
lines drawn pixel for pixel as WASM-4 draws them. Each case is a small WAT cart run by the native
host (or the host's Framebuffer); web/test_carts.py runs compat/quirks.wat in Chromium."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

from layerw.cart import CartBundle, is_cart
from layerw.errors import ConfigError, InvalidModule
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4 import font
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.runtime.wasm4.framebuffer import Framebuffer
from layerw.saves import Saves
from tests.runtime.wasm4.conftest import wat_cart

TEXT_IMPORTS = """
  (import "env" "memory" (memory 1 1))
  (import "env" "text" (func $text (param i32 i32 i32)))
  (import "env" "textUtf8" (func $textUtf8 (param i32 i32 i32 i32)))
  (import "env" "textUtf16" (func $textUtf16 (param i32 i32 i32 i32)))
"""


def run(tmp_path: Path, engine: Engine, wat: str, ticks: int = 1, name: str = "compat") -> CartGame:
    game = start_game(wat_cart(tmp_path, wat, name), engine)
    assert isinstance(game, CartGame)
    for _ in range(ticks):
        game.tick(InputState(1))
    return game


def screen(tmp_path: Path, engine: Engine, draw: str, data: str) -> np.ndarray:
    """The palette indices after one update() that runs ``draw`` over the data segments ``data``."""
    wat = f'(module {TEXT_IMPORTS} (func (export "update") {draw}) {data})'
    with run(tmp_path, engine, wat) as game:
        return game.cart.framebuffer.indices().copy()


def test_text_utf8_draws_each_byte_as_a_character(tmp_path: Path, engine: Engine) -> None:
    # Rust's b"\x80", Zig's and Go's "\x80" (the X button glyph) are bytes that are not UTF-8, passed with
    # their length; "\xc3\xa9" (UTF-8 for e-acute) is two characters to WASM-4, as text() draws them.
    # DRAW_COLORS 0x43: every cell drawn shows, ink palette 2 on background palette 3
    data = '(data (i32.const 0x14) "\\43\\00") (data (i32.const 0x2000) "A\\80\\c3\\a9!\\00")'
    utf8 = screen(tmp_path / "a", engine, "(call $textUtf8 (i32.const 0x2000) (i32.const 5) (i32.const 8) (i32.const 8))",
                  data)
    cstr = screen(tmp_path / "b", engine, "(call $text (i32.const 0x2000) (i32.const 8) (i32.const 8))", data)
    assert (utf8 == cstr).all()
    assert (utf8[8:16, 8:48] != 0).all() and (utf8[8:16, 48:] == 0).all()  # five cells, "!" in the fifth


def test_text_utf8_and_utf16_stop_at_a_nul_as_text_does(tmp_path: Path, engine: Engine) -> None:
    data = ('(data (i32.const 0x14) "\\43\\00") (data (i32.const 0x2000) "AB\\00CD") '
            '(data (i32.const 0x3000) "A\\00B\\00\\00\\00C\\00D\\00")')
    cstr = screen(tmp_path / "c", engine, "(call $text (i32.const 0x2000) (i32.const 8) (i32.const 8))", data)
    utf8 = screen(tmp_path / "u8", engine,
                  "(call $textUtf8 (i32.const 0x2000) (i32.const 5) (i32.const 8) (i32.const 8))", data)
    utf16 = screen(tmp_path / "u16", engine,
                   "(call $textUtf16 (i32.const 0x3000) (i32.const 10) (i32.const 8) (i32.const 8))", data)
    assert (utf8 == cstr).all() and (utf16 == cstr).all()
    assert (cstr[8:16, 8:24] != 0).all() and (cstr[:, 24:] == 0).all()  # "AB", then nothing


def test_text_utf16_draws_each_unit_and_an_odd_or_cut_length_is_bounded(tmp_path: Path, engine: Engine) -> None:
    # an odd byte length drops its last byte; a string cut by the end of memory draws what lies inside
    data = '(data (i32.const 0x14) "\\43\\00") (data (i32.const 0x2000) "\\80\\00\\86\\00Z") (data (i32.const 0xFFFF) "Q")'
    utf16 = screen(tmp_path / "a", engine,
                   "(call $textUtf16 (i32.const 0x2000) (i32.const 5) (i32.const 0) (i32.const 0))"
                   "(call $textUtf16 (i32.const 0xFFFF) (i32.const 8) (i32.const 0) (i32.const 40))"
                   "(call $textUtf16 (i32.const -1) (i32.const -1) (i32.const 0) (i32.const 80))", data)
    cstr = screen(tmp_path / "b", engine, "(call $text (i32.const 0x3000) (i32.const 0) (i32.const 0))",
                  '(data (i32.const 0x14) "\\43\\00") (data (i32.const 0x3000) "\\80\\86\\00")')
    assert (utf16 == cstr).all() and (cstr[0:8, 0:16] != 0).all() and (cstr[:, 16:] == 0).all()


def test_wasi_style_start_then_initialize_then_start_each_once(tmp_path: Path, engine: Engine) -> None:
    # each entry point appends its number to a log at 0x2000 (its length at 0x1ff0)
    def entry(name: str, n: int) -> str:
        return f"""(func (export "{name}")
          (i32.store8 (i32.add (i32.const 0x2000) (i32.load (i32.const 0x1ff0))) (i32.const {n}))
          (i32.store (i32.const 0x1ff0) (i32.add (i32.load (i32.const 0x1ff0)) (i32.const 1))))"""
    wat = f"""(module (import "env" "memory" (memory 1 1))
      {entry("start", 3)} {entry("_initialize", 2)} {entry("_start", 1)} {entry("update", 4)})"""
    with run(tmp_path, engine, wat, ticks=2) as game:
        assert game.ram[0x2000:0x2005].tolist() == [1, 2, 3, 4, 4]


def test_an_export_named_like_an_entry_point_but_not_a_function_is_not_called(tmp_path: Path, engine: Engine) -> None:
    wat = """(module (import "env" "memory" (memory 1 1))
      (global (export "start") i32 (i32.const 1)) (global (export "update") i32 (i32.const 2)))"""
    with run(tmp_path, engine, wat, ticks=2) as game:
        assert game.tick_count == 2


def test_entry_points_are_called_with_no_arguments_and_their_results_ignored(tmp_path: Path, engine: Engine) -> None:
    # as JavaScript calls them in WASM-4: an i32 parameter reads 0, a float NaN; results are dropped
    wat = """(module (import "env" "memory" (memory 1 1))
      (func (export "start") (param i32) (result f64) (i32.store (i32.const 0x2000) (i32.add (local.get 0) (i32.const 1)))
        (f64.const nan))
      (func (export "update") (param i32 f32 f64) (result i32 i32)
        (i32.store (i32.const 0x2004) (local.get 0)) (f32.store (i32.const 0x2008) (local.get 1))
        (f64.store (i32.const 0x2010) (local.get 2)) (i32.const 1) (i32.const 2)))"""
    with run(tmp_path, engine, wat, ticks=2) as game:
        assert struct.unpack("<iif", game.ram[0x2000:0x200C].tobytes())[:2] == (1, 0)
        assert np.isnan(struct.unpack("<f", game.ram[0x2008:0x200C].tobytes())[0])
        assert np.isnan(struct.unpack("<d", game.ram[0x2010:0x2018].tobytes())[0])
    wide = '(module (import "env" "memory" (memory 1 1)) (func (export "update") (param i64)))'
    with pytest.raises(InvalidModule, match="update taking i64 parameters"):
        run(tmp_path / "wide", engine, wide)


def mouse(game: CartGame) -> tuple[int, int, int]:
    x, y, buttons = struct.unpack("<hhB", game.ram[mm.MOUSE_X:mm.MOUSE_BUTTONS + 1].tobytes())
    return x, y, buttons


def test_the_mouse_is_off_screen_until_the_pointer_shows_then_follows_it(tmp_path: Path, engine: Engine) -> None:
    # start() copies the mouse registers to 0x2000: what the cart sees before any input
    wat = """(module (import "env" "memory" (memory 1 1))
      (func (export "start") (memory.copy (i32.const 0x2000) (i32.const 0x1a) (i32.const 4))) (func (export "update")))"""
    with run(tmp_path, engine, wat, ticks=0) as game:
        off = (mm.MOUSE_OFF_SCREEN, mm.MOUSE_OFF_SCREEN)
        assert struct.unpack("<hh", game.ram[0x2000:0x2004].tobytes()) == off
        state = InputState(1)
        state.record["players"][0]["pointer"]["buttons"] = mm.MOUSE_RIGHT  # no position yet: still off screen
        game.tick(state)
        assert mouse(game) == (*off, mm.MOUSE_RIGHT)
        state.pointer(0, 12.5, 30.0)
        game.tick(state)
        assert mouse(game) == (12, 30, 0)
        state.record["players"][0]["pointer"]["inside"] = 0  # left the game: still followed, as WASM-4 does
        state.record["players"][0]["pointer"]["x"] = -20.0
        game.tick(state)
        assert mouse(game) == (-20, 30, 0)
        snap = game.snapshot()
        game.restore(snap)  # the registers are memory: a restored game follows the pointer too
        game.tick(state)
        assert mouse(game) == (-20, 30, 0)


def test_a_cart_importing_what_wasm4_does_not_offer_is_refused_by_name(tmp_path: Path, engine: Engine) -> None:
    # WASM-4 refuses these when it links the cart; a toolchain's leftover WASI import is the usual one
    for module, name in (("wasi_snapshot_preview1", "fd_write"), ("env", "abort"), ("env", "seed")):
        wat = f"""(module (import "env" "memory" (memory 1 1)) (import "{module}" "{name}" (func (param i32)))
          (func (export "update")))"""
        path = tmp_path / f"{name}.wasm"
        path.write_bytes(wat_cart(tmp_path, wat, name).module)
        assert is_cart(path.read_bytes())
        with pytest.raises(InvalidModule, match=f"{module}.{name} \\(func\\), which WASM-4 does not offer"):
            start_game(wat_cart(tmp_path, wat, name), engine)
    # a module with no env import at all, or one importing Layer-W's own functions, is not a cart
    wasi_only = '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (memory (export "memory") 1))'
    with pytest.raises(ConfigError, match="not a WASM-4 cart"):
        wat_cart(tmp_path, wasi_only, "wasi-only")
    game_like = '(module (import "env" "memory" (memory 1)) (import "layerw" "log" (func (param i32 i32))))'
    with pytest.raises(ConfigError, match="not a WASM-4 cart"):
        wat_cart(tmp_path, game_like, "game-like")


def stepped_line(x1: int, y1: int, x2: int, y2: int) -> set[tuple[int, int]]:
    """The on-screen pixels of the error-stepping Bresenham line WASM-4's runtime draws: from the
    upper end point, one step at a time, half the major distance as the starting error."""
    if y1 > y2:
        x1, y1, x2, y2 = x2, y2, x1, y1
    dx, dy, sx = abs(x2 - x1), y2 - y1, 1 if x1 < x2 else -1
    err, out = (dx if dx > dy else -dy) / 2, set()
    while True:
        if 0 <= x1 < mm.SCREEN and 0 <= y1 < mm.SCREEN:
            out.add((x1, y1))
        if (x1, y1) == (x2, y2):
            return out
        e2 = err
        if e2 > -dx:
            err, x1 = err - dy, x1 + sx
        if e2 < dy:
            err, y1 = err + dx, y1 + 1


def test_a_line_runs_from_its_upper_end_and_rounds_ties_toward_it() -> None:
    memory = np.zeros(mm.MEMORY_SIZE, np.uint8)
    memory[mm.DRAW_COLORS] = 2
    fb = Framebuffer(memory, font.glyphs(), lambda text: None)

    def drawn(*ends: int) -> set[tuple[int, int]]:
        fb.clear()
        fb.line(*ends)
        return {(int(x), int(y)) for y, x in zip(*np.nonzero(fb.indices()), strict=True)}

    # x-major, every other column a tie: y stays with the upper end point's row first
    assert drawn(10, 10, 20, 15) == drawn(20, 15, 10, 10) == {(10 + k, 10 + k // 2) for k in range(11)}
    # y-major leaning left: the x of a tie stays with the upper end point's column
    assert drawn(20, 10, 15, 20) == {(20 - (i // 2), 10 + i) for i in range(11)}
    rng = random.Random(15)
    for _ in range(1500):
        reach = rng.choice((8, 40, 400))
        ends = tuple(rng.randint(-reach, mm.SCREEN + reach) for _ in range(4))
        assert drawn(*ends) == stepped_line(*ends), ends


def edged_rect(x: int, y: int, w: int, h: int) -> dict[tuple[int, int], int]:
    """The on-screen pixels of a rect as WASM-4's runtime draws one (fill 1, outline 2): the clipped
    fill, then each edge whose line lies on screen, down (or across) the clipped fill's extent."""
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, mm.SCREEN), min(y + h, mm.SCREEN)
    out = {(c, r): 1 for r in range(y0, y1) for c in range(x0, x1)}
    for edge, on in ((x, 0 <= x < mm.SCREEN), (x + w - 1, 0 <= x + w <= mm.SCREEN)):
        out.update({(edge, r): 2 for r in range(y0, y1) if on and edge >= 0})
    for edge, on in ((y, 0 <= y < mm.SCREEN), (y + h - 1, 0 <= y + h <= mm.SCREEN)):
        out.update({(c, edge): 2 for c in range(x0, x1) if on and edge >= 0})
    return out


def test_a_rect_is_drawn_as_wasm4_draws_it_flat_ones_as_two_edges() -> None:
    memory = np.zeros(mm.MEMORY_SIZE, np.uint8)
    memory[mm.DRAW_COLORS] = 0x32  # fill palette 1, outline palette 2
    fb = Framebuffer(memory, font.glyphs(), lambda text: None)
    rng = random.Random(15)
    for ends in [(10, 50, 0, 5), (10, 50, 6, 0), (0, 0, 0, 9), (-3, 159, 7, 0), (5, 5, 0, 0)] + [
            (rng.randint(-20, 170), rng.randint(-20, 170), rng.choice((0, 1, 2, rng.randint(0, 40))), rng.randint(0, 40))
            for _ in range(800)]:
        fb.clear()
        fb.rect(*ends)
        indices = fb.indices()
        drawn = {(int(c), int(r)): int(indices[r, c]) for r, c in zip(*np.nonzero(indices), strict=True)}
        assert drawn == edged_rect(*ends), ends


def test_a_zig_cart_built_as_the_template_builds_it_runs(zig_cart: Path, engine: Engine, tmp_path: Path) -> None:
    saves = Saves(tmp_path / "saves")
    for run_number in (1, 2):
        with start_game(CartBundle(zig_cart), engine, saves=saves) as game:
            assert isinstance(game, CartGame)
            state = InputState(1)
            state.key(0, "KeyX", True)
            for _ in range(30):
                game.tick(state)
            assert game.disk.data[:1] == bytes([run_number])  # start() counted the run on the disk
            assert list(game.traces)[-1] == "mouse away" and len(game.tone_events) == 1
            indices = game.cart.framebuffer.indices()
            cells = 16  # "Press \x80 to blink": the \x80 byte is one cell, as in C's text()
            assert (indices[4:12, 4:4 + 8 * cells] != 0).all() and (indices[4:12, 4 + 8 * cells:] == 0).all()
            assert (indices[40:60, 40:60] == 1).all()  # X held: the rect
            assert game.frame()[100, 100].tolist() == [0xFF, 0xF6, 0xD3, 255]  # start() set palette 0
