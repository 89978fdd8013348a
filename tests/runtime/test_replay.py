"""Replay: a watchdog worker's timeout names the guest frames where the time went, found by replaying
the call in this process (tests/runtime/crash/crash.c spins at a known line), or says that the call
finished when replayed (a starved worker: the machine, not the game)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameTimedOut
from layerw.runtime import replay
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame
from tests.runtime.test_symbols import CRASH, SPIN, line_of

HEAVY = 4  # crash.c's slow but finite tick


@pytest.fixture(scope="module")
def crash(built: Callable[[Path], Path]) -> Path:
    return built(CRASH)


def test_a_worker_timeout_names_the_loop_it_spun_in(crash: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with WorkerGame(Bundle.open(crash), seed=SPIN, cache=tmp_path) as game:
        for _ in range(2):
            game.tick(InputState())
        snap = game.snapshot()  # the replay starts here, not from the seed
        for _ in range(2):
            game.tick(InputState())  # tick 3 spins
        for attempt in range(2):  # and again after a restore, from the restored snapshot
            with pytest.raises(GameTimedOut) as info:
                game.wait()
            error = info.value
            assert error.tick == 3 and game.tick_count == 3
            top = error.frames[0]
            assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin")), error.frames
            assert "lw_game_tick" in [f["function"] for f in error.frames]
            assert f"at spin (crash.c:{line_of('spin')})" in str(error) and "replayed in this process from tick 2" in str(error)
            logged = [r.getMessage() for r in caplog.records if r.name == "layerw.worker"]
            assert logged[-1] == str(error)  # the log says what the caller hears, frames included
            if attempt == 0:
                game.restore(snap)
                assert game.tick_count == 2
                game.tick(InputState())
                game.tick(InputState())


def test_the_worker_takes_a_snapshot_to_replay_from_every_max_calls(crash: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "MAX_CALLS", 2)  # (4096: a snapshot every 4096 ticks and renders)
    with WorkerGame(Bundle.open(crash), seed=SPIN, cache=tmp_path) as game:
        with pytest.raises(GameTimedOut) as info:  # the snapshot after tick 3 waits for it, and finds it spun
            for _ in range(4):
                game.tick(InputState())
            game.wait()
        assert info.value.frames[0]["function"] == "spin" and "replayed in this process from tick 2" in str(info.value)


def test_a_starved_worker_s_timeout_finished_when_replayed(crash: Path, tmp_path: Path) -> None:
    """A worker that the machine never lets run (SIGSTOP) past the watchdog's wall-time cap is
    stopped; replayed, the call finishes, and the error says so and names no frames."""
    with WorkerGame(Bundle.open(crash), seed=HEAVY, cache=tmp_path) as game:
        game.wait_cap_s = 0.0  # the cap is then ten deadlines of wall time (0.5 s)
        for _ in range(4):
            game.tick(InputState())
        game.wait()
        pid = game._proc.pid if game._proc is not None else None
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # never continued: the watchdog kills it
        game.tick(InputState())
        with pytest.raises(GameTimedOut) as info:
            game.wait()
        assert info.value.tick == 4 and info.value.frames == []
        assert "finished in" in str(info.value) and "when replayed in this process from tick 0" in str(info.value)
        assert "the timeout came from the machine, not the game" in str(info.value)
