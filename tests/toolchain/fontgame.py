"""A game that draws UTF-8 text in a font from its assets (the TrueType font Pillow embeds, Aileron,
CC0), shared by the native and the browser font tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import ImageFont

from layerw import abi
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

SIZE = 16
FONT = "fonts/ui.ttf"
NAME = f"fonts/ui-{SIZE}"
HELLO = "Hello, Layer-W!"
# Aileron maps ASCII, « » © … and the ﬁ ligature; not 'é' nor '中'; "\xff" is malformed UTF-8.
TEXT = "Caf\u00e9 \u00abﬁ\u00bb \u2026 \u4e2d\n\xff"
TEXT_C = r"Caf\xc3\xa9 \xc2\xab\xef\xac\x81\xc2\xbb \xe2\x80\xa6 \xe4\xb8\xad\n\xff"

FONT_GAME = r'''
#include <stdio.h>
#include "layerw.h"
static lw_font ui;
void lw_game_init(uint64_t seed) {
    (void)seed;
    int32_t loaded = lw_font_load(&ui, "''' + NAME + r'''");
    lw_font missing;
    int32_t absent = lw_font_load(&missing, "fonts/none-16");
    char line[160];
    int n = snprintf(line, sizeof line, "loaded=%d absent=%d width=%g two=%g height=%g line=%d",
                     (int)loaded, (int)absent, (double)lw_font_width(&ui, "''' + HELLO + r'''"),
                     (double)lw_font_width(&ui, "ab\nabcd"), (double)lw_font_height(&ui, "ab\nabcd"), (int)ui.line_height);
    lw_log(1, line, n);
}
void lw_game_tick(const lw_input *in) { (void)in; }
void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(0, 0, 0));
    lw_font_text(f, &ui, 4, 4, LW_RGB(255, 255, 255), "''' + HELLO + r'''");
    lw_font_text(f, &ui, 4, 30, LW_RGB(255, 255, 255), "''' + TEXT_C + r'''");
    lw_text(f, 4, 90, 12, LW_RGB(255, 255, 255), "built-in");
}
'''


def font_bytes() -> bytes:
    """The TrueType font Pillow embeds for its default FreeType font (Aileron Regular, CC0)."""
    return ImageFont.load_default(SIZE).font_bytes  # type: ignore[union-attr]


def build_font_game(tmp: Path, extra_toml: str = "") -> Path:
    """FONT_GAME with fonts/ui.ttf declared at SIZE; the build directory."""
    game = scaffold(tmp / "fonts")
    (game / "main.c").write_text(FONT_GAME)
    (game / "assets" / "fonts").mkdir(parents=True)
    (game / "assets" / FONT).write_bytes(font_bytes())
    toml = game / "layerw.toml"
    toml.write_text(toml.read_text().replace("preload = []", f'preload = []\nfonts = ["{FONT}:{SIZE}"]{extra_toml}'))
    return build(game, tmp / "out").out


def glyph_table(build_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The built NAME.font: its head and its glyph records."""
    data = (build_dir / "assets" / f"{NAME}{abi.FONT_TABLE_SUFFIX}").read_bytes()
    head = np.frombuffer(data[:abi.FONT_FILE.size], abi.FONT_FILE.dtype)[0]
    return head, np.frombuffer(data[abi.FONT_FILE.size:], abi.GLYPH.dtype)
