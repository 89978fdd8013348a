"""Runs of repeated pass-command blocks (gpurun): found where a block repeats, checked column by
column with the verdicts and messages of the same commands checked one at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from layerw import abi
from layerw.errors import GpuStreamError, RenderError
from layerw.gfx.commands import parse
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpurun import MIN_REPEATS, FrameCommand, PassRun
from layerw.gfx.gpustream import CODE
from layerw.gfx.gpuwriter import GpuWriter
from layerw.gfx.renderer import WgpuRenderer
from tests.gfx.gpucases import RUNS, blocks, prelude
from tests.gfx.gpuscenes import BUFFER, SAMPLER, TEXTURE, H, T, U, W, declare_textured

SET_BIND_GROUP, DRAW = CODE["SET_BIND_GROUP"], CODE["DRAW"]


def written(body: Callable[[GpuWriter], object]) -> bytes:
    w = GpuWriter()
    body(w)
    return w.getvalue()


def quads(w: GpuWriter, i: int) -> None:
    w.set_bind_group(0, 1)
    w.draw(4, 1, 0, i % 3)


def single(commands: list[FrameCommand]) -> list[FrameCommand]:
    """The commands with every run taken apart into its single commands."""
    return [c for cmd in commands for c in (cmd.commands() if isinstance(cmd, PassRun) else [cmd])]


def outcome(frame: bytes, split: bool) -> tuple[str, object]:
    checker = GpuChecker(W, H)
    checker.check(parse(prelude()).gpu)
    commands = parse(frame).gpu
    try:
        drew = checker.check(single(commands) if split else commands)
    except GpuStreamError as e:
        return str(e), checker.table.resources
    return f"drew {drew}", checker.table.resources


def test_repeated_blocks_parse_as_one_run() -> None:
    commands = parse(written(blocks(quads))).gpu
    runs = [c for c in commands if isinstance(c, PassRun)]
    assert len(runs) == 1 and len(commands) == 5  # BEGIN_PASS, SET_PIPELINE, SET_VERTEX_BUFFER, the run, END_PASS
    run = runs[0]
    assert run.codes == (SET_BIND_GROUP, DRAW) and len(run) == 40 and run.name == "RUN of SET_BIND_GROUP, DRAW"
    assert run.commands()[:4] == [(SET_BIND_GROUP, 1, 0, 0, 0, 1), (DRAW, 1, 0, 0, 4, 1, 0, 0),
                                  (SET_BIND_GROUP, 1, 0, 0, 0, 1), (DRAW, 1, 0, 0, 4, 1, 0, 1)]
    assert run.column(1, 3).tolist() == [i % 3 for i in range(20)]


def test_short_runs_and_broken_blocks_stay_single_commands() -> None:
    short = parse(written(blocks(quads, MIN_REPEATS - 1))).gpu
    assert not any(isinstance(c, PassRun) for c in short) and len(short) == 4 + 2 * (MIN_REPEATS - 1)

    def broken(w: GpuWriter, i: int) -> None:  # every third block sets the pipeline again: no run of 8
        quads(w, i)
        if i % 3 == 2:
            w.set_pipeline(2)
    commands = parse(written(blocks(broken, 60))).gpu
    assert not any(isinstance(c, PassRun) for c in commands) and len(commands) == 4 + 2 * 60 + 20
    batched = parse(written(blocks(lambda w, i: (w.set_bind_group(0, 1), w.draw(4), w.draw(4))))).gpu
    assert not any(isinstance(c, PassRun) for c in batched)  # two draws batch into one command of count 2


@pytest.mark.parametrize("name", [*RUNS, "valid", "index changes"])
def test_runs_check_as_their_single_commands(name: str) -> None:
    bodies = {"valid": blocks(quads),
              "index changes": blocks(lambda w, i: (w.set_bind_group(i % 2, 1), w.draw(4, 1, 0, i % 3)))}
    frame = written(RUNS[name][0] if name in RUNS else bodies[name])
    assert any(isinstance(c, PassRun) for c in parse(frame).gpu)
    as_run, as_single = outcome(frame, split=False), outcome(frame, split=True)
    assert as_run == as_single
    if name in RUNS:
        assert RUNS[name][1] in as_run[0] and "GPU command" in as_run[0]
    else:
        assert as_run[0] == "drew True"


def test_a_run_counts_its_draws_toward_the_frame_limit() -> None:
    repeats = abi.GPU_MAX_DRAWS // 2 + 1
    w = GpuWriter()
    blocks(quads, repeats)(w)
    blocks(quads, repeats)(w)
    frame = w.getvalue()
    as_run, as_single = outcome(frame, split=False), outcome(frame, split=True)
    assert as_run == as_single and "limit of 65536 draws" in as_run[0]


def tinted_quads(broken: bool, size: tuple[int, int] = (W, H)) -> bytes:
    """Quads in two tints, each drawn first by a different block (depth keeps the first): blocks
    repeated (a run), or broken into single commands by a SET_PIPELINE every third; ``size``: the frame's."""
    w = GpuWriter()
    declare_textured(w)
    if size != (W, H):  # the depth texture, made again at the frame's size
        w.destroy(abi.GPU_KINDS["TEXTURE"], 2)
        w.texture(2, *size, "depth24plus", T["RENDER_ATTACHMENT"])
    w.buffer(8, 256, U["UNIFORM"] | U["COPY_DST"])
    w.write_buffer(8, 0, np.array([0.5, 1, 1, 1], np.float32).tobytes())
    w.bind_group(2, [(0, BUFFER, 8, 0, 0), (1, TEXTURE, 1, 0, 0), (2, SAMPLER, 1, 0, 0)], layout=1)
    w.write_buffer(4, 0, np.array([[-0.3, 0, 0.5], [0, 0, 0.4], [0.3, 0, 0.3]], np.float32).tobytes())

    def block(w: GpuWriter, i: int) -> None:
        w.set_bind_group(0, 1 + i % 2)
        w.draw(4, 1, 0, i % 3)
        if broken and i % 3 == 2:
            w.set_pipeline(2)
    blocks(block, 30)(w)
    return w.getvalue()


def test_a_run_draws_the_pixels_of_its_single_commands() -> None:
    """Quads in two tints, each drawn first by a different block (depth keeps the first): the run's
    replay and the same blocks broken into single commands (a SET_PIPELINE every third) agree."""
    assert any(isinstance(c, PassRun) for c in parse(tinted_quads(False)).gpu)
    assert not any(isinstance(c, PassRun) for c in parse(tinted_quads(True)).gpu)
    try:
        renderer = WgpuRenderer(W, H)
    except RenderError as e:
        pytest.skip(str(e))
    with renderer:
        renderer.draw(tinted_quads(False))
        as_run = renderer.read_pixels()
        renderer.draw(tinted_quads(True))
        as_single = renderer.read_pixels()
    assert np.array_equal(as_run, as_single)
    reds = {int(v) for v in as_run[H // 2, :, 0]}
    assert {255, 127} <= reds or {255, 128} <= reds  # both tints show (full red, half red)
