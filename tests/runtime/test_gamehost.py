"""GameHost: every backend is one; open_game picks it from the CPU limit, watchdog included."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.errors import GameTimedOut, InputError, UnsupportedCpuLimit
from layerw.runtime import Tier, open_game
from layerw.runtime.assets import Event
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame
from tests.wat import STATE_BEGIN, bundle, contract_wat

COUNTER = 4096
# counter += 1000 * event_count + the first event's `a` (lw_input at 2048: event_count at +8, events at +1296)
EVENTS = (f"(i32.store (i32.const {COUNTER}) (i32.add (i32.load (i32.const {COUNTER})) (i32.add "
          "(i32.mul (i32.load (i32.const 2056)) (i32.const 1000)) (i32.load (i32.const 3352)))))")
SCRIPT: list[list[Event]] = [[Event(0, 3, 1, 7)], [], [Event(2, 3, 2, 5), Event(2, 4, 1, 0)], []]


def counter(game: GameHost) -> int:
    offset = COUNTER - STATE_BEGIN
    return int.from_bytes(game.snapshot().memory[offset:offset + 4], "little")


def play(game: GameHost) -> None:
    state = InputState()
    for events in SCRIPT:
        game.tick(state, events)


def test_every_backend_is_a_game_host(tmp_path: Path, engine: Engine) -> None:
    b = bundle(tmp_path / "g", contract_wat(tick=EVENTS))
    with Game(b, engine) as game, WorkerGame(b, cache=tmp_path / "cache") as worker:
        hosts: list[GameHost] = [game, worker]  # mypy checks the assignment; isinstance checks the members
        assert all(isinstance(h, GameHost) for h in hosts)
    # ComponentGame: tests/component/test_io.py


def test_events_reach_the_game_in_the_worker(tmp_path: Path, engine: Engine) -> None:
    b = bundle(tmp_path / "g", contract_wat(tick=EVENTS))
    with Game(b, engine) as game, WorkerGame(b, cache=tmp_path / "cache") as worker:
        play(game)
        play(worker)
        assert counter(worker) == counter(game) == 1007 + 2005
        assert worker.state_hash() == game.state_hash()


def test_the_worker_refuses_too_many_events_before_sending(tmp_path: Path) -> None:
    with WorkerGame(bundle(tmp_path / "g", contract_wat(tick=EVENTS)), cache=tmp_path / "cache") as worker:
        with pytest.raises(InputError, match="events in one tick"):
            worker.tick(InputState(), [Event(0, 3)] * 17)
        assert worker.tick_count == 0
        worker.tick(InputState(), [Event(0, 3, 0, 1)])
        assert counter(worker) == 1001


def test_open_game_picks_the_backend_from_the_cpu_limit(tmp_path: Path) -> None:
    b = bundle(tmp_path / "g", contract_wat(tick=EVENTS))
    with open_game(b, cpu_limit=CpuLimit.WATCHDOG) as worker:
        assert isinstance(worker, WorkerGame)
        play(worker)
        assert counter(worker) == 3012
    for limit in (CpuLimit.EPOCH, CpuLimit.FUEL, CpuLimit.OFF):
        with open_game(b, cpu_limit=limit, tier=Tier.WASMTIME) as game:
            assert isinstance(game, Game) and game.engine.cpu_limit is limit


def test_the_watchdog_bounds_a_game_opened_with_it(tmp_path: Path) -> None:
    hang = "(if (i32.eq (i32.load (i32.const 2048)) (i32.const 1)) (then (loop (br 0))))"  # lw_input.tick == 1
    with open_game(bundle(tmp_path / "g", contract_wat(tick=hang), tick_ms=100), cpu_limit=CpuLimit.WATCHDOG) as game:
        game.tick(InputState())
        game.tick(InputState())
        with pytest.raises(GameTimedOut, match="the worker was stopped") as err:
            game.render()
        assert err.value.tick == 1


def test_an_engine_refuses_the_watchdog() -> None:
    with pytest.raises(UnsupportedCpuLimit, match="open_game"):
        Engine(CpuLimit.WATCHDOG)
    assert [limit.value for limit in CpuLimit if not limit.in_process] == ["watchdog"]
