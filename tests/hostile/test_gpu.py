"""GPU commands from a hostile game: random commands and mutated real scenes end as a parsed,
checked frame or a typed error (CommandListError, GpuStreamError, ShaderError), never a crash, a
hang or a lost device: after every one the renderer still draws a known scene correctly."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import CommandListError, GpuStreamError, LayerWError, ShaderError
from layerw.gfx.commands import parse
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpuwriter import GpuWriter
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from tests.gfx.gpuscenes import declare_textured, declare_triangle, draw_textured, draw_triangle, triangle
from tests.hostile.harness import Pacer, fuzz
from tests.hostile.test_c_modules import game_dir

CODES = [op.code for op in abi.GPU_OPS]
U32 = st.integers(0, 2**32 - 1)
EDGES = st.sampled_from([0, 1, 2, 3, 4, 255, 256, 4095, 4096, 65535, 2**31 - 1, 2**31, 2**32 - 1])
WORD = st.one_of(EDGES, U32, st.integers(0, 20))


def scene() -> bytes:
    w = GpuWriter()
    declare_triangle(w)
    declare_textured(w, reset=False)
    draw_textured(w, np.array([[0.0, 0.0, 0.5], [0.3, 0.2, 0.2]]))
    draw_triangle(w)
    return w.getvalue()


SCENE = scene()


@st.composite
def gpu_command(draw: st.DrawFn) -> bytes:
    """A GPU op with records of about the right size and words that may be anything."""
    op = abi.GPU_OP_BY_CODE[draw(st.sampled_from(CODES))]
    count = draw(st.one_of(st.just(1), st.integers(0, 4), U32))
    arg = draw(st.one_of(st.just(0), st.integers(0, 64), U32))
    words = op.record.size // 4 * (count if op.batch and count < 8 else 1) + min(arg, 64) // 4
    body = b"".join(struct.pack("<I", draw(WORD)) for _ in range(words))
    return struct.pack("<4I", op.code, count, arg, 0) + body


def refuses_or_checks(data: bytes, checker: GpuChecker) -> bool:
    try:
        checker.check(parse(data).gpu)
    except CommandListError:
        return False
    return True


@fuzz(300)
@given(st.lists(gpu_command(), max_size=8))
def test_random_gpu_commands_check_or_refuse(commands: list[bytes]) -> None:
    checker = GpuChecker(64, 48)
    checker.check(parse(SCENE).gpu)
    refuses_or_checks(b"".join(commands), checker)


@fuzz(40)
@given(st.lists(st.tuples(st.integers(0, len(SCENE) // 4 - 1), WORD), min_size=1, max_size=4))
def test_mutated_scenes_never_lose_the_device(renderer: WgpuRenderer, changes: list[tuple[int, int]]) -> None:
    data = bytearray(SCENE)
    for at, word in changes:
        data[4 * at:4 * at + 4] = struct.pack("<I", word)
    try:
        renderer.draw(bytes(data))
    except (CommandListError, ShaderError):
        pass
    renderer.draw(triangle().getvalue())  # the next frame of an honest game: drawn right
    px = renderer.read_pixels()
    assert tuple(int(v) for v in px[47, 0, :3]) == (255, 0, 0) or abs(int(px[47, 0, 0]) - 255) < 12


# seed (the enum in c/gpu.c) -> the error a frame of that C game ends in, and a fragment of its message
C_MODES: dict[str, tuple[int, type[LayerWError] | None, str]] = {
    "calm": (0, None, ""),
    "a draw of 2^32-1 vertices x 2^32-1 instances": (1, GpuStreamError, "vertices (count x instances)"),
    "a pipeline handle nobody created": (2, GpuStreamError, "no pipeline 4000"),
    "WGSL that is not WGSL": (3, ShaderError, "WGSL:1: the shader does not compile"),
    "3990 buffers of 64 MiB": (4, GpuStreamError, "GPU memory"),
    "a write whose tail runs 4 GiB past the list": (5, CommandListError, "overruns"),
    "draws until the command buffer is full": (6, GpuStreamError, "over the limit of 65536"),
    "a pass never ended": (7, GpuStreamError, "ends inside a render pass"),
    "a texel write into the frame's target": (8, GpuStreamError, "no texture 0"),
}


@pytest.fixture(scope="module")
def hostile_gpu(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    tmp = tmp_path_factory.mktemp("c")
    return Bundle.open(build(game_dir(tmp, "gpu.c"), tmp / "build").out)


@pytest.mark.parametrize("mode", list(C_MODES))
def test_hostile_gpu_games(mode: str, hostile_gpu: Bundle, engine: Engine, renderer: WgpuRenderer, pacer: Pacer) -> None:
    seed, expect, fragment = C_MODES[mode]
    with pacer.watch():
        for game_seed in (seed, 0):  # the hostile game, then a calm one on the same renderer
            with Game(hostile_gpu, engine, seed=game_seed) as game:
                game.tick(InputState())
                if game_seed == seed and expect is not None:
                    with pytest.raises(expect, match=re.escape(fragment)):
                        renderer.draw(game.render())
                    continue
                renderer.draw(game.render())
                assert tuple(int(v) for v in renderer.read_pixels()[47, 0, :3]) == (255, 0, 0)
