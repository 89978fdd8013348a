"""layerw.h's guest helpers, compiled by the project's toolchain and run: text measure, transform
push/pop, the PCG32 random stream, and layerw.toml's screen size and tick rate as C constants."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.gfx.commands import parse
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

HELPERS = r'''
#include <stdio.h>
#include "layerw.h"
static lw_rng rng;
static int32_t rolls[3];
void lw_game_init(uint64_t seed) {
    lw_rng reference;
    lw_rng_seed(&reference, 42u, 54u);  /* pcg32-demo's seed and stream */
    char line[96];
    int n = 0;
    for (int i = 0; i < 6; i++) n += snprintf(line + n, sizeof line - (size_t)n, "%08x ", lw_rng_next(&reference));
    lw_log(1, line, n);
    lw_rng_seed(&rng, seed, 0);
}
void lw_game_tick(const lw_input *in) {
    (void)in;
    rolls[0] = lw_rng_range(&rng, -3, 3);
    rolls[1] = (int32_t)lw_rng_below(&rng, 10);
    rolls[2] = (int32_t)(lw_rng_float(&rng) * 1000.0f);
}
void lw_game_render(lw_frame *f) {
    lw_rect(f, (float)lw_screen_width(), (float)lw_screen_height(), (float)lw_tick_rate(), 0, 0, 0, 1);
    lw_rect(f, lw_text_width("ab\nabcd", 12), lw_text_height("ab\nabcd", 12), lw_text_width("", 12), 0, 0, 0, 2);
    lw_push_translate(f, 10, 20);
    lw_push_scale(f, 2, 3);
    lw_rect(f, 1, 1, 1, 1, 0, 0, 3);
    lw_pop_transform(f);
    lw_rect(f, 1, 1, 1, 1, 0, 0, 4);
    lw_pop_transform(f);
    lw_rect(f, 1, 1, 1, 1, 0, 0, 5);
    lw_pop_transform(f);  /* one pop too many: ignored */
    for (int i = 0; i < LW_TRANSFORM_DEPTH + 2; i++) lw_push_translate(f, 1, 0);
    lw_rect(f, 1, 1, 1, 1, 0, 0, 6);
    for (int i = 0; i < LW_TRANSFORM_DEPTH + 2; i++) lw_pop_transform(f);
    lw_rect(f, (float)rolls[0], (float)rolls[1], (float)rolls[2], 0, 0, 0, 7);
}
'''


@pytest.fixture(scope="module")
def helpers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("helpers")
    game = scaffold(tmp / "helpers")
    (game / "main.c").write_text(HELPERS)
    toml = game / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_rate = 60", "tick_rate = 50").replace("width = 320", "width = 256"))
    return build(game, tmp / "out").out


def rects(frame: memoryview) -> tuple[dict[int, tuple[float, ...]], dict[int, tuple[float, ...]]]:
    """Each rect's (x, y, w, h) and its transform, by colour (the tests' rect id)."""
    parsed = parse(frame)
    where, transforms = {}, {}
    for batch in parsed.batches:
        for inst in parsed.instances[batch.first:batch.first + batch.count]:
            where[int(inst["color"])] = (float(inst["x"]), float(inst["y"]), float(inst["w"]), float(inst["h"]))
            transforms[int(inst["color"])] = tuple(float(v) for v in parsed.transforms[batch.transform])
    return where, transforms


def test_header_helpers(helpers: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "layerw.game"), Game(Bundle.open(helpers), engine, seed=7) as game:
        game.tick(InputState())
        where, transforms = rects(game.render())
    # PCG32's published first outputs for seed 42, stream 54
    assert "a15c02b7 7b47f409 ba1d3330 83d2f293 bfa4784b cbed606e" in caplog.text
    assert where[1][:3] == (256.0, 180.0, 50.0)  # lw_screen_width/height, lw_tick_rate: layerw.toml's
    assert where[2][:3] == (32.0, 24.0, 0.0)  # 4 glyphs of 12 * 8 / 12 px; 2 lines of 12 px; nothing
    assert transforms[3] == (2.0, 0.0, 0.0, 3.0, 10.0, 20.0)  # the scale applies first, then the translate
    assert transforms[4] == (1.0, 0.0, 0.0, 1.0, 10.0, 20.0)
    assert transforms[5] == transforms[7] == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    assert transforms[6] == (1.0, 0.0, 0.0, 1.0, 16.0, 0.0)  # the 2 pushes past the depth were dropped
    x, y, w = where[7][:3]
    assert -3 <= x <= 3 and 0 <= y < 10 and 0 <= w < 1000 and float(x).is_integer()


def test_random_stream_follows_the_seed(helpers: Path, engine: Engine) -> None:
    def rolls(seed: int) -> list[tuple[float, ...]]:
        out = []
        with Game(Bundle.open(helpers), engine, seed=seed) as game:
            for _ in range(20):
                game.tick(InputState())
                out.append(rects(game.render())[0][7][:3])
        return out

    first, again, other = rolls(1), rolls(1), rolls(2)
    assert first == again and first != other
    assert len({r[0] for r in first}) > 2 and np.std([r[2] for r in first]) > 50  # it does vary
