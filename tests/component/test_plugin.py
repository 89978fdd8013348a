"""Plugins: linked at load time from layerw.toml, swapped without rebuilding the game, given no
capability the manifest did not grant, and failing as the game's typed error naming them."""

from __future__ import annotations

import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import COMPONENT_NAME, Bundle
from layerw.errors import CapabilityDenied, ConfigError, GameError, PluginCrashed
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState
from tests.component.conftest import write_plugin
from tests.conftest import GAMES
from tests.roomy import ROOMY_TICK_MS

PLUGINS = GAMES / "orbs" / "plugins"


# These tests are about what a plugin does, not about the game's deadline: a roomy one (ROOMY_TICK_MS), so
# that a tick on a loaded machine (a first call through a fresh plugin, say) does not time out at orbs' 100 ms.


def with_plugin(orbs: Path, tmp: Path, plugin: Path, capabilities: str = "") -> Path:
    """A copy of the orbs build whose layerw.toml links ``plugin`` (the game is not rebuilt), with a roomy deadline."""
    build = tmp / f"orbs-{plugin.stem}"
    shutil.copytree(orbs, build)
    (build / "plugins").mkdir(exist_ok=True)
    shutil.copy(plugin, build / "plugins" / plugin.name)
    toml = (build / "layerw.toml").read_text()
    assert "\ntick_ms = 100\n" in toml
    toml = toml.replace("\ntick_ms = 100\n", f"\ntick_ms = {ROOMY_TICK_MS}\n")
    toml = toml.replace('path = "plugins/bounce.wasm"', f'path = "plugins/{plugin.name}"')
    head, plugin_table, tail = toml.rpartition("[plugins.physics]")
    toml = head + plugin_table + tail.replace("capabilities = []", f"capabilities = [{capabilities}]")
    (build / "layerw.toml").write_text(toml)
    return build


def circle_ys(commands: bytes) -> list[float]:
    """The y of every circle in a command list."""
    at, ys = 0, []
    while at < len(commands):
        op, count, arg, _ = struct.unpack_from("<4I", commands, at)
        record = abi.OP_BY_CODE[op].record
        at += abi.HEADER.size
        if op == abi.OPS[5].code:
            ys += [float(r["y"]) for r in np.frombuffer(commands, record.dtype, count, at)]
        at += arg + (-arg % 4) if record is abi.TEXT else 0
        at += record.size * count
    return ys


def run(build: Path, engine: Engine, ticks: int = 60) -> tuple[str, bytes]:
    with ComponentGame(Bundle.open(build), engine) as game:
        for _ in range(ticks):
            game.tick(InputState())
        return game.state_hash(), bytes(game.render())


def test_swapping_the_plugin_changes_behaviour_without_rebuilding(
        orbs: Path, plugins: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    bounce = with_plugin(orbs, tmp_path, plugins(PLUGINS / "bounce"))
    gravity = with_plugin(orbs, tmp_path, plugins(PLUGINS / "gravity"))
    assert (bounce / COMPONENT_NAME).read_bytes() == (gravity / COMPONENT_NAME).read_bytes()
    h_bounce, frame_bounce = run(bounce, engine)
    h_gravity, frame_gravity = run(gravity, engine)
    assert h_bounce != h_gravity and frame_bounce != frame_gravity
    assert run(bounce, engine)[0] == h_bounce  # deterministic with either plugin


def test_python_plugin_runs_and_warm_start_is_fast(
        orbs: Path, plugins: Callable[[Path], Path], tmp_path: Path) -> None:
    gravity = with_plugin(orbs, tmp_path, plugins(PLUGINS / "gravity"))
    with Engine(CpuLimit.EPOCH, cache=tmp_path / "cache") as engine:
        # CPU time (every thread's: the compile's too) is the work each start did, which a loaded machine does not change
        t0 = time.process_time()
        with ComponentGame(Bundle.open(gravity), engine) as game:
            cold = time.process_time() - t0
            for _ in range(90):
                game.tick(InputState())
            ys = circle_ys(bytes(game.render()))
        t0 = time.process_time()
        with ComponentGame(Bundle.open(gravity), engine):
            warm = time.process_time() - t0
    assert len(ys) == 24 and sum(ys) / len(ys) > 170, ys  # spread over 0..240 at first; now near the floor
    assert warm < cold / 3, (warm, cold)


def test_plugin_asking_for_files_is_denied(
        orbs: Path, plugins: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    source = r'''
#include <stdio.h>
#include "layerw_physics.h"
void lw_plugin_step(lw_body *b, uint32_t n, float w, float h, float dt) {
    FILE *f = fopen("/etc/passwd", "r");
    if (f) { b[0].x = (float)fgetc(f); fclose(f); }
    (void)n; (void)w; (void)h; (void)dt;
}
'''
    plugin = plugins(write_plugin(tmp_path / "src", "snoop", source))
    for granted in ("", '"wasi"'):
        with pytest.raises(CapabilityDenied, match="plugin 'physics' of orbs") as info:
            ComponentGame(Bundle.open(with_plugin(orbs, tmp_path / f"g{len(granted)}", plugin, granted)), engine)
        assert "files" in info.value.missing and info.value.component == "physics"


def test_only_wasi_may_be_granted(orbs: Path, tmp_path: Path) -> None:
    build = tmp_path / "orbs"
    shutil.copytree(orbs, build)
    toml = (build / "layerw.toml").read_text().replace("capabilities = []", 'capabilities = ["files"]')
    (build / "layerw.toml").write_text(toml)
    with pytest.raises(ConfigError, match="unknown capabilities"):
        Bundle.open(build)


def test_trapping_plugin_is_the_games_typed_error_naming_it(
        orbs: Path, plugins: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    source = r'''
#include "layerw_physics.h"
static int calls;
void lw_plugin_step(lw_body *b, uint32_t n, float w, float h, float dt) {
    if (++calls == 5) __builtin_trap();
    (void)b; (void)n; (void)w; (void)h; (void)dt;
}
'''
    build = with_plugin(orbs, tmp_path, plugins(write_plugin(tmp_path / "src", "crash", source)))
    with ComponentGame(Bundle.open(build), engine) as game:
        for _ in range(4):
            game.tick(InputState())
        with pytest.raises(PluginCrashed) as info:
            game.tick(InputState())
        err = info.value
        assert (err.plugin, err.game, err.tick, err.trap_code) == ("physics", "orbs", 4, "unreachable")
        assert "plugin 'physics' of orbs trapped" in str(err)
        with pytest.raises(GameError, match="already failed"):
            game.tick(InputState())


def test_missing_plugin_file_says_how_to_fix(orbs: Path, engine: Engine, tmp_path: Path) -> None:
    build = tmp_path / "orbs"
    shutil.copytree(orbs, build)
    with pytest.raises(ConfigError, match=r"\[plugins.physics\] path"):
        ComponentGame(Bundle.open(build), engine)
