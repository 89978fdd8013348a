"""A cart that draws every glyph of the font, through one of WASM-4's three text functions.

Every code a string can hold (1..255 but 10, the newline; 0 ends a string) is drawn in 16 rows of
16 cells from (16, 8), DRAW_COLORS 0x34 (ink palette colour 3, the cell palette colour 2), so a
code below 32, which draws nothing, shows as the cleared colour 0. ``expected`` is the framebuffer
the font says the cart must leave; test_font.py runs it natively, web/test_carts.py in Chromium.
"""

from __future__ import annotations

import numpy as np

from layerw.runtime.wasm4 import font
from layerw.runtime.wasm4.memorymap import SCREEN
from tests.runtime.wasm4.shapes import env

FUNCTIONS = ("text", "textUtf8", "textUtf16")
CODES = [c for c in range(1, 256) if c != 10]
PER_ROW = 16
LEFT, TOP = 16, 8
INK, CELL = 3, 2  # palette indices of DRAW_COLORS 0x34's colours 4 and 3
STRINGS = 0x4000  # row r's string at STRINGS + r * STRIDE
STRIDE = 2 * PER_ROW + 2  # room for a row of UTF-16 units and a NUL


def rows() -> list[list[int]]:
    return [CODES[i:i + PER_ROW] for i in range(0, len(CODES), PER_ROW)]


def charset_wat(function: str) -> str:
    """The cart, drawing with ``function`` (text: NUL-terminated bytes; textUtf8: the row's bytes;
    textUtf16: the row's code units, each code one unit)."""
    data, calls = [], []
    for r, row in enumerate(rows()):
        ptr, x, y = STRINGS + r * STRIDE, LEFT, TOP + 8 * r
        units = bytes(row) if function != "textUtf16" else b"".join(c.to_bytes(2, "little") for c in row)
        escaped = "".join(f"\\{b:02x}" for b in units)
        data.append(f'(data (i32.const {ptr}) "{escaped}")')
        if function == "text":
            calls.append(f"(call $text (i32.const {ptr}) (i32.const {x}) (i32.const {y}))")
        else:
            calls.append(f"(call ${function} (i32.const {ptr}) (i32.const {len(units)}) (i32.const {x}) (i32.const {y}))")
    return (f"(module {env(function)} "
            f'(func (export "update") (i32.store16 (i32.const 0x14) (i32.const 0x34)) {" ".join(calls)}) '
            f'{" ".join(data)})')


def expected() -> np.ndarray:
    """(160, 160) palette indices: the cleared screen with each code's glyph in its cell (codes
    below 32 leave their cell cleared)."""
    screen = np.zeros((SCREEN, SCREEN), np.uint8)
    glyphs = font.glyphs()
    for r, row in enumerate(rows()):
        for i, code in enumerate(row):
            if code >= 32:
                x, y = LEFT + 8 * i, TOP + 8 * r
                screen[y:y + 8, x:x + 8] = np.where(glyphs[code], INK, CELL)
    return screen
