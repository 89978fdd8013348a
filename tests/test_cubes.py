"""The GPU sample (games/cubes) across snapshots: a restore in the same renderer, a new host
restoring a snapshot, and a player joining a room mid-game all draw the pixels of the run that was
never interrupted (the game declares its GPU resources again in a fresh instance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.errors import RenderError
from layerw.gfx.commands import parse
from layerw.gfx.gpustream import name_of
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import Recording
from layerw.session.room import Room
from tests.conftest import GAMES
from tests.session.test_room import connect, player_bytes, run


@pytest.fixture(scope="module")
def cubes(built: Callable[[Path], Path]) -> Bundle:
    return Bundle.open(built(GAMES / "cubes"))


@pytest.fixture()
def renderers() -> Iterator[Callable[[], WgpuRenderer]]:
    made: list[WgpuRenderer] = []

    def make() -> WgpuRenderer:
        try:
            made.append(WgpuRenderer(320, 240))
        except RenderError as e:
            pytest.skip(str(e))
        return made[-1]

    yield make
    for r in made:
        r.close()


def turning() -> Recording:
    rec = Recording()
    rec.changes[45].append({"tick": 45, "down": ["ArrowRight"]})
    rec.changes[70].append({"tick": 70, "up": ["ArrowRight"]})
    return rec


def frame(runner: Runner) -> np.ndarray:
    runner.frame()
    assert runner.renderer is not None
    return runner.renderer.read_pixels()


def test_restore_and_a_new_host_draw_the_uninterrupted_pixels(cubes: Bundle, engine: Engine,
                                                              renderers: Callable[[], WgpuRenderer]) -> None:
    with Game(cubes, engine, seed=3) as game:
        runner = Runner(game, renderers(), recording=turning())
        runner.run_headless(30)
        frame(runner)  # the renderer now holds the game's resources
        snap = game.snapshot()
        runner.run_headless(60)
        expected, expected_hash = frame(runner), game.state_hash()
        assert [name_of(c) for c in parse(game.render()).gpu][0] == "WRITE_BUFFER"  # not fresh: no declarations

        game.restore(snap)  # the same renderer: the game RESETs and declares again
        assert name_of(parse(game.render()).gpu[0]) == "RESET"
        runner.run_headless(60)
        assert np.array_equal(frame(runner), expected) and game.state_hash() == expected_hash

    with Game(cubes, engine, seed=3) as joined:  # another host: a fresh renderer
        joined.restore(snap)
        runner = Runner(joined, renderers(), recording=turning())
        runner.run_headless(60)
        assert np.array_equal(frame(runner), expected) and joined.state_hash() == expected_hash


def test_a_mid_game_join_draws_what_the_first_player_draws(cubes: Bundle, engine: Engine,
                                                           renderers: Callable[[], WgpuRenderer]) -> None:
    def script(seat: int, tick: int) -> bytes | None:
        return player_bytes("ArrowLeft") if tick == 20 + seat else player_bytes() if tick == 50 else None

    room = Room("cubes", cubes, engine)
    first = connect(room, cubes, engine)
    try:
        first_view = Runner(first.game, renderers())
        run(room, [first], 10, script)
        frame(first_view)  # declared at tick 10
        run(room, [first], 80, script)
        second = connect(room, cubes, engine)  # joins at tick 90 from the room's snapshot
        try:
            run(room, [first, second], 40, script)
            assert second.tick == first.tick and second.game.state_hash() == first.game.state_hash()
            pixels = frame(first_view)
            assert np.array_equal(frame(Runner(second.game, renderers())), pixels)
            assert pixels.std() > 10
        finally:
            second.close()
    finally:
        first.close()
        room.close()
