"""Workload: the sprites game at 10k sprites, built once per run and shared by the sections."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerw.bundle import Bundle
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build

ROOT = Path(__file__).resolve().parents[1]
SPRITES_DIR = ROOT / "games" / "sprites"
SPRITE_COUNT = 10_000  # games/sprites/assets/config.txt
DEADLINE_MS = 600_000  # arm() budget for timed calls: never the limit, only its bookkeeping


def build_sprites(out_dir: Path) -> Path:
    """Build games/sprites with the project toolchain; returns the build directory."""
    return build(SPRITES_DIR, out_dir / "sprites").out


def with_count(sprites_build: Path, out_dir: Path, count: int) -> Path:
    """A copy of the sprites build whose preloaded config.txt asks for ``count`` sprites."""
    path = out_dir / f"sprites-{count}"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(sprites_build, path)
    (path / "assets" / "config.txt").write_text(f"count={count}\n")
    return path


def open_game(build_dir: Path, engine: Engine) -> Game:
    """The sprites game, started and ticked once (so the input block holds a real input)."""
    game = Game(Bundle.open(build_dir), engine)
    game.tick(InputState())
    return game


def guest_export(game: Game, name: str) -> Any:
    """The raw wasmtime function behind one of the game's entry points, to time the guest alone
    (no input packing, no error translation). The one place the benchmarks reach into Game."""
    return game._funcs[name]


def aot_guest_export(game: AotGame, name: str, deadline_ms: int) -> Callable[[], int]:
    """An AOT game's export ``name`` (one taking no arguments) as ``lw_call`` through ctypes with
    every argument fixed, answering the trap code (0 when none): the guest alone, as
    ``guest_export`` gives wasmtime's, with no Python frame between (about 0.7 us a call less than
    ``AotGame.raw_call``). Valid while ``game`` is open: the caller keeps ``game`` referenced (the
    instance's memory is freed when it is collected). The one place the benchmarks reach into AotGame."""
    instance = game._instance
    assert instance is not None
    address, arguments, result = instance._addresses
    call: Callable[[], int] = functools.partial(instance._call, address, game._which[name], arguments, result, deadline_ms)
    return call
