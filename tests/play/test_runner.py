"""Runner: ticks follow game time, not the display's frame rate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from tests.conftest import GAMES


class CountingRenderer:
    """Stands beside the real renderer (tested in tests/gfx) to count frames and textures."""

    def __init__(self) -> None:
        self.frames = 0
        self.textures: dict[int, tuple[int, ...]] = {}

    def set_texture(self, handle: int, rgba: np.ndarray) -> None:
        self.textures[handle] = rgba.shape

    def draw(self, commands: memoryview) -> None:
        assert len(commands) > 0
        self.frames += 1


def run_one_second(bundle: Bundle, engine: Engine, fps: int) -> tuple[int, int, int, list[int]]:
    """Run one second of display time at ``fps`` with a fake clock; (ticks, frames, polls, textures)."""
    now = [0.0]
    renderer = CountingRenderer()
    polled: list[int] = []

    def present() -> bool:
        now[0] += 1.0 / fps
        return renderer.frames < fps

    with Game(bundle, engine) as game:
        Runner(game, renderer).run_realtime(present, lambda s: polled.append(1), lambda: now[0])  # type: ignore[arg-type]
        return game.tick_count, renderer.frames, len(polled), list(renderer.textures)


@pytest.mark.parametrize("fps", [30, 120])
def test_fixed_ticks_whatever_the_frame_rate(built: Callable[[Path], Path], engine: Engine, fps: int) -> None:
    ticks, frames, polls, textures = run_one_second(Bundle.open(built(GAMES / "pong")), engine, fps)
    elapsed = (fps - 1) / fps  # the first frame is at time 0
    assert abs(ticks - elapsed * 60) <= 1.5, (fps, ticks)
    assert frames == polls == fps
    assert textures == [1]


def test_recording_drives_the_same_hash_headless(built: Callable[[Path], Path], engine: Engine) -> None:
    bundle = Bundle.open(built(GAMES / "pong"))
    with Game(bundle, engine) as a, Game(bundle, engine) as b:
        Runner(a).run_headless(100)
        for _ in range(100):
            b.tick(InputState())
        assert a.state_hash() == b.state_hash()


def test_warm_start_loads_the_compiled_module_from_the_cache(built: Callable[[Path], Path], tmp_path: Path) -> None:
    bundle = Bundle.open(built(GAMES / "pong"))
    with Engine(cache=tmp_path) as cold:
        assert not cold.is_cached(bundle.module)
        Game(bundle, cold).close()
        assert cold.is_cached(bundle.module)
        assert len(list(tmp_path.glob("*.cwasm"))) == 1
    with Engine(cache=tmp_path) as warm, Game(bundle, warm) as game:
        game.tick(InputState())
        assert len(list(tmp_path.glob("*.cwasm"))) == 1
