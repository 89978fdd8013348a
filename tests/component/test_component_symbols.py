"""Natively, a component build's trap and timeout name each guest frame's function and file:line, as a
core build's do (tests/runtime/test_symbols.py): the build's game.component.symbols.json describes the
game's core module as the component holds it (the build retargets the table to those bytes), which
CanonGame runs; from a build directory and from a store alike. On wasmtime's component runtime
(ComponentGame: a game that links plugins), the frames of the error's backtrace text that lie in that
module are named so too."""

from __future__ import annotations

import json
import logging
from hashlib import sha256
from pathlib import Path

import pytest

from layerw.bundle import COMPONENT_NAME, COMPONENT_SYMBOLS_NAME, GAME_CORE, TRANSPILED_DIR, Bundle
from layerw.errors import GameCrashed, GameError, GameTimedOut
from layerw.runtime.canon_game import CanonGame
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.componentcore import core_modules
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.store.bundle import StoreBundle
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.runtime.test_symbols import SPIN, TRAP, line_of
from tests.toolchain.test_component_twin import crash_component

__all__ = ["crash_component"]  # the fixture


def fail(bundle: Bundle, engine: Engine, seed: int) -> GameError:
    with start_game(bundle, engine, seed=seed, audio=False) as game, pytest.raises(GameError) as info:
        assert isinstance(game, CanonGame)
        for _ in range(10):
            game.tick(InputState(1))
    return info.value


def test_the_table_describes_the_core_module_the_component_holds(crash_component: Path) -> None:
    table = json.loads((crash_component / COMPONENT_SYMBOLS_NAME).read_text())
    held = core_modules((crash_component / COMPONENT_NAME).read_bytes())
    game_core = (crash_component / TRANSPILED_DIR / GAME_CORE).read_bytes()
    assert game_core in held  # jco's first core module is the component's own, byte for byte
    assert table["module_sha256"] == sha256(game_core).hexdigest()


def test_a_component_s_trap_and_timeout_name_source_lines(crash_component: Path, engine: Engine,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        crashed = fail(Bundle.open(crash_component), engine, TRAP)
        timed_out = fail(Bundle.open(crash_component), engine, SPIN)
    assert isinstance(crashed, GameCrashed) and crashed.trap_code == "unreachable"
    assert (crashed.frames[0]["function"], crashed.frames[0]["file"], crashed.frames[0]["line"]) == (
        "give_up", "crash.c", line_of("trap"))
    assert isinstance(timed_out, GameTimedOut)
    assert [(f["function"], f["file"]) for f in timed_out.frames][:2] == [("spin", "crash.c"), ("lw_game_tick", "crash.c")]
    assert f"at spin (crash.c:{line_of('spin')})" in str(timed_out), str(timed_out)
    assert "symbols" not in caplog.text  # the table fits: no warning


def test_a_published_component_names_source_lines_too(crash_component: Path, engine: Engine, tmp_path: Path) -> None:
    with LocalStore(tmp_path / "store") as store:
        publish(crash_component, store)
        with StoreBundle(tmp_path.as_uri(), "crash", store=store, cache_dir=tmp_path / "chunks") as bundle:
            error = fail(bundle, engine, SPIN)
    assert (error.frames[0]["function"], error.frames[0]["line"]) == ("spin", line_of("spin")), error.frames


def test_wasmtime_s_component_runtime_names_them_too(crash_component: Path, engine: Engine) -> None:
    errors = []
    for seed in (TRAP, SPIN):  # the crash component on the backend a game that links plugins runs on
        with ComponentGame(Bundle.open(crash_component), engine, seed=seed, audio=False) as game, \
                pytest.raises(GameError) as info:
            for _ in range(10):
                game.tick(InputState(1))
        errors.append(info.value)
    crashed, timed_out = errors
    assert isinstance(crashed, GameCrashed) and (crashed.frames[0]["function"], crashed.frames[0]["line"]) == (
        "give_up", line_of("trap")), crashed.frames
    assert isinstance(timed_out, GameTimedOut)
    assert [(f["function"], f["file"]) for f in timed_out.frames][:2] == [("spin", "crash.c"), ("lw_game_tick", "crash.c")]
    with start_game(Bundle.open(crash_component), engine, seed=SPIN, audio=False) as game, pytest.raises(GameError) as canon:
        for _ in range(10):
            game.tick(InputState(1))
    assert timed_out.frames == canon.value.frames  # the same frames, at the same offsets, as CanonGame's
