"""The 8x8 font for ``text``: one glyph per character code 0..255, ink as set bits.

WASM-4's own font data is not among the documentation this project may read, so this is an
interim font of Layer-W's own, clearly not the reference's: printable ASCII (32..126) from
Pillow's built-in bitmap font (6x11 cells, fitted into 8x8 cells: glyphs start one column in,
and the 8-row window keeps each glyph's ink, favouring the top for the few taller than 8 rows);
codes 127..255 draw an empty cell. ``glyphs.bin`` (package data, 8 bytes a code, most
significant bit leftmost) holds it; ``python -m layerw.runtime.wasm4.font`` regenerates it.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

GLYPHS_FILE = "glyphs.bin"
CODES = 256
CELL = 8
SOURCE_TOP = 2  # Pillow's cells have ink in rows 2..10; most glyphs fit rows 2..9


@lru_cache(maxsize=1)
def glyphs() -> np.ndarray:
    """(256, 8, 8) bool, read-only: True where glyph ``code`` has ink at (row, column)."""
    data = resources.files(__package__).joinpath(GLYPHS_FILE).read_bytes()
    rows = np.frombuffer(data, np.uint8).reshape(CODES, CELL)
    ink = np.unpackbits(rows[:, :, None], axis=2).astype(bool)
    ink.setflags(write=False)
    return ink


def generate() -> bytes:
    """Render printable ASCII from Pillow's built-in bitmap font into 8x8 cells."""
    from PIL import ImageFont

    font = ImageFont.load_default_imagefont()
    out = np.zeros((CODES, CELL, CELL), bool)
    for code in range(32, 127):
        mask = font.getmask(chr(code))
        w, h = mask.size
        cell = np.array([[mask.getpixel((x, y)) for x in range(w)] for y in range(h)]) > 0
        rows = np.flatnonzero(cell.any(axis=1))
        if not len(rows):
            continue
        top = min(SOURCE_TOP, int(rows[0]))
        if rows[-1] >= top + CELL:  # a descender below the window: slide it down, up to the first ink row
            top = min(int(rows[-1]) - CELL + 1, int(rows[0]))
        part = cell[top:top + CELL, :CELL - 1]
        out[code, :part.shape[0], 1:1 + part.shape[1]] = part
    return np.packbits(out, axis=2).tobytes()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).with_name(GLYPHS_FILE)
    out.write_bytes(generate())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
