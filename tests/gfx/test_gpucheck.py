"""The GPU stream's parser and checker, without a GPU: valid scenes pass, and every kind of bad
handle, size, offset, format, binding, pass structure and limit is a GpuStreamError naming the
command, which leaves the game's resource table as it was."""

from __future__ import annotations

import numpy as np
import pytest

from layerw import abi
from layerw.errors import CommandListError, GpuStreamError
from layerw.gfx.commands import parse
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpustream import name_of
from layerw.gfx.gpuwriter import GpuWriter
from tests.gfx.gpucases import HOSTILE, MALFORMED
from tests.gfx.gpuscenes import (
    BUFFER,
    TRIANGLE_WGSL,
    H,
    U,
    W,
    declare_textured,
    declare_triangle,
    draw_textured,
    draw_triangle,
    triangle,
)


def check(checker: GpuChecker, w: GpuWriter) -> bool:
    return checker.check(parse(w.getvalue()).gpu)


def test_valid_scenes_pass_and_keep_their_resources() -> None:
    checker = GpuChecker(W, H)
    assert check(checker, triangle()) is True
    assert {k for k, _ in checker.table.resources} == {abi.GPU_KINDS["SHADER"], BUFFER, abi.GPU_KINDS["PIPELINE"]}
    w = GpuWriter()
    draw_triangle(w)  # the next frame draws with what the first declared
    assert check(checker, w) is True
    w = GpuWriter()
    declare_textured(w)
    draw_textured(w, np.array([[0, 0, 0.5], [0.2, 0.2, 0.25]]))
    assert check(checker, w) is True
    assert checker.table.memory == 256 + 36 + 2 * 2 * 4 + W * H * 4


def test_a_frame_without_a_pass_into_the_frame_reports_so() -> None:
    w = GpuWriter()
    declare_triangle(w)
    assert check(GpuChecker(W, H), w) is False


def test_parse_keeps_gpu_and_2d_commands_apart() -> None:
    w = triangle()
    w.rect(1, 2, 3, 4)
    frame = parse(w.getvalue())
    assert [name_of(c) for c in frame.gpu] == ["RESET", "SHADER", "BUFFER", "WRITE_BUFFER", "PIPELINE", "BEGIN_PASS",
                                           "SET_PIPELINE", "SET_VERTEX_BUFFER", "DRAW", "END_PASS"]
    assert frame.gpu[1].text == TRIANGLE_WGSL and frame.gpu[4].names == ("vs", "fs")
    assert len(frame.batches) == 1 and len(frame.instances) == 1


def test_consecutive_draws_batch_into_one_command() -> None:
    w = GpuWriter()
    declare_triangle(w)
    w.begin_pass([(0, "clear", "store", (0, 0, 0, 1))])
    w.set_pipeline(1)
    w.set_vertex_buffer(0, 1)
    for i in range(5):
        w.draw(3, 1, 0, i)
    w.end_pass()
    draws = [c for c in parse(w.getvalue()).gpu if name_of(c) == "DRAW"]
    assert len(draws) == 1 and draws[0].draws is not None and list(draws[0].draws["first_instance"]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_commands_are_typed_errors_and_change_nothing(name: str) -> None:
    checker = GpuChecker(W, H)
    w = GpuWriter()
    declare_triangle(w)
    declare_textured(w, reset=False)
    check(checker, w)
    before = (dict(checker.table.resources), checker.table.memory)
    body, message = HOSTILE[name]
    hostile = GpuWriter()
    body(hostile)
    with pytest.raises(GpuStreamError, match=message):
        check(checker, hostile)
    assert (checker.table.resources, checker.table.memory) == before


def test_handles_are_bounded_per_game() -> None:
    checker = GpuChecker(W, H)
    w = GpuWriter()
    for h in range(1, abi.GPU_MAX_HANDLE):
        w.buffer(h, 4, U["VERTEX"])
    for h in range(1, 3):
        w.sampler(h)
    with pytest.raises(GpuStreamError, match="limit of 4096 GPU resources"):
        check(checker, w)


def test_malformed_headers_are_command_list_errors() -> None:
    cases = MALFORMED
    for code, count, arg, payload, message in cases:
        w = GpuWriter()
        w.raw(code, count, arg, payload)
        with pytest.raises(CommandListError, match=message):
            parse(w.getvalue())


def test_a_frame_can_declare_again_after_reset() -> None:
    checker = GpuChecker(W, H)
    check(checker, triangle())
    check(checker, triangle())  # RESET then the same handles again: fine
    w = GpuWriter()
    w.shader(1, TRIANGLE_WGSL)  # without RESET: the handle is taken
    with pytest.raises(GpuStreamError, match="exists already"):
        check(checker, w)
