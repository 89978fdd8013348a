"""start_game: the in-process host for a build, chosen once from its layerw.toml.

A build is a core module (``Game``) or a component (``ComponentGame``, when its layerw.toml says
``[component] enabled``). Rooms, replicas and the watchdog's worker process start their games
here; ``layerw.runtime.open_game`` adds the choice of CPU limit (and with it, the worker).
"""

from __future__ import annotations

from layerw.bundle import Bundle
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.memoryhost import MemoryHost


def start_game(bundle: Bundle, engine: Engine, *, seed: int = 0, audio: bool = True) -> MemoryHost:
    """Start ``bundle`` in this process on ``engine`` (whose CPU limit bounds its calls); without
    ``audio`` it mixes nothing and keeps each tick's sound as ``last_sound`` (a worker's parent mixes)."""
    backend: type[Game] | type[ComponentGame] = ComponentGame if bundle.config.component else Game
    return backend(bundle, engine, seed=seed, audio=audio)
