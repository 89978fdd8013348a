"""layerw_gpu.h: a C and a C++ game encode GPU commands byte for byte as GpuWriter does, declare
their resources on the first frame (lw_gpu_fresh) and again after a restore, never otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.gfx.commands import parse
from layerw.gfx.gpustream import name_of
from layerw.gfx.gpuwriter import GpuWriter
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from tests.gfx.gpuscenes import TRIANGLE, TRIANGLE_WGSL, T, draw_triangle, triangle
from tests.toolchain.test_build import new_game

SOURCE = r"""
#include "layerw_gpu.h"
static const float tri[15] = {%(tri)s};
static const char wgsl[] = %(wgsl)s;
static uint32_t ticks;

EXTERN void lw_game_init(uint64_t seed) { (void)seed; }
EXTERN void lw_game_tick(const lw_input *in) { (void)in; ticks++; }
EXTERN void lw_game_render(lw_frame *f) {
    if (lw_gpu_fresh(f)) {
        lw_gpu_reset(f);
        lw_gpu_shader(f, 1, wgsl, sizeof wgsl - 1);
        lw_gpu_buffer(f, 1, sizeof tri, LW_GPU_BUFFER_VERTEX | LW_GPU_BUFFER_COPY_DST);
        lw_gpu_write_buffer(f, 1, 0, tri, sizeof tri);
        lw_gpu_color_target color = {LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_BLEND_REPLACE, 0};
        lw_gpu_vertex_buffer buffer = {20, LW_GPU_STEP_VERTEX, 2};
        lw_gpu_attribute attributes[2] = {{0, 0, LW_GPU_VERTEX_FLOAT32X2}, {1, 8, LW_GPU_VERTEX_FLOAT32X3}};
        lw_gpu_pipeline_desc d;
        __builtin_memset(&d, 0, sizeof d);
        d.rec.handle = 1; d.rec.shader = 1; d.rec.color_count = 1; d.rec.buffer_count = 1; d.rec.attribute_count = 2;
        d.colors = &color; d.buffers = &buffer; d.attributes = attributes; d.vs = "vs"; d.fs = "fs";
        lw_gpu_pipeline(f, &d);
    }
    lw_gpu_color_attachment target = {LW_GPU_FRAME, LW_GPU_LOAD_CLEAR, LW_GPU_STORE_STORE, {0, 0, 0, 1}};
    lw_gpu_begin_pass(f, &target, 1, 0, 1.0f);
    lw_gpu_set_pipeline(f, 1);
    lw_gpu_set_vertex_buffer(f, 0, 1, 0, 0);
    lw_gpu_draw(f, 3, 1, 0, 0);
    lw_gpu_end_pass(f);
}
"""


def source(cpp: bool) -> str:
    wgsl = '"' + TRIANGLE_WGSL.replace("\n", "\\n") + '"'
    tri = ", ".join(f"{v:.1f}f" for v in TRIANGLE.reshape(-1))
    return (SOURCE % {"tri": tri, "wgsl": wgsl}).replace("EXTERN", 'extern "C"' if cpp else "")


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_header_encodes_as_the_writer_and_declares_when_fresh(lang: str, tmp_path: Path, engine: Engine) -> None:
    out = build(new_game(tmp_path, source(lang == "cpp"), lang=lang), tmp_path / "out").out
    again = GpuWriter()
    draw_triangle(again)
    with Game(Bundle.open(out), engine) as game:
        game.tick(InputState())
        assert bytes(game.render()) == triangle().getvalue()  # fresh: RESET and every declaration
        snap = game.snapshot()
        game.tick(InputState())
        assert bytes(game.render()) == again.getvalue()  # then only the frame's own commands
        assert bytes(game.render()) == again.getvalue()
        game.restore(snap)
        assert bytes(game.render()) == triangle().getvalue()  # a restore makes it declare again
        assert [name_of(c) for c in parse(game.render()).gpu][0] == "BEGIN_PASS"


COMPUTE_SOURCE = r"""
#include "layerw_gpu.h"
static const char wgsl[] = "fill";  /* not compiled: the bytes are compared, not drawn */
static const uint8_t texels[4 * 4 * 4 + 2 * 2 * 4] = {0};
EXTERN void lw_game_init(uint64_t seed) { (void)seed; }
EXTERN void lw_game_tick(const lw_input *in) { (void)in; }
EXTERN void lw_game_render(lw_frame *f) {
    lw_gpu_texture_mips(f, 1, 4, 4, LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_TEXTURE_TEXTURE_BINDING | LW_GPU_TEXTURE_COPY_DST, 2);
    lw_gpu_write_texture_level(f, 1, 1, 0, 0, 2, 2, 8, texels);
    lw_gpu_texture(f, 2, 4, 4, LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_TEXTURE_COPY_DST);
    const uint32_t layouts[1] = {3};
    lw_gpu_compute_pipeline(f, 5, 1, layouts, 1, wgsl);
    lw_gpu_begin_compute_pass(f);
    lw_gpu_set_pipeline(f, 5);
    lw_gpu_dispatch(f, 4, 2, 1);
    lw_gpu_end_pass(f);
}
"""


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_mip_and_compute_encoders_write_what_the_writer_does(lang: str, tmp_path: Path, engine: Engine) -> None:
    code = COMPUTE_SOURCE.replace("EXTERN", 'extern "C"' if lang == "cpp" else "")
    out = build(new_game(tmp_path, code, lang=lang), tmp_path / "out").out
    w = GpuWriter()
    w.texture(1, 4, 4, "rgba8unorm", T["TEXTURE_BINDING"] | T["COPY_DST"], mip_levels=2)
    w.write_texture(1, 0, 0, 2, 2, 8, bytes(16), mip_level=1)
    w.texture(2, 4, 4, "rgba8unorm", T["COPY_DST"])  # lw_gpu_texture: one level
    w.compute_pipeline(5, 1, "fill", layouts=[3])
    w.begin_compute_pass()
    w.set_pipeline(5)
    w.dispatch(4, 2, 1)
    w.end_pass()
    with Game(Bundle.open(out), engine) as game:
        game.tick(InputState())
        assert bytes(game.render()) == w.getvalue()
