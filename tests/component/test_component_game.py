"""A component build of a game runs like its core build: same frames, same state hashes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from layerw import cli
from layerw.bundle import COMPONENT_NAME, MODULE_NAME, Bundle
from layerw.errors import InvalidModule, SnapshotError
from layerw.runtime import open_game
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState


def core_bundle(build_dir: Path) -> Bundle:
    """The core module of a --component build (what `layerw build` without the flag writes)."""
    bundle = Bundle.open(build_dir)
    bundle.config = dataclasses.replace(bundle.config, component=False)
    bundle.module = (build_dir / MODULE_NAME).read_bytes()
    return bundle


def test_build_writes_both_and_the_manifest_says_component(pong_both: Path) -> None:
    assert (pong_both / MODULE_NAME).is_file() and (pong_both / COMPONENT_NAME).is_file()
    bundle = Bundle.open(pong_both)
    assert bundle.config.component and bundle.module == (pong_both / COMPONENT_NAME).read_bytes()


def test_same_frames_and_state_hashes_as_the_core_build(pong_both: Path, engine: Engine) -> None:
    inputs = InputState(2)
    with Game(core_bundle(pong_both), engine, seed=7) as core, \
            ComponentGame(Bundle.open(pong_both), engine, seed=7) as comp:
        assert comp.state_hash() == core.state_hash()
        for tick in range(240):
            inputs.key(0, "KeyW", tick % 50 < 20)
            inputs.key(1, "ArrowDown", tick % 70 < 30)
            core.tick(inputs)
            comp.tick(inputs)
            if tick % 10 == 0:
                assert bytes(comp.render()) == bytes(core.render()), f"frame differs at tick {tick}"
                assert comp.state_hash() == core.state_hash(), f"state differs at tick {tick}"
        assert comp.state_hash() == core.state_hash()
        assert comp.snapshot().memory == core.snapshot().memory


def test_snapshot_restore_continues_exactly(pong_both: Path, engine: Engine) -> None:
    with ComponentGame(Bundle.open(pong_both), engine) as game:
        for _ in range(30):
            game.tick(InputState())
        snap = game.snapshot()
        for _ in range(30):
            game.tick(InputState())
        expected = game.state_hash()
        game.restore(snap)
        assert game.tick_count == 30
        for _ in range(30):
            game.tick(InputState())
        assert game.state_hash() == expected
        with pytest.raises(SnapshotError):
            game.restore(dataclasses.replace(snap, module_sha256="0" * 64))


def test_open_game_and_the_cli_pick_the_component(pong_both: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with open_game(Bundle.open(pong_both)) as game:
        assert isinstance(game, ComponentGame)
    assert cli.main(["run", str(pong_both), "--headless", "--ticks", "300"]) == 0
    component_hash = capsys.readouterr().out.splitlines()[-1]
    core_dir = tmp_path / "core"
    core_dir.mkdir()
    (core_dir / MODULE_NAME).write_bytes((pong_both / MODULE_NAME).read_bytes())
    (core_dir / "layerw.toml").write_text((pong_both / "layerw.toml").read_text().replace("enabled = true", "enabled = false"))
    (core_dir / "assets").symlink_to(pong_both / "assets")
    assert cli.main(["run", str(core_dir), "--headless", "--ticks", "300"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == component_hash
    assert component_hash.startswith("state-hash ")


def test_a_core_module_is_not_a_component(pong_both: Path, engine: Engine) -> None:
    with pytest.raises(InvalidModule, match="not a wasm component"):
        engine.compile_component((pong_both / MODULE_NAME).read_bytes())


def test_a_component_game_nobody_closed_is_freed(pong_both: Path, engine: Engine) -> None:
    """Its host functions sit in wasmtime-py's process-wide table until its store goes; they reach
    the game weakly, so dropping the game frees it (and its store and memory)."""
    import gc
    import weakref

    refs = []
    for _ in range(3):
        game = ComponentGame(Bundle.open(pong_both), engine)
        game.tick(InputState())
        game.render()
        refs.append(weakref.ref(game))
        del game
    gc.collect()
    assert all(r() is None for r in refs)
