"""The 8x8 font for ``text``: one glyph per character code 0..255, ink as set bits.

WASM-4's own font data is not among the documentation this project may read, so this font is
Layer-W's own, generated from one source, never from WASM-4's bitmap. WASM-4's charset is 224 codes
(32..255): ASCII, its button and arrow icons at 0x80..0x87 and Latin-1's supplement at 0xA0..0xFF.
- 32..126 and 0xA1..0xFF: Pillow's built-in bitmap font (``ImageFont.load_default_imagefont``, X11's
  100-dpi courB08, Adobe/DEC Courier Bold 8: Pillow's MIT-CMU licence and the font's own permissive
  notice, which allows copying and modifying with the notice kept; docs/wasm4-font.md quotes it), its 6x11 cells
  fitted into 8x8 ones: glyphs start one column in; ASCII keeps its 8-row window as it always had
  (the top favoured for the few taller than 8 rows); Latin-1 keeps the baseline of the letter it
  accents (rows 2..9 of the cell, 3..10 for a descender), making room for an accent by first dropping
  the blank row between it and the letter, then its top row.
- 0x80, 0x81, 0x84..0x87 (the X and Z buttons, the arrows): Layer-W's own drawings (``icons.py``).
- No glyph (``UNDEFINED``): the control codes 0..31 and 127, 0x82 and 0x83 (WASM-4 documents no icon
  there), the C1 codes 0x88..0x9F, and 0xA0 (no-break space, a blank cell like 32).
``glyphs.bin`` (package data, 8 bytes a code, most significant bit leftmost) holds it, ``web/wasm4-font.js``
the same bytes for browsers and ``toolchain/runtime/lw_wasm4font.h`` the same glyphs as code for the
drawing module (lw_wasm4fb.c); ``python -m layerw.runtime.wasm4.font`` regenerates all three (a test
fails when they drift), then ``python -m layerw.toolchain.wasm4fb`` rebuilds the drawing module.
"""

from __future__ import annotations

import base64
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from layerw.runtime.wasm4.icons import icons

GLYPHS_FILE = "glyphs.bin"
CODES = 256
CELL = 8
SOURCE_TOP = 2  # Pillow's cells have ink in rows 2..10; most glyphs fit rows 2..9
ASCII = range(32, 127)
LATIN1 = range(0xA1, 0x100)
X_HEIGHT = 4  # Pillow's lowercase letters start at row 4: a blank row above it parts an accent from its letter
UNDEFINED = frozenset([*range(32), 127, 0x82, 0x83, *range(0x88, 0xA1)])  # codes with no ink (32 is the space)


def glyphs_bytes() -> bytes:
    """``glyphs.bin``: 8 bytes a code 0..255, row r in byte r, the leftmost pixel its most significant bit."""
    return resources.files(__package__).joinpath(GLYPHS_FILE).read_bytes()


@lru_cache(maxsize=1)
def glyphs() -> np.ndarray:
    """(256, 8, 8) bool, read-only: True where glyph ``code`` has ink at (row, column)."""
    rows = np.frombuffer(glyphs_bytes(), np.uint8).reshape(CODES, CELL)
    ink = np.unpackbits(rows[:, :, None], axis=2).astype(bool)
    ink.setflags(write=False)
    return ink


def generate() -> bytes:
    """The font from its sources: Pillow's bitmap font for ASCII and Latin-1, ``icons`` for 0x80..0x87."""
    from PIL import ImageFont

    font = ImageFont.load_default_imagefont()
    out = np.zeros((CODES, CELL, CELL), bool)
    for code in (*ASCII, *LATIN1):
        mask = font.getmask(chr(code))
        w, h = mask.size
        cell = np.array([[mask.getpixel((x, y)) for x in range(w)] for y in range(h)], np.uint8).reshape(h, w) > 0
        part = fit_ascii(cell) if code in ASCII else fit_latin1(cell)
        out[code, :part.shape[0], 1:1 + part.shape[1]] = part[:, :CELL - 1]
    for code, ink in icons().items():
        out[code] = ink
    return np.packbits(out, axis=2).tobytes()


def fit_ascii(cell: np.ndarray) -> np.ndarray:
    """An ASCII glyph's 8 rows: from row 2, or from its first ink row if higher; a descender below
    that window slides it down, up to the first ink row."""
    rows = np.flatnonzero(cell.any(axis=1))
    if not len(rows):
        return cell[:0]
    top = min(SOURCE_TOP, int(rows[0]))
    if rows[-1] >= top + CELL:  # a descender below the window: slide it down, up to the first ink row
        top = min(int(rows[-1]) - CELL + 1, int(rows[0]))
    return cell[top:top + CELL]


def fit_latin1(cell: np.ndarray) -> np.ndarray:
    """A Latin-1 glyph's 8 rows on its letter's baseline: rows 2..9, or 3..10 with a descender in row
    10 (as ASCII's y and g sit); ink above the window moves down into it, over the blank row that
    parts an accent from its letter, or else loses its top row."""
    cell = cell.copy()
    rows = np.flatnonzero(cell.any(axis=1))
    top = SOURCE_TOP + 1 if len(rows) and rows[-1] >= SOURCE_TOP + CELL else SOURCE_TOP
    while cell[:top].any():
        first = int(np.flatnonzero(cell.any(axis=1))[0])
        gaps = [r for r in range(first + 1, X_HEIGHT) if not cell[r].any()]
        if gaps:  # close the gap: the rows above it move one down
            cell[first + 1:gaps[-1] + 1] = cell[first:gaps[-1]].copy()
        cell[first] = False
    return cell[top:top + CELL]


WEB_FONT = Path(__file__).resolve().parents[2] / "web" / "wasm4-font.js"
NOTICE = ("// Glyphs from X11's courB08 (Copyright 1984-1989, 1994 Adobe Systems Incorporated; Copyright 1988, 1994\n"
          "// Digital Equipment Corporation; the permission notice is in docs/wasm4-font.md) and Layer-W's own icons.\n")


def js_module(data: bytes) -> str:
    """The browser's copy of ``data`` (the glyph bytes), as an ES module."""
    return ("// GENERATED by layerw.runtime.wasm4.font from glyphs.bin. Do not edit.\n"
            "// The WASM-4 profile's 8x8 font: 8 bytes a character code 0..255, most significant bit leftmost.\n"
            + NOTICE + "\n"
            f'export const GLYPHS_BASE64 = "{base64.b64encode(data).decode()}";\n')


C_FONT = Path(__file__).resolve().parents[2] / "toolchain" / "runtime" / "lw_wasm4font.h"


def c_header(data: bytes) -> str:
    """The drawing module's copy of ``data``: a switch, not a table, so the module keeps no data in
    the cart's memory (it is built with -fno-jump-tables: clang keeps the switch as code)."""
    cases = []
    for code in range(CODES):
        rows = int.from_bytes(data[code * CELL:(code + 1) * CELL], "little")
        if rows:
            cases.append(f"    case {code}: return 0x{rows:016X}ull;")
    return ("// GENERATED by layerw.runtime.wasm4.font from glyphs.bin. Do not edit.\n"
            "// The WASM-4 profile's 8x8 font: glyph `code`, row r in byte r, the leftmost pixel its most significant bit.\n"
            + NOTICE + "#pragma once\n#include <stdint.h>\n\n"
            "static inline uint64_t lw_glyph(uint32_t code) {\n  switch (code) {\n" + "\n".join(cases)
            + "\n    default: return 0;\n  }\n}\n")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).with_name(GLYPHS_FILE)
    data = generate()
    out.write_bytes(data)
    WEB_FONT.write_text(js_module(data))
    C_FONT.write_text(c_header(data))
    print(f"wrote {out}, {WEB_FONT} and {C_FONT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
