"""WorkerGame: the watchdog bound — same results as in-process, deadlines without guest checks."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameError, GameTimedOut
from layerw.runtime.cpuclock import ThreadCpu
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame
from tests.conftest import GAMES
from tests.wat import bundle, contract_wat

COUNT = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"


def test_worker_matches_in_process_and_draws_the_same(built: Callable[[Path], Path], engine: Engine,
                                                      tmp_path: Path) -> None:
    out = built(GAMES / "pong")
    state = InputState()
    state.key(0, "KeyW", True)
    with Game(Bundle.open(out), engine, seed=4) as local, WorkerGame(Bundle.open(out), seed=4, cache=tmp_path) as remote:
        assert [h for h, _ in remote.take_new_textures()] == [h for h, _ in local.take_new_textures()]
        for _ in range(90):
            local.tick(state)
            remote.tick(state)
        assert remote.state_hash() == local.state_hash()
        assert bytes(remote.render()) == bytes(local.render())
        snap = remote.snapshot()
        local_snap = local.snapshot()
        assert snap.memory == local_snap.memory and snap.tick == local_snap.tick == 90


def test_infinite_loop_is_killed_and_the_game_restores(tmp_path: Path) -> None:
    tick = COUNT + "(if (i32.eq (i32.load (i32.const 2048)) (i32.const 5)) (then (loop (br 0))))"
    out = tmp_path / "loop"
    with WorkerGame(bundle(out, contract_wat(tick=tick), tick_ms=200), cache=tmp_path / "cache") as game:
        state = InputState()
        for _ in range(3):
            game.tick(state)
        snap = game.snapshot()
        for _ in range(3):
            game.tick(state)  # pipelined: tick 5 hangs, and the next call that waits finds out
        with pytest.raises(GameTimedOut) as err:
            game.state_hash()
        assert err.value.tick == 5 and err.value.game == "hostile" and game.tick_count == 5
        with pytest.raises(GameError, match="already failed"):
            game.tick(state)
        game.restore(snap)
        assert game.tick_count == 3
        game.tick(state)
        assert game.tick_count == 4


@pytest.mark.skipif(ThreadCpu.open(os.getpid()) is None, reason="no per-thread CPU clock on this system")
def test_a_worker_the_machine_keeps_waiting_is_not_timed_out(tmp_path: Path, engine: Engine) -> None:
    """The deadline is the worker's CPU time: a worker stopped (SIGSTOP, as a starved process on a
    loaded machine) for six times its 50 ms deadline mid-tick still answers, while a runaway one is
    stopped (test_infinite_loop_is_killed_and_the_game_restores)."""
    counting = bundle(tmp_path / "count", contract_wat(tick=COUNT), tick_ms=50)
    with WorkerGame(counting, cache=tmp_path / "cache") as game, Game(counting, engine) as local:
        game.tick(InputState())
        game.wait()
        pid = game._proc.pid if game._proc is not None else None
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        resume = threading.Timer(0.3, os.kill, (pid, signal.SIGCONT))
        resume.start()
        try:
            game.tick(InputState())
            game.wait()  # waits through the stop: the worker used no CPU during it
        finally:
            resume.join()
        local.tick(InputState())
        local.tick(InputState())
        assert game.tick_count == 2 and game.state_hash() == local.state_hash()


def test_trap_in_the_worker_is_game_crashed(tmp_path: Path) -> None:
    out = tmp_path / "trap"
    with WorkerGame(bundle(out, contract_wat(tick="unreachable")), cache=tmp_path / "cache") as game:
        game.tick(InputState())
        with pytest.raises(GameCrashed) as err:
            game.render()
        assert err.value.trap_code == "unreachable" and err.value.tick == 0
