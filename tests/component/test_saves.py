"""Saves from C through layerw.h's helpers, in a core build and a component build: both reach the
same slots with the same codes (the component's save_read goes through lw_component.c's glue) and
end in the same state hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.saves import Saves, Slot
from layerw.toolchain.build import build
from tests.component.test_component_game import core_bundle

SAVER = r"""
#include "layerw.h"

static int32_t found, version, size, wrote, missing, bad, short_read;
static char got[32], part[4];
static uint32_t ticks;

void lw_game_init(uint64_t seed) { (void)seed; }

void lw_game_tick(const lw_input *in) {
    (void)in;
    if (ticks++ == 0) {
        size = lw_saved_size("best");
        version = lw_saved_version("best");
        found = lw_load("best", got, sizeof got);
        short_read = lw_load("best", part, sizeof part);
        missing = lw_load("nothing-here", got + 20, 4);
        bad = lw_save("../escape", "x", 1, 1);
        wrote = lw_save("best", found > 0 ? "second run" : "first run", found > 0 ? 10 : 9, found > 0 ? 2 : 1);
    }
}

void lw_game_render(lw_frame *f) { lw_clear(f, 0xff000000u); }
"""


@pytest.fixture(scope="module")
def saver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("saver-src")
    (src / "layerw.toml").write_text('[game]\nname = "saver"\n')
    (src / "saver.c").write_text(SAVER)
    return build(src, tmp_path_factory.mktemp("saver") / "saver", component=True).out


def _run(game: MemoryHost) -> str:
    for _ in range(2):
        game.tick(InputState())
    return game.state_hash()


def test_core_and_component_builds_save_alike(saver: Path, engine: Engine, tmp_path: Path) -> None:
    component = Bundle.open(saver)
    assert component.config.component
    hashes: dict[str, list[str]] = {}
    for kind, bundle, backend in (("core", core_bundle(saver), Game), ("component", component, ComponentGame)):
        saves = Saves(tmp_path / kind)
        runs = []
        for n in range(2):
            with backend(bundle, engine, saves=saves) as game:
                runs.append(_run(game))
            assert saves.read("best") == (Slot(1, b"first run") if n == 0 else Slot(2, b"second run"))
        assert saves.names() == ["best"]
        hashes[kind] = runs
    assert hashes["core"] == hashes["component"] and hashes["core"][0] != hashes["core"][1]
