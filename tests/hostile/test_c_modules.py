"""Hostile games written in C and built by the project's own toolchain: one module whose seed picks
the misbehaviour, and modules that `layerw build` or the host must refuse as a whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.errors import (
    CommandListError,
    CompileError,
    ContractError,
    GameCrashed,
    GameExited,
    GameOutOfMemory,
    GameTimedOut,
    InvalidModule,
    LayerWError,
)
from layerw.gfx.commands import parse
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from tests.hostile.harness import Pacer, exercise
from tests.roomy import with_roomy_deadline

C = Path(__file__).parent / "c"
TOML = """[game]
name = "{name}"
version = "1.0.0"

[assets]
preload = ["data.bin"]

[limits]
memory_mb = 16
tick_ms = 50
"""

# seed (the enum in c/hostile.c) -> the outcome it must end in, and a fragment of its message
MODES: dict[str, tuple[int, type[LayerWError] | None, str]] = {
    "calm": (0, None, ""),
    "infinite loop in lw_init": (1, GameTimedOut, "in lw_init: ran past its CPU deadline"),
    "infinite loop in lw_tick": (2, GameTimedOut, "in lw_tick: ran past its CPU deadline"),
    "infinite loop in lw_render": (3, GameTimedOut, "in lw_render: ran past its CPU deadline"),
    "unbounded recursion": (4, GameCrashed, "trapped"),
    "malloc until it fails": (5, GameOutOfMemory, "cap of 16 MiB"),
    "1 MiB array on a 256 KiB stack": (6, GameCrashed, "out of bounds memory access"),
    "divide by zero": (7, GameCrashed, "divide by zero"),
    "call through a wild function pointer": (8, GameCrashed, "trapped"),
    "abort()": (9, GameCrashed, "unreachable"),
    "exit(3)": (10, GameExited, "proc_exit(3)"),
    "printf flood": (11, GameTimedOut, "in lw_tick"),
    "store through a wild pointer": (12, GameCrashed, "out of bounds memory access"),
    "sprite count 2^32-1": (13, CommandListError, "overruns"),
    "unknown opcode": (14, CommandListError, "unknown op 2989"),
    "sprite count whose size wraps 32 bits": (15, CommandListError, "overruns"),
    "render length past the buffer": (16, GameCrashed, "lw_render returned"),
    "text length 2^32-16": (17, CommandListError, "overruns"),
    "2 000 sprites of absurd sizes": (18, None, ""),
    "command buffer filled and overfilled": (19, None, ""),
    "asset reads past the end, bad buffers, traversal names": (20, None, ""),
    "lw_io clobbered in lw_game_init": (21, InvalidModule, "ABI"),
}


def game_dir(tmp: Path, source: str) -> Path:
    name = Path(source).stem.replace("_", "-")
    d = tmp / name
    (d / "assets").mkdir(parents=True)
    shutil.copy(C / source, d / source)
    (d / "assets" / "data.bin").write_bytes(bytes(range(100)))
    (d / "layerw.toml").write_text(TOML.format(name=name))
    return d


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("c")
    return build(game_dir(tmp, "hostile.c"), tmp / "build").out


@pytest.fixture(scope="module")
def hostile(hostile_build: Path) -> Bundle:
    return Bundle.open(hostile_build)


@pytest.fixture(scope="module")
def roomy_hostile(hostile_build: Path) -> Bundle:
    """The same build with a deadline no healthy call nears on a loaded machine (tick_ms is wall time
    on wasmtime's epoch tier): for the modes that must end in something else than a timeout."""
    return Bundle.open(with_roomy_deadline(hostile_build, hostile_build.parent / "roomy"))


@pytest.mark.parametrize("mode", list(MODES))
def test_mode(mode: str, hostile: Bundle, roomy_hostile: Bundle, engine: Engine, pacer: Pacer) -> None:
    seed, expect, fragment = MODES[mode]
    with pacer.watch():
        err = exercise(hostile if expect is GameTimedOut else roomy_hostile, engine, seed=seed)
    if expect is None:
        assert err is None, f"{mode}: {err!r}"
    else:
        assert isinstance(err, expect), f"{mode}: expected {expect.__name__}, got {err!r}"
        assert fragment in str(err), f"{mode}: {fragment!r} not in {err}"


@pytest.mark.parametrize("mode", ["2 000 sprites of absurd sizes", "command buffer filled and overfilled"])
def test_renderer_draws_hostile_frames_within_bounds(mode: str, hostile: Bundle, engine: Engine,
                                                     renderer: WgpuRenderer, pacer: Pacer) -> None:
    with pacer.watch(), Game(hostile, engine, seed=MODES[mode][0]) as game:
        game.tick(InputState())
        frame = parse(game.render())
        assert len(frame.instances) >= 2000
        renderer.render(frame)
        pixels = renderer.read_pixels()
    assert pixels.shape == (48, 64, 4) and pixels.dtype == np.uint8


@pytest.mark.parametrize("source, refusal, fragment", [
    ("socket.c", ContractError, "unknown import 'env.socket'"),
    ("files.c", ContractError, "wasi_snapshot_preview1.path_open"),
    ("broken.c", CompileError, "undefined_function"),
])
def test_build_refuses(source: str, refusal: type[LayerWError], fragment: str, tmp_path: Path) -> None:
    d = game_dir(tmp_path, source)
    with pytest.raises(refusal, match=fragment):
        build(d, tmp_path / "build")
    assert not (tmp_path / "build").exists()  # nothing half-built is left to publish


def test_loop_in_a_constructor_is_initialize_timing_out(tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    b = Bundle.open(build(game_dir(tmp_path, "ctor.c"), tmp_path / "build").out)
    with pacer.watch():
        err = exercise(b, engine)
    assert isinstance(err, GameTimedOut) and "in _initialize" in str(err), err


def test_static_state_above_the_memory_cap(tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    b = Bundle.open(build(game_dir(tmp_path, "huge_static.c"), tmp_path / "build").out)
    with pacer.watch():
        err = exercise(b, engine)
    assert isinstance(err, GameOutOfMemory) and "initial memory" in str(err), err
