"""The built-in bitmap font: printable ASCII in one RGBA atlas (``font.png``, package data).

Cells are ``abi.FONT_CELL_W`` x ``abi.FONT_CELL_H`` texels in an ``abi.FONT_COLUMNS`` x
``abi.FONT_ROWS`` grid, character ``abi.FONT_FIRST + i`` in cell ``i`` (row-major); glyphs are
white with coverage in alpha, so a tint colours them. Native and browser renderers share the PNG.
``python -m layerw.gfx.font`` regenerates it from Pillow's built-in bitmap font.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from layerw import abi

ATLAS_WIDTH = abi.FONT_COLUMNS * abi.FONT_CELL_W
ATLAS_HEIGHT = abi.FONT_ROWS * abi.FONT_CELL_H
ATLAS_FILE = "font.png"


def cell_origins(glyph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-left texel (u, v) of each glyph index (character code - FONT_FIRST), as float32."""
    u = (glyph % abi.FONT_COLUMNS) * abi.FONT_CELL_W
    v = (glyph // abi.FONT_COLUMNS) * abi.FONT_CELL_H
    return u.astype(np.float32), v.astype(np.float32)


@lru_cache(maxsize=1)
def atlas() -> np.ndarray:
    """The packaged atlas as an HxWx4 uint8 array (read-only, loaded once)."""
    from PIL import Image

    with resources.files(__package__).joinpath(ATLAS_FILE).open("rb") as f, Image.open(f) as im:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
    rgba.setflags(write=False)
    return rgba


def generate() -> np.ndarray:
    """Render the atlas from Pillow's built-in bitmap font, each glyph centred in its cell."""
    from PIL import Image, ImageFont

    pil_font = ImageFont.load_default_imagefont()
    alpha = Image.new("L", (ATLAS_WIDTH, ATLAS_HEIGHT), 0)
    for i in range(abi.FONT_COLUMNS * abi.FONT_ROWS):
        code = abi.FONT_FIRST + i
        if code >= 127:  # DEL has no glyph; its cell stays empty
            continue
        mask = pil_font.getmask(chr(code))
        w, h = mask.size
        if w == 0 or h == 0:
            continue
        glyph = Image.frombytes("L", (w, h), bytes(mask))
        cx = (i % abi.FONT_COLUMNS) * abi.FONT_CELL_W + (abi.FONT_CELL_W - w) // 2
        cy = (i // abi.FONT_COLUMNS) * abi.FONT_CELL_H + (abi.FONT_CELL_H - h) // 2
        alpha.paste(glyph.crop((0, 0, min(w, abi.FONT_CELL_W), min(h, abi.FONT_CELL_H))),
                    (max(cx, 0), max(cy, 0)))
    rgba = np.zeros((ATLAS_HEIGHT, ATLAS_WIDTH, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = np.asarray(alpha)
    return rgba


def main(argv: list[str]) -> int:
    """Write the atlas PNG (default: beside this module)."""
    from PIL import Image

    out = Path(argv[0]) if argv else Path(__file__).with_name(ATLAS_FILE)
    Image.fromarray(generate(), "RGBA").save(out, optimize=True)
    print(f"wrote {out} ({ATLAS_WIDTH}x{ATLAS_HEIGHT})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
