"""Dev checks: a game that makes each silent mistake once gets each reported once, with its tick,
to the log (with a ``check`` field) and the report; a release run of the same game reports nothing."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw.bundle import Bundle
from layerw.runtime import Tier, open_game
from layerw.runtime.devchecks import GUARD_BYTES, Problem
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

SLOPPY = r'''
#include <stdint.h>
#include <stdlib.h>
#include "layerw.h"
static int32_t tex;
static int32_t renders;  /* a global render writes: the state depends on how often frames are drawn */
static uint32_t now;
void lw_game_init(uint64_t seed) { (void)seed; tex = lw_asset("sprite.png"); }
void lw_game_tick(const lw_input *in) {
    now = in->tick;
    if (in->tick == 2) lw_asset("sprit.png");                      /* a misspelt asset name */
    if (in->tick == 3) { char b[4]; lw_asset_read(99, 0, b, 4); }  /* a handle nobody gave out */
    if (in->tick == 5) { volatile int32_t *p = (int32_t *)(uintptr_t)(in->tick - 5 + 8); *p = 7; }  /* NULL-ish */
}
void lw_game_render(lw_frame *f) {
    if (now >= 6) renders++;
    lw_sprite(f, (uint32_t)tex, 0, 0, 8, 8, 0, 0, 8, 8, 0, 0xFFFFFFFFu, 0);  /* fine */
    if (now >= 7) lw_sprite(f, 77, 0, 0, 8, 8, 0, 0, 8, 8, 0, 0xFFFFFFFFu, 0);  /* no such texture */
    if (now >= 8) lw_sprite(f, (uint32_t)tex, 0, 0, 8, 8, 4, 4, 8, 8, 0, 0xFFFFFFFFu, 0);  /* past its 8x8 */
}
'''


def build_sloppy(tmp: Path) -> Path:
    """SLOPPY built with its 8x8 white sprite (preloaded); the build directory."""
    game = scaffold(tmp / "sloppy")
    (game / "main.c").write_text(SLOPPY)
    (game / "assets").mkdir(exist_ok=True)
    png = io.BytesIO()
    Image.fromarray(np.full((8, 8, 4), 255, np.uint8)).save(png, "PNG")
    (game / "assets" / "sprite.png").write_bytes(png.getvalue())
    toml = game / "layerw.toml"
    toml.write_text(toml.read_text().replace("preload = []", 'preload = ["sprite.png"]'))
    return build(game, tmp / "out").out


@pytest.fixture(scope="module")
def sloppy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sloppy(tmp_path_factory.mktemp("devchecks"))


def run(game: GameHost, ticks: int) -> None:
    for _ in range(ticks):
        game.tick(InputState())
        game.render()


def test_each_problem_is_reported_once_with_its_tick(sloppy: Path, engine: Engine,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    heard: list[Problem] = []
    with Game(Bundle.open(sloppy), engine) as game, caplog.at_level(logging.WARNING, "layerw.game"):
        checks = game.enable_checks(heard.append)
        run(game, 12)
    assert heard == checks.problems
    kinds = {p.kind: p for p in heard}
    assert [p.kind for p in heard] == ["missing-asset", "host-call", "guard-write", "render-state",
                                       "unknown-texture", "source-rect"]
    assert kinds["missing-asset"].tick == 2 and "no asset named 'sprit.png'" in kinds["missing-asset"].message
    assert "did you mean 'sprite.png'" in kinds["missing-asset"].message
    assert kinds["host-call"].tick == 3
    assert "asset_read refused: handle 99 is not an asset handle" in kinds["host-call"].message
    assert kinds["guard-write"].tick == 6  # reported after lw_tick of tick 5, counted then
    assert "first at address 8" in kinds["guard-write"].message
    assert f"[0, {GUARD_BYTES})" in kinds["guard-write"].message
    assert kinds["render-state"].tick == 7
    assert "lw_render changed the game state (1 byte changed at address" in kinds["render-state"].message
    assert kinds["unknown-texture"].tick == 8 and "texture 77: no asset has this handle" in kinds["unknown-texture"].message
    assert kinds["source-rect"].tick == 9 and "source rect (4, 4, 8, 8)" in kinds["source-rect"].message
    assert "'sprite.png', 8x8" in kinds["source-rect"].message
    records = [r for r in caplog.records if getattr(r, "check", None)]
    assert [r.check for r in records] == [p.kind for p in heard]  # type: ignore[attr-defined]
    assert [r.tick for r in records] == [p.tick for p in heard]  # type: ignore[attr-defined]
    assert all(r.game == game.name for r in records)  # type: ignore[attr-defined]


def test_the_aot_tier_reports_the_same_problems(sloppy: Path, engine: Engine) -> None:
    """The AOT tier's host functions tell the checks why they refuse a call, as wasmtime's do."""
    heard: dict[str, list[Problem]] = {}
    for tier in (Tier.WASMTIME, Tier.AOT):
        with open_game(Bundle.open(sloppy), tier=tier) as game:
            assert isinstance(game, MemoryHost)
            heard[tier.value] = game.enable_checks().problems
            run(game, 12)
    assert [(p.kind, p.tick, p.message) for p in heard["aot"]] == [(p.kind, p.tick, p.message) for p in heard["wasmtime"]]
    assert [p.kind for p in heard["aot"]] == ["missing-asset", "host-call", "guard-write", "render-state",
                                              "unknown-texture", "source-rect"]


def test_checks_change_nothing_and_release_runs_hear_nothing(sloppy: Path, engine: Engine,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    hashes = []
    for dev in (False, True):
        with Game(Bundle.open(sloppy), engine) as game, caplog.at_level(logging.WARNING, "layerw.game"):
            if dev:
                game.enable_checks()
            run(game, 12)
            hashes.append(game.state_hash())
        if not dev:
            assert not [r for r in caplog.records if getattr(r, "check", None)]
    assert hashes[0] == hashes[1]


def test_checks_survive_a_restore(sloppy: Path, engine: Engine) -> None:
    heard: list[Problem] = []
    with Game(Bundle.open(sloppy), engine) as game:
        game.enable_checks(heard.append)
        run(game, 1)
        snap = game.snapshot()
        run(game, 1)
        game.restore(snap)
        run(game, 2)  # the misspelt name again, through the restored instance's host functions
    assert [p.kind for p in heard] == ["missing-asset"]


def test_layerw_run_dev_reports_in_the_terminal(sloppy: Path) -> None:
    import subprocess
    import sys

    def run_cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "layerw.cli", "run", str(sloppy), "--headless", "--ticks", "20",
                               *extra], capture_output=True, text=True, timeout=120, check=True)

    dev, release = run_cli("--dev"), run_cli()
    for kind, tick in (("missing-asset", 2), ("host-call", 3), ("guard-write", 6), ("render-state", 7),
                       ("unknown-texture", 8), ("source-rect", 9)):
        assert dev.stderr.count(f"dev check {kind} at tick {tick}:") == 1, dev.stderr
    assert "dev check" not in release.stderr
    # a headless dev run renders every tick (a release run never does), so this game's renders++ shows
    assert dev.stdout.splitlines()[-1] != release.stdout.splitlines()[-1]
    watchdog = subprocess.run([sys.executable, "-m", "layerw.cli", "run", str(sloppy), "--headless", "--dev",
                               "--cpu-limit", "watchdog"], capture_output=True, text=True, timeout=120)
    assert watchdog.returncode == 1 and "UnsupportedCpuLimit" in watchdog.stderr
