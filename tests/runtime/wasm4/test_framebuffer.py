"""Framebuffer: every drawing primitive against an independent numpy oracle, pixel for pixel."""

from __future__ import annotations

import time

import numpy as np
import pytest

from layerw.runtime.wasm4 import font
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.framebuffer import Framebuffer

SMILEY = [0b11000011, 0b10000001, 0b00100100, 0b00100100, 0b00000000, 0b00100100, 0b10011001, 0b11000011]
SPRITE_AT = 0x2000


class Screen:
    """A framebuffer over a fresh 64 KiB, with the warnings it gave."""

    def __init__(self, draw_colors: int = 0x4321) -> None:
        self.memory = np.zeros(mm.MEMORY_SIZE, np.uint8)
        self.warnings: list[str] = []
        self.fb = Framebuffer(self.memory, font.glyphs(), self.warnings.append)
        self.colors(draw_colors)

    def colors(self, value: int) -> None:
        self.memory[mm.DRAW_COLORS], self.memory[mm.DRAW_COLORS + 1] = value & 0xFF, value >> 8

    def pixels(self) -> np.ndarray:
        return self.fb.indices().astype(np.int16)


def unpack(data: list[int], w: int, h: int, bpp: int) -> np.ndarray:
    """Pixel values of a sprite, decoded bit by bit the slow, obvious way (the oracle)."""
    out = np.zeros((h, w), np.int16)
    for i in range(w * h):
        bit = i * bpp
        out[i // w, i % w] = (data[bit // 8] >> (8 - bpp - bit % 8)) & ((1 << bpp) - 1)
    return out


def test_pixels_pack_four_to_a_byte_leftmost_lowest() -> None:
    s = Screen(0x0004)  # DRAW_COLORS 1 = palette colour 3
    s.fb.hline(0, 0, 1)
    assert s.memory[mm.FRAMEBUFFER] == 0b11
    s.fb.hline(3, 0, 1)
    assert s.memory[mm.FRAMEBUFFER] == 0b11000011
    s.fb.clear()
    assert not s.memory[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE].any()


def test_rect_fills_with_colour_1_and_outlines_with_colour_2() -> None:
    s = Screen(0x0032)  # fill palette 1, outline palette 2
    s.fb.rect(2, 3, 5, 4)
    expected = np.zeros((160, 160), np.int16)
    expected[3:7, 2:7] = 2
    expected[4:6, 3:6] = 1
    assert (s.pixels() == expected).all()
    s = Screen(0x0002)  # outline transparent: the fill covers the whole rect
    s.fb.rect(-3, -3, 5, 5)  # clipped: only the on-screen part, and no outline where it is cut
    expected = np.zeros((160, 160), np.int16)
    expected[0:2, 0:2] = 1
    assert (s.pixels() == expected).all()


def test_lines_cover_both_ends_and_clip() -> None:
    s = Screen(0x0004)
    s.fb.hline(158, 5, 10)
    s.fb.vline(1, 157, 10)
    s.fb.line(10, 10, 20, 15)
    p = s.pixels()
    assert p[5, 158:].tolist() == [3, 3] and p[5, :158].sum() == 0
    assert p[157:, 1].tolist() == [3, 3, 3]
    cols = np.flatnonzero(p[10:16, 10:21].any(axis=0))
    assert cols.tolist() == list(range(11))  # one pixel in every column of an x-major line
    assert p[10, 10] == 3 and p[15, 20] == 3
    ys = [int(np.flatnonzero(p[:, x])[0]) for x in range(10, 21)]
    assert ys == sorted(ys) and all(abs(y - (10 + (x - 10) / 2)) <= 0.5 for x, y in zip(range(10, 21), ys, strict=True))


def test_a_line_with_far_ends_costs_only_its_pixels_on_screen() -> None:
    s = Screen(0x0002)
    started = time.thread_time()  # this thread's CPU time: what the line costs, however loaded the machine
    s.fb.line(-2_000_000_000, -2_000_000_000, 2_000_000_000, 2_000_000_000)
    assert time.thread_time() - started < 0.5
    assert (np.flatnonzero(s.pixels().any(axis=0)) == np.arange(160)).all()
    assert all(s.pixels()[i, i] == 1 for i in range(160))


OVALS = {  # WASM-4's oval walk worked by hand (S outline, F inside): its box is exactly w x h
    (1, 1): ["S"],
    (2, 2): ["SS", "SS"],
    (3, 3): [".S.", "SFS", ".S."],
    (4, 2): ["SSSS", "SSSS"],
    (8, 5): ["..SSSS..", ".SFFFFS.", "SFFFFFFS", ".SFFFFS.", "..SSSS.."],
    (0, 3): ["SS", "SS", "SS"],  # a zero width: columns x - 1 and x down its height
    (-3, 2): ["S...S", "S...S"],  # a negative width: columns x + w - 1 and x
}


@pytest.mark.parametrize("size", list(OVALS))
def test_oval_is_wasm4s_midpoint_walk(size: tuple[int, int]) -> None:
    """WASM-4 draws an oval by its midpoint walk (after TIC-80's), not as the ellipse inscribed in
    its box with a 4-neighbour outline (what this drew before): each case was worked step by step."""
    w, h = size
    s = Screen(0x0032)  # fill palette 1, outline palette 2
    s.fb.oval(20, 30, w, h)
    want = np.zeros((160, 160), np.int16)
    left = 20 + min(w - 1, 0)
    for r, row in enumerate(OVALS[size]):
        for c, ch in enumerate(row):
            want[30 + r, left + c] = ".FS".index(ch)
    assert np.array_equal(s.pixels(), want)


def test_a_larger_oval_is_symmetric_and_fills_its_box() -> None:
    s = Screen(0x0032)
    s.fb.oval(10, 20, 16, 10)
    p = s.pixels()[20:30, 10:26]
    assert (p == p[::-1]).all() and (p == p[:, ::-1]).all()
    assert np.count_nonzero(s.pixels()) == np.count_nonzero(p)
    assert p[5, 0] == p[5, 15] == p[0, 8] == p[9, 8] == 2 and p[5, 8] == 1


def test_oval_outline_colour_0_is_palette_3_and_0xf_draws_nothing() -> None:
    """WASM-4 takes an oval's outline colour as (DRAW_COLORS 2 - 1) & 3 and returns early on 0xF."""
    s = Screen(0x0002)
    s.fb.oval(0, 0, 3, 3)
    assert s.pixels()[0, 1] == 3 and s.pixels()[1, 1] == 1
    s = Screen(0x00F2)
    s.fb.oval(0, 0, 8, 8)
    assert (s.pixels() == 0).all()


def test_negative_sizes_draw_as_in_wasm4() -> None:
    """Sizes are i32 in WASM-4's runtimes (wasm4.h says u32): a negative width or length draws no
    span reaching the screen's edge (as this did, reading it as u32), but a rect's outline columns."""
    s = Screen(0x0013)  # fill palette 2, outline palette 0
    s.fb.oval(-2_000_000_000, -2_000_000_000, -1, -1)
    s.fb.hline(50, 5, -1)
    s.fb.vline(5, 50, -3)
    s.fb.blit(SPRITE_AT, 10, 10, -8, 8, 0, 0, 8, 0)
    assert (s.pixels() == 0).all()
    s = Screen(0x0021)
    s.fb.rect(10, 20, -3, 2)  # columns x and x + w - 1 down its two rows, nothing filled
    p = s.pixels()
    assert p[20, 10] == p[21, 10] == p[20, 6] == p[21, 6] == 1 and np.count_nonzero(p) == 4


@pytest.mark.parametrize("flags", range(16))
def test_blit_every_flag_matches_flip_then_rotate(flags: int) -> None:
    bpp = 2 if flags & mm.BLIT_2BPP else 1
    rng = np.random.default_rng(flags)
    w, h = 8, 4 if bpp == 2 else 8
    data = [int(v) for v in rng.integers(0, 256, w * h * bpp // 8)]
    s = Screen(0x4320)  # value 0 transparent, 1 -> palette 1, 2 -> 2, 3 -> 3
    s.memory[SPRITE_AT:SPRITE_AT + len(data)] = data
    s.fb.blit(SPRITE_AT, 30, 40, w, h, 0, 0, w, flags)
    image = unpack(data, w, h, bpp)
    if flags & mm.BLIT_FLIP_X:
        image = image[:, ::-1]
    if flags & mm.BLIT_FLIP_Y:
        image = image[::-1]
    if flags & mm.BLIT_ROTATE:
        image = np.rot90(image)  # a quarter turn anti-clockwise
    colours = np.array([-1, 1, 2, 3])[image]
    expected = np.zeros((160, 160), np.int16)
    region = expected[40:40 + image.shape[0], 30:30 + image.shape[1]]
    region[colours >= 0] = colours[colours >= 0]
    assert (s.pixels() == expected).all()


def test_blit_smiley_1bpp_uses_draw_colours_1_and_2() -> None:
    s = Screen(0x0031)  # bit 0 -> palette 0 (field 1 = 1), bit 1 -> palette 2 (field 2 = 3)
    s.memory[SPRITE_AT:SPRITE_AT + 8] = SMILEY
    s.memory[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE] = 0xFF  # all palette 3 before
    s.fb.blit(SPRITE_AT, -2, 0, 8, 8, 0, 0, 8, 0)
    expected = np.where(unpack(SMILEY, 8, 8, 1) == 1, 2, 0)[:, 2:]
    assert (s.pixels()[:8, :6] == expected).all() and (s.pixels()[:8, 6:] == 3).all()


def test_blit_sub_reads_a_region_of_an_atlas() -> None:
    rng = np.random.default_rng(7)
    atlas = [int(v) for v in rng.integers(0, 256, 32 * 16 // 4)]  # 32x16, 2 bpp
    s = Screen(0x4321)
    s.memory[SPRITE_AT:SPRITE_AT + len(atlas)] = atlas
    s.fb.blit(SPRITE_AT, 0, 0, 8, 8, 16, 4, 32, mm.BLIT_2BPP)
    expected = unpack(atlas, 32, 16, 2)[4:12, 16:24]
    assert (s.pixels()[:8, :8] == expected).all()


def test_blit_past_the_end_of_memory_draws_only_what_lies_inside() -> None:
    s = Screen(0x0021)
    s.memory[-4:] = 0xFF
    s.fb.blit(mm.MEMORY_SIZE - 4, 0, 0, 8, 8, 0, 0, 8, 0)  # rows 0-3 inside, 4-7 past the end
    assert (s.pixels()[:4, :8] == 1).all() and (s.pixels()[4:8, :8] == 0).all()
    assert s.warnings and "past the end of memory" in s.warnings[0]
    s.fb.blit(0xFFFFFFF0, 0, 0, 8, 8, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xF)  # nothing inside at all
    assert (s.pixels()[4:] == 0).all()


def test_text_draws_glyphs_in_colour_1_on_colour_2_and_breaks_lines() -> None:
    s = Screen(0x0014)  # ink palette 3, background palette 0
    s.memory[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE] = 0b01010101  # palette 1 everywhere
    s.fb.text(np.frombuffer(b"Hi\n\x01!", np.uint8).astype(np.int64), 4, 6)
    glyphs = font.glyphs()
    p = s.pixels()
    assert (p[6:14, 4:12] == np.where(glyphs[ord("H")], 3, 0)).all()
    assert (p[6:14, 12:20] == np.where(glyphs[ord("i")], 3, 0)).all()
    assert (p[14:22, 4:12] == 1).all()  # \x01: not drawn, but it takes a cell
    assert (p[14:22, 12:20] == np.where(glyphs[ord("!")], 3, 0)).all()
    assert (p[:6] == 1).all() and (p[22:] == 1).all()


def test_text_with_transparent_background_keeps_what_is_under_it() -> None:
    s = Screen(0x0004)
    s.memory[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE] = 0b01010101
    s.fb.text(np.array([ord("A")] * 100, np.int64), -8, 156)  # off the left, the bottom and the right
    ink = font.glyphs()[ord("A")]
    assert (s.pixels()[156:160, 0:8] == np.where(ink[:4], 3, 1)).all()


def test_rgba_maps_through_the_palette() -> None:
    s = Screen(0x0004)
    s.memory[mm.PALETTE:mm.PALETTE + 16] = np.frombuffer(np.array([0x112233, 0, 0, 0xAABBCC], "<u4").tobytes(), np.uint8)
    s.fb.hline(0, 0, 1)
    rgba = s.fb.rgba()
    assert rgba.shape == (160, 160, 4)
    assert rgba[0, 0].tolist() == [0xAA, 0xBB, 0xCC, 255] and rgba[0, 1].tolist() == [0x11, 0x22, 0x33, 255]
