"""SyncTest: every sample game survives rollback; a game keeping state outside its snapshot is caught."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import InputError, NotDeterministic
from layerw.play.runner import Runner
from layerw.play.synctest import SyncTest
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState, Recording
from tests import wat
from tests.conftest import GAMES

# each sample game with keys that drive it (pong's second player too): pressed and released in turn
KEYS = {"pong": ["KeyW", "ArrowDown"], "asteroids": ["Space", "ArrowLeft", "ArrowUp"], "sprites": ["Equal", "Minus"]}
TICKS = 240
DEPTH = 8


def pressing(keys: list[str], players: int = 1) -> Recording:
    """Keys pressed for 15 ticks, one after another, by every player: inputs that change often."""
    rec = Recording()
    for n, t in enumerate(range(5, TICKS, 20)):
        for player in range(players):
            key = keys[(n + player) % len(keys)]
            rec.changes[t].append({"tick": t, "player": player, "down": [key]})
            rec.changes[t + 15].append({"tick": t + 15, "player": player, "up": [key]})
    return rec


def run(bundle: Bundle, engine: Engine, synctest: int, players: int = 1) -> tuple[str, str, int, int]:
    """(state hash, audio hash, samples heard, ticks resimulated) after TICKS ticks."""
    heard: list[bytes] = []
    with Game(bundle, engine, seed=3) as game:
        runner = Runner(game, players=players, recording=pressing(KEYS[bundle.config.name], players),
                        on_samples=heard.append, synctest=synctest)
        runner.run_headless(TICKS)
        runner.drain()
        resimulated = runner.synctest.resimulated if runner.synctest is not None else 0
        return game.state_hash(), runner.audio_hash(), len(b"".join(heard)), resimulated


@pytest.mark.parametrize("name", sorted(KEYS))
def test_every_sample_game_passes_synctest(name: str, built: Callable[[Path], Path], engine: Engine) -> None:
    bundle = Bundle.open(built(GAMES / name))
    players = 2 if name == "pong" else 1
    plain = run(bundle, engine, 0, players)
    checked = run(bundle, engine, DEPTH, players)
    assert checked[0] == plain[0]  # the same game, rolled back after every tick
    assert checked[1] == plain[1] and checked[2] == plain[2] > 0  # resimulated ticks were never heard
    assert checked[3] == (TICKS - DEPTH + 1) * DEPTH


# A counter kept below state_begin (where snapshots do not look), copied into the state each tick.
HIDDEN_COUNTER = """
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (i32.store (i32.const 4096) (i32.load (i32.const 16)))"""


def test_state_outside_the_snapshot_is_caught_at_the_first_tick_it_shows(tmp_path: Path, engine: Engine) -> None:
    bundle = wat.bundle(tmp_path, wat.contract_wat(tick=HIDDEN_COUNTER), name="hidden")
    with Game(bundle, engine) as game:
        test = SyncTest(game, 3)
        inputs = InputState()
        with pytest.raises(NotDeterministic, match="not deterministic under rollback") as caught:
            for _ in range(20):
                test.tick(inputs)
    # ticks 0-2 rolled back to the start agree (the counter starts at 0 either way); the next does not
    assert (caught.value.game, caught.value.tick, caught.value.rollback) == ("hidden", 4, 3)


def test_the_same_module_without_hidden_state_passes(tmp_path: Path, engine: Engine) -> None:
    visible = HIDDEN_COUNTER.replace("i32.const 16", "i32.const 4100")
    with Game(wat.bundle(tmp_path, wat.contract_wat(tick=visible), name="visible"), engine) as game:
        test = SyncTest(game, 3)
        for _ in range(20):
            test.tick(InputState())
        assert test.resimulated == 18 * 3


def test_a_rollback_depth_out_of_range_is_refused(tmp_path: Path, engine: Engine) -> None:
    with Game(wat.bundle(tmp_path, wat.contract_wat()), engine) as game:
        for depth in (0, 65):
            with pytest.raises(InputError, match="rolls back"):
                SyncTest(game, depth)


def test_cli_synctest_passes_pong_and_fails_the_hidden_counter(built: Callable[[Path], Path], tmp_path: Path) -> None:
    def layerw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "layerw.cli", "run", *args, "--headless"], capture_output=True,
                              text=True, timeout=300)

    ok = layerw(str(built(GAMES / "pong")), "--ticks", "60", "--synctest", "8")
    assert ok.returncode == 0, ok.stderr
    assert "synctest 8: 424 ticks resimulated" in ok.stdout
    wat.bundle(tmp_path / "hidden", wat.contract_wat(tick=HIDDEN_COUNTER), name="hidden")
    bad = layerw(str(tmp_path / "hidden"), "--ticks", "60", "--synctest", "2")
    assert bad.returncode == 1
    assert "NotDeterministic" in bad.stderr and "tick 3 " in bad.stderr
