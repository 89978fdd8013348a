"""Sound in a component build: `tick` returns the sound block, and the component's samples (and
their hash) equal the core module's, snapshots included."""

from __future__ import annotations

from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from tests.component.test_component_game import core_bundle
from tests.runtime.sound.game import SCORE, game_dir


def test_component_mixes_what_the_core_module_mixes(tmp_path: Path, engine: Engine) -> None:
    out = build(game_dir(tmp_path / "src"), tmp_path / "build", component=True).out
    with Game(core_bundle(out), engine, seed=SCORE) as game, ComponentGame(Bundle.open(out), engine, seed=SCORE) as component:
        state = InputState()
        for host in (game, component):
            for _ in range(60):
                host.tick(state)
        assert game.audio_hash() == component.audio_hash()
        assert game.take_samples() == component.take_samples()
        assert game.state_hash() == component.state_hash()
        snap = component.snapshot()
        for _ in range(20):
            component.tick(state)
        tail = component.take_samples()
        component.restore(snap)
        for _ in range(20):
            component.tick(state)
        assert component.take_samples() == tail and any(tail)
