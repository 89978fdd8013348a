"""SyncTest on orbs, the sample component game, with its C physics plugin linked at load time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerw.bundle import Bundle
from layerw.play.runner import Runner
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from tests.component.test_plugin import PLUGINS, with_plugin


def test_orbs_with_its_plugin_passes_synctest(orbs: Path, plugins: Callable[[Path], Path], engine: Engine,
                                             tmp_path: Path) -> None:
    bundle = Bundle.open(with_plugin(orbs, tmp_path, plugins(PLUGINS / "bounce")))
    hashes = []  # few ticks: each rollback restores a fresh component instance and its plugin
    for synctest in (0, 4):
        with ComponentGame(bundle, engine) as game:
            runner = Runner(game, synctest=synctest)
            runner.run_headless(48)
            hashes.append(game.state_hash())
            if runner.synctest is not None:
                assert runner.synctest.resimulated == (48 - 4 + 1) * 4
    assert hashes[0] == hashes[1]
