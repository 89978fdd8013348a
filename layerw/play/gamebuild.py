"""build_game: `layerw build` for a game directory: its WGSL shaders checked on a GPU, then built.

The toolchain compiles without a GPU and gfx compiles shaders without knowing games; this is the
one place that composes them, so a shader that does not compile stops the build with its file and
line before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from layerw.config import GameConfig
from layerw.gfx.wgsl import check_tree
from layerw.toolchain.build import BuildResult, build


def build_game(game_dir: Path, out: Path | None = None, *, component: bool = False,
               optimize: bool = True, replay_twin: bool = False) -> tuple[BuildResult, list[str]]:
    """Check every ``.wgsl`` asset of ``game_dir``, then build it; the result and the shaders checked."""
    shaders = check_tree(Path(game_dir) / GameConfig.load(Path(game_dir)).assets_dir)
    return build(Path(game_dir), out, component=component, optimize=optimize, replay_twin=replay_twin), shaders
