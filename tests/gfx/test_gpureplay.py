"""GPU commands replayed on wgpu by the 2D renderer: pixels of 3D passes, 2D drawn over them,
render-to-texture, depth, resources across frames, and what wgpu itself rejects (a shader that
does not compile, a binding the shader lacks) as typed errors that leave the device usable."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from layerw import abi
from layerw.errors import GpuStreamError, RenderError, ShaderError
from layerw.gfx.gpuwriter import GpuWriter
from layerw.gfx.renderer import WgpuRenderer
from layerw.gfx.wgslloops import bound_loops
from layerw.gfx.writer import rgba
from tests.gfx.gpuscenes import (
    BUFFER,
    NESTED_WGSL,
    SAMPLER,
    SPIN_WGSL,
    TEXTURE,
    H,
    T,
    U,
    V,
    W,
    compute_then_show,
    declare_textured,
    declare_triangle,
    draw_textured,
    draw_triangle,
    filled_cells,
    triangle,
)


@pytest.fixture()
def renderer() -> Iterator[WgpuRenderer]:
    try:
        r = WgpuRenderer(W, H)
    except RenderError as e:
        pytest.skip(str(e))
    with r:
        yield r


def rgb(pixel: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in pixel[:3])


def draw(renderer: WgpuRenderer, w: GpuWriter) -> np.ndarray:
    renderer.draw(w.getvalue())
    return renderer.read_pixels()


def test_a_triangle_pass_then_2d_on_top(renderer: WgpuRenderer) -> None:
    w = triangle()
    w.rect(W - 8, 0, 8, 8, color=rgba(255, 255, 255))
    px = draw(renderer, w)
    assert rgb(px[H - 1, 0]) == pytest.approx((255, 0, 0), abs=12)  # the red corner, bottom left
    assert rgb(px[H - 1, W - 2]) == pytest.approx((0, 255, 0), abs=12)
    assert rgb(px[1, 1]) == pytest.approx((0, 0, 255), abs=12)
    assert tuple(px[0, W - 1]) == (255, 255, 255, 255)  # the 2D rect, over the pass's clear
    assert tuple(px[2, W - 12]) == (0, 0, 0, 255)  # outside the triangle: the pass's clear colour


def test_resources_live_across_frames_and_2d_only_frames_clear(renderer: WgpuRenderer) -> None:
    draw(renderer, triangle())
    w = GpuWriter()
    draw_triangle(w, clear=(0.0, 0.0, 1.0, 1.0))  # no declarations: the first frame's resources
    px = draw(renderer, w)
    assert tuple(px[2, W - 12]) == (0, 0, 255, 255)
    two_d = GpuWriter()
    two_d.rect(0, 0, 4, 4)
    px = draw(renderer, two_d)
    assert tuple(px[H - 1, 0]) == (0, 0, 0, 255)  # a frame without a pass starts black as always


def test_depth_keeps_the_nearer_quad(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    declare_textured(w)
    draw_textured(w, np.array([[0.0, 0.0, 0.7], [0.25, 0.25, 0.2]]))
    px = draw(renderer, w)
    assert tuple(px[H // 2, W // 2]) == (255, 0, 0, 255)  # texture is red; tint white
    assert tuple(px[1, 1]) == (0, 0, 0, 255)


def test_render_to_texture_then_sample_it(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    declare_triangle(w)
    declare_textured(w, reset=False)
    w.texture(3, W, H, "rgba8unorm", T["RENDER_ATTACHMENT"] | T["TEXTURE_BINDING"])
    w.bind_group(2, [(0, BUFFER, 3, 0, 0), (1, TEXTURE, 3, 0, 0), (2, SAMPLER, 1, 0, 0)], layout=1)
    w.begin_pass([(3, "clear", "store", (0.0, 1.0, 0.0, 1.0))])  # offscreen: green
    w.end_pass()
    draw_textured(w, np.array([[0, 0, 0.5]]), group=2)
    px = draw(renderer, w)
    assert tuple(px[H // 2, W // 2]) == (0, 255, 0, 255)


def test_a_minified_texture_samples_its_smaller_mip_levels(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    declare_textured(w)
    size, levels = 256, 9  # drawn on a quad of about 32x24 pixels: level 3 or so
    w.texture(6, size, size, "rgba8unorm", T["TEXTURE_BINDING"] | T["COPY_DST"], mip_levels=levels)
    for level in range(levels):
        side = size >> level
        colour = [255, 0, 0, 255] if level == 0 else [0, 255, 0, 255]  # red only in the full-size level
        w.write_texture(6, 0, 0, side, side, side * 4, bytes(colour * side * side), mip_level=level)
    w.bind_group(6, [(0, BUFFER, 3, 0, 0), (1, TEXTURE, 6, 0, 0), (2, SAMPLER, 1, 0, 0)], layout=1)
    draw_textured(w, np.array([[0, 0, 0.5]]), group=6)
    px = draw(renderer, w)
    assert tuple(px[H // 2, W // 2]) == (0, 255, 0, 255)


def test_a_compute_pass_fills_a_storage_buffer_a_render_pass_then_shows(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    w.gpu_reset()
    compute_then_show(w)
    px = draw(renderer, w)
    assert np.array_equal(px, filled_cells())  # integers end to end: every pixel exact


def test_a_loop_that_never_breaks_ends_on_lavapipe_and_the_device_stays_usable(renderer: WgpuRenderer) -> None:
    """What an endless loop does at run time (layerw build refuses the loops that cannot end at all,
    not one like this, whose break depends on data): lavapipe cuts it at 65535 iterations."""
    adapter = str(renderer.device.adapter.info.get("device", ""))
    if "llvmpipe" not in adapter:
        pytest.skip(f"{adapter}: only lavapipe bounds loops; other drivers reset a device that runs too long")
    w = GpuWriter()
    w.gpu_reset()
    compute_then_show(w, SPIN_WGSL)
    px = draw(renderer, w)
    assert tuple(px[0, 0]) == tuple((np.uint32(65535 | 0xFF000000)).tobytes())
    assert rgb(draw(renderer, triangle())[H - 1, 0]) == pytest.approx((255, 0, 0), abs=12)  # the device still draws


def test_writes_land_in_stream_order(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    declare_textured(w)
    draw_textured(w, np.array([[-0.5, 0.0, 0.5], [0.5, 0.0, 0.5]])[:1])  # the left quad, white tint
    w.write_buffer(4, 0, np.array([[-0.5, 0.0, 0.5], [0.5, 0.0, 0.5]], np.float32).tobytes())
    w.write_buffer(3, 0, np.array([0.5, 1, 1, 1], np.float32).tobytes())  # half red, after the first pass
    w.begin_pass([(abi.GPU_FRAME, "load", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
    w.set_pipeline(2)
    w.set_bind_group(0, 1)
    w.set_vertex_buffer(0, 4)
    w.draw(4, 1, 0, 1)  # the right quad
    w.end_pass()
    px = draw(renderer, w)
    assert rgb(px[H // 2, W // 4]) == (255, 0, 0)
    assert rgb(px[H // 2, 3 * W // 4]) == pytest.approx((128, 0, 0), abs=2)


def test_a_shader_that_does_not_compile_names_its_line(renderer: WgpuRenderer) -> None:
    w = GpuWriter()
    w.gpu_reset()
    w.shader(1, "@vertex fn vs() -> @builtin(position) vec4f {\n    return vec4f(1.0)\n}\n")
    with pytest.raises(ShaderError, match=r"WGSL:3: the shader does not compile") as info:
        draw(renderer, w)
    assert info.value.line == 3
    assert rgb(draw(renderer, triangle())[H - 1, 0]) == pytest.approx((255, 0, 0), abs=12)  # device fine


def rejected_by_the_gpu_alone() -> GpuWriter:
    """After triangle(): pipelines that pass the checker but that wgpu (and WebGPU) reject."""
    w = GpuWriter()
    w.layout(7, [(5, V["FRAGMENT"], "uniform")])  # the triangle's shader declares no bindings
    w.buffer(7, 256, U["UNIFORM"])
    w.pipeline(7, 1, "vs", "fs", layouts=[7], buffers=[(20, "vertex", [(0, 0, "float32x2"), (1, 8, "float32x3")])])
    w.pipeline(8, 1, "vs", "missing_entry_point", buffers=[(20, "vertex", [(0, 0, "float32x2"), (1, 8, "float32x3")])])
    return w


def test_what_only_wgpu_rejects_drops_the_games_resources(renderer: WgpuRenderer) -> None:
    draw(renderer, triangle())
    w = rejected_by_the_gpu_alone()
    with pytest.raises(GpuStreamError, match="GPU rejected"):
        draw(renderer, w)
    again = GpuWriter()
    draw_triangle(again)
    with pytest.raises(GpuStreamError, match="no pipeline 1"):
        draw(renderer, again)
    assert rgb(draw(renderer, triangle())[H - 1, 0]) == pytest.approx((255, 0, 0), abs=12)


def test_a_hostile_frame_reaches_no_gpu(renderer: WgpuRenderer) -> None:
    draw(renderer, triangle())
    w = GpuWriter()
    w.destroy(BUFFER, 1)  # would be fine alone ...
    w.draw(3)  # ... but the frame fails, so the buffer still exists
    with pytest.raises(GpuStreamError, match="only allowed inside"):
        draw(renderer, w)
    again = GpuWriter()
    draw_triangle(again)
    assert rgb(draw(renderer, again)[H - 1, 0]) == pytest.approx((255, 0, 0), abs=12)


# A loop as long as a uniform says: the host bounds it (wgslloops.bound_loops), on every driver alike
COUNT_WGSL = """
struct Bound { n: u32 };
@group(0) @binding(0) var<storage, read_write> cells: array<u32>;
@group(0) @binding(1) var<uniform> bound: Bound;
@compute @workgroup_size(16) fn fill(@builtin(global_invocation_id) id: vec3u) {
    var c = 0u;
    for (var i = 0u; i < bound.n; i++) { c += 1u; }
    cells[id.x] = c | 0xff000000u;
}
"""


@pytest.mark.parametrize("n, iterations", [(1000, 1000), (2**32 - 1, abi.GPU_MAX_LOOP_ITERATIONS)])
def test_a_loop_bound_read_from_a_uniform_is_cut_at_the_loop_limit(renderer: WgpuRenderer, n: int,
                                                                   iterations: int) -> None:
    w = GpuWriter()
    w.gpu_reset()
    w.buffer(8, 256, U["UNIFORM"] | U["COPY_DST"])
    w.write_buffer(8, 0, np.array([n], np.uint32).tobytes() + bytes(12))
    compute_then_show(w, COUNT_WGSL, extra=[(1, BUFFER, 8, 0, 16)])
    px = draw(renderer, w)
    assert tuple(px[0, 0]) == tuple(np.uint32(iterations | 0xFF000000).tobytes())
    assert tuple(px[H - 1, W - 1]) == tuple(px[0, 0])



def nested_loops(n: int, m: int) -> GpuWriter:
    """A frame running NESTED_WGSL (bounds n, m) in a compute pass, then showing each invocation's count."""
    w = GpuWriter()
    w.gpu_reset()
    w.buffer(8, 256, U["UNIFORM"] | U["COPY_DST"])
    w.write_buffer(8, 0, np.array([n, m], np.uint32).tobytes() + bytes(8))
    compute_then_show(w, NESTED_WGSL, extra=[(1, BUFFER, 8, 0, 16)])
    return w


# n, m -> how many times the innermost loop's body runs: all 100 x 100 x 1, or what the invocation's
# count leaves it (the two loops around it took an iteration each first)
NESTED_COUNTS = [(100, 1, 100 * 100), (2**32 - 1, 2**32 - 1, abi.GPU_MAX_LOOP_ITERATIONS - 2)]


@pytest.mark.parametrize("n, m, count", NESTED_COUNTS)
def test_nested_loops_end_within_the_invocations_count(renderer: WgpuRenderer, n: int, m: int, count: int) -> None:
    px = draw(renderer, nested_loops(n, m))
    assert tuple(px[0, 0]) == tuple(np.uint32(count | 0xFF000000).tobytes())
    assert tuple(px[H - 1, W - 1]) == tuple(px[0, 0])

def test_shaders_are_compiled_with_their_loops_bounded(renderer: WgpuRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    """On lavapipe a loop ends at 65535 iterations either way, so the text compiled is what tells."""
    compiled: list[str] = []
    create = renderer.device.create_shader_module
    monkeypatch.setattr(renderer.device, "create_shader_module", lambda code: compiled.append(code) or create(code=code))
    w = GpuWriter()
    w.gpu_reset()
    w.shader(1, COUNT_WGSL)
    renderer.draw(w.getvalue())
    assert compiled == [bound_loops(COUNT_WGSL)] and "lw_loop_0 >= 65535u" in compiled[0]
