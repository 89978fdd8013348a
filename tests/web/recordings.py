"""Recorded input sequences for fidelity tests, and the native host's run of the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from layerw.bundle import Bundle
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import Recording
from tests.web.conftest import StaticServer

GAMES = ("pong", "asteroids", "sprites")
FIDELITY_TICKS = 240
# One recorded input sequence per game (the JSON Lines of `layerw run --inputs`).
RECORDINGS = {
    "pong": [{"tick": 10, "down": ["KeyW"]}, {"tick": 40, "up": ["KeyW"], "down": ["ArrowDown"]},
             {"tick": 70, "pointer": [100.5, 60, 1]}, {"tick": 90, "up": ["ArrowDown"]},
             {"tick": 120, "down": ["KeyS"]}, {"tick": 200, "up": ["KeyS"]}],
    "asteroids": [{"tick": 5, "down": ["ArrowLeft", "Space"]}, {"tick": 30, "up": ["ArrowLeft"], "down": ["ArrowUp"]},
                  {"tick": 60, "up": ["Space", "ArrowUp"]}, {"tick": 100, "down": ["ArrowRight", "Space"]},
                  {"tick": 160, "up": ["ArrowRight", "Space"]}],
    "sprites": [{"tick": 20, "down": ["Equal"]}, {"tick": 21, "up": ["Equal"]},
                {"tick": 100, "down": ["Minus"]}, {"tick": 101, "up": ["Minus"]}],
}


def recording_file(server: StaticServer, name: str) -> tuple[str, Path]:
    text = "\n".join(json.dumps(line) for line in RECORDINGS[name]) + "\n"
    url = server.add_file(f"{name}.jsonl", text)
    return url, server.files / f"{name}.jsonl"


def native_run(build_dir: Path, engine: Engine, ticks: int, recording: Path | None) -> str:
    """The native host's state hash after `ticks` ticks (seed 0) with `recording`."""
    return native_frame(build_dir, engine, ticks, recording, None)[0]


def native_frame(build_dir: Path, engine: Engine, ticks: int, recording: Path | None,
                 renderer: WgpuRenderer | None) -> tuple[str, np.ndarray | None]:
    """State hash and (given a renderer) the frame after `ticks` ticks, as `layerw run` makes them."""
    with Game(Bundle.open(build_dir), engine, seed=0) as game:
        runner = Runner(game, renderer, recording=Recording.load(recording) if recording else None)
        runner.run_headless(ticks)
        if renderer is None:
            return game.state_hash(), None
        runner.frame()
        return game.state_hash(), renderer.read_pixels()
