"""The per-frame timing overlay: a window's F3 toggles it, it shows the running mean of tick,
render, present and sound, and it draws over the game's frame without changing the game."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.runner import Runner
from layerw.play.timing import PARTS, FrameTiming
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from tests.runtime.test_symbols import CRASH

F3 = abi.KEYS.index("F3")


def test_f3_toggles_the_overlay_and_it_draws_the_timings(built: Callable[[Path], Path], engine: Engine) -> None:
    bundle = Bundle.open(built(CRASH))
    config = bundle.config
    with Game(bundle, engine, seed=0) as game, WgpuRenderer(config.width, config.height) as renderer:
        runner = Runner(game, renderer, on_samples=lambda _: None, samples_every=1)
        frames = [frozenset(), frozenset({F3}), frozenset({F3}), frozenset()]  # one press, held two frames
        polled = iter(frames)

        def poll(state: InputState) -> None:
            runner.take_devices(state, {"keys": next(polled, frozenset())})

        runner.run_realtime(lambda: True, poll, ticks=3)
        assert runner.timing.shown  # toggled once, not once per frame held
        assert all(runner.timing.mean_ms(part) > 0 for part in PARTS), {p: runner.timing.mean_ms(p) for p in PARTS}
        state = game.state_hash()
        runner.frame()
        shown = renderer.read_pixels()
        runner.take_devices(InputState(1), {"keys": frozenset()})
        runner.take_devices(InputState(1), {"keys": frozenset({F3})})
        assert not runner.timing.shown
        runner.frame()
        plain = renderer.read_pixels()
        assert game.state_hash() == state  # the overlay never reaches the guest
    corner = (slice(0, 40), slice(0, 100))
    assert np.any(shown[corner] != plain[corner]), "the overlay drew nothing"
    assert np.array_equal(shown[60:], plain[60:])  # and nothing outside its corner


def test_overlay_lines_name_every_part() -> None:
    timing = FrameTiming(window=2)
    for ms in (1.0, 3.0, 5.0):
        timing.samples["tick"].append(ms)
    assert timing.mean_ms("tick") == 4.0  # the last two
    data = timing.overlay()
    for part in PARTS:
        assert part.encode() in data
    assert b"4.00 ms" in data
