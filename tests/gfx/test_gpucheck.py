"""The GPU stream's parser and checker, without a GPU: valid scenes pass, and every kind of bad
handle, size, offset, format, binding, pass structure and limit is a GpuStreamError naming the
command, which leaves the game's resource table as it was."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from layerw import abi
from layerw.errors import CommandListError, GpuStreamError
from layerw.gfx.commands import parse
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpustream import name_of
from layerw.gfx.gpuwriter import GpuWriter
from tests.gfx.gpuscenes import (
    BUFFER,
    SAMPLER,
    TEXTURE,
    TRIANGLE_WGSL,
    H,
    T,
    U,
    V,
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


def _pass(w: GpuWriter, *cmds: Callable[[GpuWriter], None]) -> None:
    w.begin_pass([(0, "clear", "store", (0, 0, 0, 1))])
    for c in cmds:
        c(w)
    w.end_pass()


def _drawing(*before: Callable[[GpuWriter], None], draw: Callable[[GpuWriter], None] = lambda w: w.draw(3)
             ) -> Callable[[GpuWriter], None]:
    return lambda w: _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1), *before, draw)


HOSTILE: dict[str, tuple[Callable[[GpuWriter], None], str]] = {
    "unknown buffer": (lambda w: w.write_buffer(9, 0, b"1234"), "no buffer 9"),
    "handle zero": (lambda w: w.buffer(0, 16, U["VERTEX"]), "outside 1"),
    "handle too big": (lambda w: w.buffer(abi.GPU_MAX_HANDLE, 16, U["VERTEX"]), "outside 1"),
    "handle reused": (lambda w: w.buffer(1, 16, U["VERTEX"]), "exists already"),
    "buffer too big": (lambda w: w.buffer(5, abi.GPU_MAX_BUFFER_BYTES + 4, U["VERTEX"]), "multiple of 4"),
    "buffer unaligned": (lambda w: w.buffer(5, 10, U["VERTEX"]), "multiple of 4"),
    "mapped buffer": (lambda w: w.buffer(5, 16, 1), "usage"),
    "write past the end": (lambda w: w.write_buffer(1, 56, b"12345678"), "inside the buffer"),
    "write unaligned": (lambda w: w.write_buffer(1, 2, b"1234"), "multiples of 4"),
    "write without COPY_DST": (lambda w: (w.buffer(5, 16, U["VERTEX"]), w.write_buffer(5, 0, b"1234")), "COPY_DST"),
    "texture too big": (lambda w: w.texture(5, 8192, 4, "rgba8unorm", T["COPY_DST"]), "within 1"),
    "texture format": (lambda w: w.texture(5, 4, 4, 999, T["COPY_DST"]), "format 999"),
    "texture write outside": (lambda w: (w.texture(5, 4, 4, "rgba8unorm", T["COPY_DST"]),
                                         w.write_texture(5, 2, 2, 4, 4, 16, bytes(64))), "outside the texture"),
    "texture write short": (lambda w: (w.texture(5, 4, 4, "rgba8unorm", T["COPY_DST"]),
                                       w.write_texture(5, 0, 0, 4, 4, 16, bytes(60))), "do not match"),
    "depth written": (lambda w: w.texture(5, 4, 4, "depth24plus", T["COPY_DST"]), "cannot be written"),
    "memory bound": (lambda w: [w.buffer(h, abi.GPU_MAX_BUFFER_BYTES, U["STORAGE"]) for h in range(10, 15)], "GPU memory"),
    "sampler enum": (lambda w: w.sampler(5, filter=7), "mag_filter 7"),
    "empty shader": (lambda w: w.shader(5, "  "), "empty"),
    "layout repeats a binding": (lambda w: w.layout(5, [(0, V["VERTEX"], "uniform"), (0, V["VERTEX"], "uniform")]), "repeated"),
    "layout binding type": (lambda w: w.layout(5, [(0, V["VERTEX"], 42)]), "type 42"),
    "layout visibility": (lambda w: w.layout(5, [(0, 64, "uniform")]), "visibility"),
    "pipeline shader": (lambda w: w.pipeline(5, 9, "vs", "fs"), "no shader 9"),
    "pipeline entry point": (lambda w: w.pipeline(5, 1, "vs;", "fs"), "not a WGSL identifier"),
    "pipeline stride": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(6, "vertex", [(0, 0, "float32")])]), "stride 6"),
    "pipeline attribute past stride": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(8, "vertex", [(0, 4, "float32x2")])]),
                                       "past the stride"),
    "pipeline location twice": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(8, 0, [(0, 0, "float32"), (0, 4, "float32")])]),
                                "repeated"),
    "pipeline depth format": (lambda w: w.pipeline(5, 1, "vs", "fs", depth_format="rgba8unorm", depth_compare="less"),
                              "colour format"),
    "pipeline colour depth": (lambda w: w.pipeline(5, 1, "vs", "fs", colors=[("depth32float", 0)]), "depth format"),
    "bind group missing binding": (lambda w: w.bind_group(5, [(0, BUFFER, 3, 0, 0)], layout=1), "missing"),
    "bind group wrong kind": (lambda w: w.bind_group(5, [(0, SAMPLER, 1, 0, 0), (1, TEXTURE, 1, 0, 0),
                                                         (2, SAMPLER, 1, 0, 0)], layout=1), "not this sampler"),
    "bind group offset": (lambda w: w.bind_group(5, [(0, BUFFER, 3, 4, 0), (1, TEXTURE, 1, 0, 0),
                                                     (2, SAMPLER, 1, 0, 0)], layout=1), "multiple of 256"),
    "bind group without usage": (lambda w: w.bind_group(5, [(0, BUFFER, 4, 0, 0), (1, TEXTURE, 1, 0, 0),
                                                             (2, SAMPLER, 1, 0, 0)], layout=1), "lacks UNIFORM"),
    "destroy what a bind group uses": (lambda w: w.destroy(BUFFER, 3), "still uses"),
    "destroy unknown kind": (lambda w: w.destroy(99, 1), "kind 99"),
    "draw outside a pass": (lambda w: w.draw(3), "only allowed inside"),
    "create inside a pass": (lambda w: _pass(w, lambda w: w.buffer(5, 16, U["VERTEX"])), "not allowed inside"),
    "pass left open": (lambda w: w.begin_pass([(0, "clear", "store", (0, 0, 0, 1))]), "ends inside a render pass"),
    "pass sizes differ": (lambda w: (w.texture(5, 8, 8, "rgba8unorm", T["RENDER_ATTACHMENT"]),
                                     w.begin_pass([(0, 0, 0, (0, 0, 0, 1)), (5, 0, 0, (0, 0, 0, 1))]), w.end_pass()), "one size"),
    "pass target not renderable": (lambda w: (w.texture(5, W, H, "rgba8unorm", T["COPY_DST"]),
                                              w.begin_pass([(5, 0, 0, (0, 0, 0, 1))]), w.end_pass()), "RENDER_ATTACHMENT"),
    "pass clear NaN": (lambda w: (w.begin_pass([(0, 0, 0, (float("nan"), 0, 0, 1))]), w.end_pass()), "not finite"),
    "draw without pipeline": (lambda w: _pass(w, lambda w: w.draw(3)), "no pipeline"),
    "draw without vertex buffer": (lambda w: _pass(w, lambda w: w.set_pipeline(1), lambda w: w.draw(3)), "not bound"),
    "draw past the buffer": (_drawing(draw=lambda w: w.draw(4)), "read past"),
    "batched draws past the buffer": (_drawing(draw=lambda w: (w.draw(3), w.draw(4))), "read past"),
    "batched indexed draws past the index buffer": (
        lambda w: (w.buffer(6, 12, U["INDEX"]), _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1),
                                                      lambda w: w.set_index_buffer(6), lambda w: w.draw_indexed(3),
                                                      lambda w: w.draw_indexed(8))), "index buffer holds 6"),
    "indexed draw past the index buffer": (
        lambda w: (w.buffer(6, 12, U["INDEX"]), _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1),
                                                      lambda w: w.set_index_buffer(6), lambda w: w.draw_indexed(7))),
        "index buffer holds 6"),
    "bind group of another layout": (_drawing(lambda w: w.set_bind_group(0, 1)), "another pipeline's auto layout"),
    "draw far past the buffer": (_drawing(draw=lambda w: w.draw(3, 1, 2**32 - 2)), "read past"),
    "too many vertices": (_drawing(draw=lambda w: w.draw(3, 2**31)), "vertices"),
    "pipeline of another format": (lambda w: (w.texture(5, W, H, "rgba16float", T["RENDER_ATTACHMENT"]),
                                              w.begin_pass([(5, 0, 0, (0, 0, 0, 1))]), w.set_pipeline(1), w.end_pass()),
                                   "the pass has"),
    "indexed draw without index buffer": (_drawing(draw=lambda w: w.draw_indexed(3)), "no index buffer"),
    "index buffer without usage": (_drawing(lambda w: w.set_index_buffer(1)), "lacks INDEX"),
    "bind group index": (_drawing(lambda w: w.set_bind_group(7, 1)), "index 7"),
}


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
    op = {o.name: o.code for o in abi.GPU_OPS}
    cases = [
        (op["BUFFER"], 2, 0, bytes(32), "count 2"),
        (op["DRAW"], 1, 4, bytes(20), "no tail"),
        (op["DRAW"], abi.GPU_MAX_DRAWS + 1, 0, b"", "draws"),
        (op["LAYOUT"], 1, 16, np.array([1, 2], np.uint32).tobytes() + bytes(16), "tail of 32"),
        (op["SHADER"], 1, 4, bytes(8) + b"\xff\xfe\xfd\xfc", "not UTF-8"),
        (op["SET_PIPELINE"], 1, 4, bytes(8), "no tail"),
        (op["WRITE_BUFFER"], 1, 64, bytes(8), "overruns"),
        (op["PIPELINE"], 1, 0, np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0], np.uint32).tobytes(),
         "9 colour targets"),
    ]
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
