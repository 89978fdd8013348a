"""Fonts from assets: `layerw build` rasterises [assets] fonts deterministically into an atlas and a
metrics table; lw_font_load / lw_font_text / lw_font_width draw and measure UTF-8 with them; a code
point the font lacks draws the replacement glyph and a dev check reports it once; the native frame
shows the atlas's texels exactly (crisp), beside the built-in font, which is unchanged."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw import abi
from layerw.bundle import Bundle
from layerw.config import FontRef, GameConfig
from layerw.errors import ConfigError, FontError
from layerw.gfx.commands import parse
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.runner import Runner
from layerw.runtime.devchecks import Problem
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.fontatlas import REPLACEMENT, FontAtlas, cmap
from tests.toolchain.fontgame import FONT, HELLO, NAME, SIZE, build_font_game, font_bytes, glyph_table


@pytest.fixture(scope="module")
def font_game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_font_game(tmp_path_factory.mktemp("fontgame"))


def test_the_atlas_is_deterministic_and_holds_what_the_cmap_maps(tmp_path: Path) -> None:
    ttf = tmp_path / "ui.ttf"
    ttf.write_bytes(font_bytes())
    mapped = cmap(ttf.read_bytes(), str(ttf))
    assert {ord(c) for c in "AZaz09 «»…ﬁ"} <= mapped and not {0xE9, 0x4E2D} & mapped
    first, again = FontAtlas.rasterise(ttf, FontRef("ui.ttf", SIZE)), FontAtlas.rasterise(ttf, FontRef("ui.ttf", SIZE))
    assert first.table == again.table and np.array_equal(first.atlas, again.atlas)
    head = np.frombuffer(first.table[:abi.FONT_FILE.size], abi.FONT_FILE.dtype)[0]
    glyphs = np.frombuffer(first.table[abi.FONT_FILE.size:], abi.GLYPH.dtype)
    assert (head["magic"], head["version"], head["size"]) == (abi.FONT_MAGIC, abi.FONT_VERSION, SIZE)
    assert (head["atlas_height"], head["atlas_width"]) == first.atlas.shape[:2]
    assert list(glyphs["codepoint"]) == sorted(mapped | {REPLACEMENT})  # the font has no U+FFFD: a box is added
    assert glyphs[head["replacement"]]["codepoint"] == REPLACEMENT
    assert np.all(first.atlas[..., :3] == 255)  # white: a tint colours it
    a = glyphs[glyphs["codepoint"] == ord("A")][0]
    cell = first.atlas[a["sy"]:a["sy"] + a["sh"], a["sx"]:a["sx"] + a["sw"], 3]
    assert cell.max() == 255 and 6 <= a["sw"] <= SIZE and 8 <= a["sh"] <= SIZE and a["advance"] > 0
    space = glyphs[glyphs["codepoint"] == 32][0]
    assert space["sw"] == 0 and space["advance"] > 0  # draws nothing, moves the pen
    narrow = FontAtlas.rasterise(ttf, FontRef("ui.ttf", SIZE, ((0x41, 0x43),)))
    kept = np.frombuffer(narrow.table[abi.FONT_FILE.size:], abi.GLYPH.dtype)["codepoint"]
    assert list(kept) == [0x41, 0x42, 0x43, REPLACEMENT]
    big = FontAtlas.rasterise(ttf, FontRef("ui.ttf", 64))
    assert big.atlas.shape[0] > first.atlas.shape[0]  # rasterised at the size, not scaled


def test_font_entries_and_files_are_checked(tmp_path: Path) -> None:
    assert FontRef.parse("fonts/ui.ttf:16") == FontRef("fonts/ui.ttf", 16)
    assert FontRef.parse("ui.otf:8:20-7E, 2026").ranges == ((0x20, 0x7E), (0x2026, 0x2026))
    assert FontRef.parse("fonts/ui.ttf:16").name == "fonts/ui-16"
    for bad, why in [("ui.ttf", "malformed"), ("ui.ttf:big", "malformed"), ("ui.ttf:0", "within 1..256"),
                     ("ui.ttf:16:zz", "not hex code points"), ("ui.ttf:16:7E-20", "run upwards")]:
        with pytest.raises(ConfigError, match=why):
            GameConfig.from_dict({"game": {"name": "g"}, "assets": {"fonts": [bad]}})
    with pytest.raises(ConfigError, match=r'write \[assets\] fonts = \["ui.ttf:16"\]'):
        GameConfig.from_dict({"game": {"name": "g"}, "assets": {"fonts": "ui.ttf:16"}})
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"PK\x03\x04 not a font")
    with pytest.raises(FontError, match="is not a TrueType/OpenType font"):
        FontAtlas.rasterise(junk, FontRef("junk.ttf", 16))
    junk.write_bytes(font_bytes()[:40])
    with pytest.raises(FontError, match="truncated or corrupt"):
        FontAtlas.rasterise(junk, FontRef("junk.ttf", 16))
    ttf = tmp_path / "ui.ttf"
    ttf.write_bytes(font_bytes())
    with pytest.raises(FontError, match="maps no code point in the ranges"):
        FontAtlas.rasterise(ttf, FontRef("ui.ttf", 16, ((0x4E00, 0x4E2D),)))


def test_a_build_without_the_font_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[assets\] fonts names missing font files \['fonts/ui.ttf'\]"):
        from layerw.toolchain.build import build
        from layerw.toolchain.scaffold import scaffold

        game = scaffold(tmp_path / "nofont")
        toml = game / "layerw.toml"
        toml.write_text(toml.read_text().replace("preload = []", f'preload = []\nfonts = ["{FONT}:{SIZE}"]'))
        build(game, tmp_path / "out")


def test_the_build_ships_the_atlas_and_table_preloaded_not_the_font(font_game: Path) -> None:
    assets = font_game / "assets"
    assert not (assets / FONT).exists()  # a build input, not for players
    assert (assets / f"{NAME}.png").is_file() and (assets / f"{NAME}.font").is_file()
    config = Bundle.open(font_game).config
    assert {f"{NAME}.png", f"{NAME}.font"} <= set(config.preload)
    head, glyphs = glyph_table(font_game)
    with Image.open(assets / f"{NAME}.png") as im:
        assert im.size == (head["atlas_width"], head["atlas_height"])
    assert len(glyphs) == head["glyph_count"]


def sprites(frame: memoryview) -> np.ndarray:
    """The frame's SPRITES records, in order."""
    out, at = [], 0
    while at < len(frame):
        code, count, arg, _ = np.frombuffer(frame, np.uint32, 4, at)
        op = abi.OP_BY_CODE[int(code)]
        size = op.record.size + ((int(arg) + 3) & ~3) if op.name == "TEXT" else op.record.size * int(count)
        if op.name == "SPRITES":
            out.append(np.frombuffer(frame, abi.SPRITE.dtype, int(count), at + 16))
        at += 16 + size
    return np.concatenate(out)


def test_text_draws_and_measures_utf8_with_a_replacement_glyph(font_game: Path, engine: Engine,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    head, glyphs = glyph_table(font_game)
    by_code = {int(g["codepoint"]): g for g in glyphs}
    heard: list[Problem] = []
    with caplog.at_level(logging.INFO, "layerw.game"), Game(Bundle.open(font_game), engine) as game:
        game.enable_checks(heard.append)
        for _ in range(3):
            game.tick(InputState())
            recs = sprites(game.render()).copy()
        textures = {b.texture for b in parse(game.render()).batches if b.texture > 0}
        atlas = game.assets.get(textures.pop())
        assert not textures and atlas is not None and atlas.name == f"{NAME}.png"  # one batch texture: the atlas
    hello = sum(int(by_code[ord(c)]["advance"]) for c in HELLO)
    two = sum(int(by_code[ord(c)]["advance"]) for c in "abcd")
    logged = re.search(r"loaded=(-?\d+) absent=(-?\d+) width=(\S+) two=(\S+) height=(\S+) line=(\d+)", caplog.text)
    assert logged is not None
    assert logged.groups() == ("0", "-1", str(hello), str(two), str(2 * int(head["line_height"])),
                               str(int(head["line_height"])))
    assert np.all(recs["reserved"][:len(HELLO.replace(" ", ""))] == 0)
    first = by_code[ord("H")]
    assert (recs[0]["x"], recs[0]["y"]) == (4 + first["dx"], 4 + first["dy"])
    assert (recs[0]["sx"], recs[0]["sy"], recs[0]["sw"], recs[0]["sh"]) == tuple(first[k] for k in ("sx", "sy", "sw", "sh"))
    second = recs[1]
    assert second["x"] == 4 + first["advance"] + by_code[ord("e")]["dx"]
    replacement = glyphs[head["replacement"]]
    missing = recs[recs["reserved"] != 0]
    assert sorted(missing["reserved"].tolist()) == [0xE9, 0x4E2D, 0xFFFFFFFF]
    assert np.all(missing["sx"] == replacement["sx"]) and np.all(missing["sw"] == replacement["sw"])
    assert np.all(recs["tint"] == 0xFFFFFFFF)
    glyph_problems = [p for p in heard if p.kind == "missing-glyph"]
    assert len(glyph_problems) == len(heard) == 3 and all(p.tick == 1 for p in heard)  # once each, not per frame
    messages = " ".join(p.message for p in glyph_problems)
    assert "U+00E9 'é'" in messages and "U+4E2D '中'" in messages and "malformed UTF-8" in messages
    assert f"the font with atlas '{NAME}.png'" in messages

def test_the_native_frame_shows_the_atlas_texels_exactly(font_game: Path, engine: Engine) -> None:
    """Glyphs at whole pixels draw the atlas's coverage 1:1 (white on black: the red channel is the
    alpha), with no filtering; the built-in font still draws beside them."""
    config = Bundle.open(font_game).config
    with (Game(Bundle.open(font_game), engine) as game,
          WgpuRenderer(config.width, config.height, filter=config.filter) as renderer):
        runner = Runner(game, renderer)
        runner.run_headless(1)
        recs = sprites(game.render()).copy()
        runner.frame()
        frame = renderer.read_pixels()
    with Image.open(font_game / "assets" / f"{NAME}.png") as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3].astype(np.float64)
    expected = np.zeros((config.height, config.width))
    for r in recs:
        x, y, w, h, sx, sy = (int(r[k]) for k in ("x", "y", "w", "h", "sx", "sy"))
        a = alpha[sy:sy + h, sx:sx + w] / 255.0
        expected[y:y + h, x:x + w] = a * 255.0 + (1 - a) * expected[y:y + h, x:x + w]
    top = frame[:80, :, 0].astype(np.float64)  # the font text; the built-in text is below
    assert np.abs(top - expected[:80]).max() <= 1.0
    assert (top > 0).sum() > 200
    assert frame[90:102, 4:70, 0].max() == 255  # lw_text, the built-in font, drew too
