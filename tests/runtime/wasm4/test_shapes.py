"""Carts in every toolchain's module shape (shapes.py) on the native host: each one runs, repeats its
state hash and continues exactly from a snapshot; what each shape does differently (entry points,
globals, tables, multi-value, bulk memory, tail calls, a wasm start function, a re-exported import, a
64 KiB data segment, custom sections) is seen in its memory, pixels, tones and traces; shapes WASM-4
cannot link fail typed, naming the import; drawing at the edges matches a per-pixel oracle."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from layerw.cart import CartBundle, is_cart
from layerw.errors import GameCrashed, InvalidModule
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4 import font
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4 import trace as tr
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.runtime.wasm4.framebuffer import Framebuffer
from tests.runtime.wasm4 import shapes
from tests.runtime.wasm4.shapes import SPRITES, STATE, Shape

TICKS = 40


def cart_file(tmp_path: Path, shape: Shape) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{shape.name}.wasm"
    path.write_bytes(shape.wasm())
    return path


@contextmanager
def running(tmp_path: Path, engine: Engine, shape: Shape, ticks: int = TICKS) -> Iterator[CartGame]:
    """``shape`` after ``ticks`` ticks of X held from tick 5 (player 1's gamepad reads 1)."""
    with start_game(CartBundle(cart_file(tmp_path, shape)), engine) as game:
        assert isinstance(game, CartGame)
        state = InputState(1)
        for tick in range(ticks):
            state.key(0, "KeyX", tick >= 5)
            game.tick(state)
        yield game


def entry_log(game: CartGame) -> list[int]:
    n = int(game.ram[STATE:STATE + 4].view("<u4")[0])
    return game.ram[STATE + 4:STATE + 4 + n].tolist()


def word(game: CartGame, addr: int, kind: str = "<i") -> int:
    return int(struct.unpack(kind, game.ram[addr:addr + struct.calcsize(kind)].tobytes())[0])


@pytest.mark.parametrize("shape", shapes.RUNS, ids=lambda s: s.name)
def test_every_shape_runs_repeats_and_continues_from_a_snapshot(shape: Shape, tmp_path: Path, engine: Engine) -> None:
    assert is_cart(shape.wasm())
    with running(tmp_path / "a", engine, shape) as first, running(tmp_path / "b", engine, shape) as second:
        assert first.tick_count == TICKS and first.state_hash() == second.state_hash()
        expected = first.state_hash()
    with running(tmp_path / "c", engine, shape, TICKS // 2) as game:
        snap = game.snapshot()
    with start_game(CartBundle(cart_file(tmp_path / "d", shape)), engine) as resumed:
        resumed.restore(snap)
        state = InputState(1)
        state.key(0, "KeyX", True)
        while resumed.tick_count < TICKS:
            resumed.tick(state)
        assert resumed.state_hash() == expected


def test_a_clang_cart_keeps_its_custom_sections_stack_and_table(tmp_path: Path, engine: Engine) -> None:
    wasm = shapes.CLANG.wasm()
    assert b"producers" in wasm and b"sourceMappingURL" in wasm and b"external_debug_info" in wasm
    with running(tmp_path, engine, shapes.CLANG) as game:
        assert entry_log(game) == [3]
        assert game.globals() == [14752]  # the stack pointer, back where it started between calls
        assert list(game.traces)[-1] == f"clang {TICKS - 1} cc :"  # %c prints the low byte, as C's does
        p = game.cart.framebuffer.indices()
        # DRAW_COLORS 0x0342 from start(): squares (table slot 1) for even i, "cc" labels (slot 2) for odd i
        for i in (0, 2, 4):
            assert p[20, 12 * i] == 3 and p[25, 12 * i + 5] == 1
        assert (p[48:56, 4:20] != 0).any() and (p[40:48, 4:20] == 0).all()
        assert p[100, 100:108].tolist() == [3] * 8 and p[101, 100:103].tolist() == [3, 1, 1]


def test_a_rust_cart_uses_bulk_memory_multi_value_tail_calls_and_references(tmp_path: Path, engine: Engine) -> None:
    with running(tmp_path, engine, shapes.RUST) as game:
        assert entry_log(game) == [3]
        assert word(game, 0x3000) == 5 + TICKS and word(game, 0x3004) == -6  # memory.init's copy, counted on
        assert word(game, 0x3008) == 2**31 - 1 and word(game, 0x300C) == 0  # saturated; the table slot is set
        t = 5 + TICKS - 1  # the last update's counter: its rect is at (3t mod 150, 40 + (i8)0xfa)
        p = game.cart.framebuffer.indices()
        assert p[34, 3 * t % 150] != 0 and p[33, 3 * t % 150] == 0
        assert (p[0:8, 0:88] != 0).any() and (p[0:8, 88:] == 0).all()  # "Rust \xe2\x9c\x93 \x80!": 11 cells
        bad = b"bad \xff\xfe \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98A \xf4\x90\x80\x80 \xe2\x82"
        assert list(game.traces)[-1] == bad.decode("utf-8", "replace")
        assert game.disk.data == struct.pack("<i", 33)  # the counter diskw saved when it read 16, then 32


def test_an_assemblyscript_cart_keeps_its_statics_in_globals(tmp_path: Path, engine: Engine) -> None:
    with running(tmp_path, engine, shapes.ASSEMBLYSCRIPT) as game:
        assert entry_log(game) == [1]  # _start, once
        offset, x, n, started = game.globals()
        assert (offset, x, started) == (0x4000 + 16 * TICKS, 10.5 + 0.75 * TICKS, 1)
        assert n == TICKS - 5 == word(game, 0x3100, "<q")  # X held from tick 5
        assert list(game.traces)[-1] == "Hi \x86\ufffd"  # 11 bytes: five units, the last half a surrogate pair
        p = game.cart.framebuffer.indices()
        # "Hi", a space, 0x86 (the up arrow), a surrogate pair (two units past 255: two empty cells), "!"
        cells = [(p[row:row + 8, 2 + 8 * c:10 + 8 * c] != 0).any() for row in (100, 110) for c in range(7)]
        assert cells == [True, True, False, True, False, False, True] + [True, True] + [False] * 5
        assert (p[120:128, :100] == 0).all()  # from an odd address: units 0x6900, 0x2000, 0x8600, none drawn


def test_a_tinygo_cart_initialises_once_and_plays_every_tone_flag(tmp_path: Path, engine: Engine) -> None:
    with running(tmp_path, engine, shapes.TINYGO, 2) as game:
        assert entry_log(game) == [2] and word(game, 0x3004) == 0x8000 + 24
        tones = game.tone_events
        assert len(tones) == 128
        assert {(t.channel, t.duty, t.pan, t.note_mode) for t in tones} == {
            (c, d, p, m) for c in range(4) for d in range(4) for p in range(4) for m in (False, True)}
        assert all(t.attack == f and t.sustain == 3 and t.peak == (f or 100) and t.volume == 40
                   for f, t in enumerate(tones))
        p = game.cart.framebuffer.indices()
        assert (p[150] != 0).all() and (p[:150, 150] == 0).all() and (p[151:, 150] == 0).all()  # the far vline: none
        assert (p[30:37, 0:2] != 0).any() and (p[30:37, 2:] == 0).all()  # the rotated atlas region, 2 columns on screen


def test_a_raw_cart_runs_its_wasm_start_function_while_instantiated(tmp_path: Path, engine: Engine) -> None:
    with start_game(CartBundle(cart_file(tmp_path, shapes.RAW)), engine) as game:
        assert isinstance(game, CartGame)
        assert word(game, mm.PALETTE, "<I") == 0xFF0000 and word(game, 0x2100, "<I") == 0xAAAAAAAA
        assert (game.cart.framebuffer.indices()[0] == 2).all()
        assert list(game.traces) == ["booted \ufffd\ufffd"]
        game.tick(InputState(1))
        assert (game.cart.framebuffer.indices() == 0).all()  # cleared before the update it does not have
        assert game.frame()[0, 0].tolist() == [0xFF, 0, 0, 255]


def test_a_re_exported_import_is_called_with_no_arguments(tmp_path: Path, engine: Engine) -> None:
    with running(tmp_path, engine, shapes.REEXPORT, 3) as game:
        [tone] = game.tone_events
        assert tone.tick == 2 and (tone.freq_start, tone.attack, tone.sustain, tone.volume, tone.peak) == (0, 0, 0, 0, 100)
        assert (game.cart.framebuffer.indices() == 0).all()


def test_a_64_kib_data_segment_lands_over_the_whole_memory(tmp_path: Path, engine: Engine) -> None:
    image = shapes.whole_memory_image()
    with running(tmp_path, engine, shapes.WHOLE_MEMORY, 3) as game:
        assert game.ram[0x8000:0x8004].tobytes() == b"tail" and game.ram[0xFFFF] == 0x5A
        palette = np.array([[0x10, 0x10, 0x10], [0, 0xFF, 0], [0, 0, 0xFF], [0xFF, 0xFF, 0xFF]], np.uint8)
        y, x = np.mgrid[0:160, 0:160]
        assert np.array_equal(game.frame()[:, :, :3], palette[(x + y) // 8 % 4])  # PRESERVE_FRAMEBUFFER kept it
        assert game.ram[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE].tobytes() == \
            image[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE]


@pytest.mark.parametrize("name", sorted(shapes.REFUSED))
def test_shapes_wasm4_cannot_link_fail_typed_naming_the_import(name: str, tmp_path: Path, engine: Engine) -> None:
    wat, named = shapes.REFUSED[name]
    with pytest.raises(InvalidModule) as refused:
        start_game(CartBundle(cart_file(tmp_path, Shape(name, wat))), engine)
    for text in named:
        assert text in str(refused.value)


def test_a_data_segment_past_the_one_page_traps_while_instantiating(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(GameCrashed, match="out of bounds"):
        start_game(CartBundle(cart_file(tmp_path, Shape("past", shapes.PAST_THE_END))), engine)


def blit_oracle(pixels: np.ndarray, memory: np.ndarray, ptr: int, x: int, y: int, w: int, h: int, src_x: int,
                src_y: int, stride: int, flags: int, draw_colors: int) -> None:
    """WASM-4's documented blit, one pixel at a time: sprite pixel (sx, sy) of the region flipped as the
    flags say, then turned a quarter anti-clockwise, coloured through DRAW_COLORS (0: transparent)."""
    bpp = 2 if flags & mm.BLIT_2BPP else 1
    rotate = flags & mm.BLIT_ROTATE
    for v in range(w if rotate else h):
        for u in range(h if rotate else w):
            fx, fy = (w - 1 - v, u) if rotate else (u, v)  # the flipped sprite's pixel at destination (u, v)
            sx = w - 1 - fx if flags & mm.BLIT_FLIP_X else fx
            sy = h - 1 - fy if flags & mm.BLIT_FLIP_Y else fy
            bit = ((src_y + sy) * stride + src_x + sx) * bpp
            value = (int(memory[ptr + bit // 8]) >> (8 - bpp - bit % 8)) & ((1 << bpp) - 1)
            field = (draw_colors >> (4 * value)) & 0xF
            if field and 0 <= x + u < mm.SCREEN and 0 <= y + v < mm.SCREEN:
                pixels[y + v, x + u] = field - 1


def test_drawing_at_the_edges_matches_the_oracles(tmp_path: Path, engine: Engine) -> None:
    """shapes.EDGES: blits of odd widths (2bpp 5 wide, 1bpp 5 wide) with every flag, flags' unused bits
    set, negative positions and a strided atlas against the per-pixel oracle; rects, ovals and lines with
    zero, negative and far arguments against the host's Framebuffer; disk and tracef at their edges."""
    with running(tmp_path, engine, shapes.EDGES, 1) as game:
        memory = game.ram.copy()
        colours = word(game, mm.DRAW_COLORS, "<H")
        expected = np.zeros((mm.SCREEN, mm.SCREEN), np.uint8)
        for f in range(8):
            blit_oracle(expected, memory, SPRITES, -2 + 9 * f, -1, 5, 3, 0, 0, 5, (f << 1) | 1 | 0xFFFFFFF0, colours)
            blit_oracle(expected, memory, SPRITES + 4, 80 + 6 * f, 24, 5, 3, 0, 0, 5, f << 1, colours)
        for x, flags in ((154, 9), (20, 7)):
            blit_oracle(expected, memory, SPRITES + 6, x, 40, 9, 4, 3, 1, 13, flags, colours)
        fb = Framebuffer(memory, font.glyphs(), lambda text: None)
        fb.bytes[...] = expected[:, 0::4] | expected[:, 1::4] << 2 | expected[:, 2::4] << 4 | expected[:, 3::4] << 6
        fb.rect(-5, 60, 0x7FFFFFFF, 4)
        fb.rect(70, 70, -10, -10)
        for args in ((30, 80, 0, 0), (40, 80, -1, 7), (50, 80, 9, 0), (60, 80, 1, 1)):
            fb.oval(*args)
        fb.line(-(2**31), 100, 2**31 - 1, 101)
        fb.line(5, -1000000, 6, 1000000)
        fb.text(np.array([ord("A"), ord("B")]), 0, 140)  # a u32 length past 2^31: to the end of memory, then its NUL
        assert np.array_equal(game.cart.framebuffer.indices(), fb.indices())
        assert (word(game, 0x2000), word(game, 0x2004), word(game, 0x2008)) == (512, 3, 2)  # cut at memory's end
        assert game.disk.data == bytes(512) and game.ram[0xFFFE:].tolist() == [0, 0]
        units = (mm.MEMORY_SIZE - 0x3300) // 2  # "AB", then zeros to the end of memory: cut at MAX_TRACE
        assert list(game.traces) == ["\xe9-2147483648|ffffffff|%c%d|%x|%s|%f|%|-1.000000|", "\ufffd\ufffd\ufffd trace",
                                     "AB" + "\0" * (tr.MAX_TRACE - 2) + f"... ({units - tr.MAX_TRACE} more)"]


def test_a_cart_calling_every_function_with_wild_arguments_runs_bounded(tmp_path: Path, engine: Engine) -> None:
    """shapes.FUZZ: 100 calls a tick of WASM-4's functions with generated arguments (pointers anywhere,
    sprites over the framebuffer, sizes at i32's ends) for 60 ticks: nothing raises, the state repeats."""
    with running(tmp_path / "a", engine, shapes.FUZZ, 60) as game, running(tmp_path / "b", engine, shapes.FUZZ, 60) as again:
        assert game.state_hash() == again.state_hash()
        assert game.globals() != [0x2545F491] and len(game.traces) > 0 and game.cart.framebuffer.indices().any()
