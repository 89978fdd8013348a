"""GPU command streams shared by the GPU tests: a coloured triangle (declared, then drawn into the
frame) and a textured, depth-tested, instanced quad scene with an explicit layout."""

from __future__ import annotations

import numpy as np

from layerw import abi
from layerw.gfx.gpuwriter import GpuWriter

U = abi.GPU_BUFFER_USAGE
T = abi.GPU_TEXTURE_USAGE
V = abi.GPU_VISIBILITY
BUFFER, TEXTURE, SAMPLER = (abi.GPU_KINDS[k] for k in ("BUFFER", "TEXTURE", "SAMPLER"))
W, H = 64, 48

TRIANGLE_WGSL = """
struct VOut { @builtin(position) pos: vec4f, @location(0) color: vec3f };
@vertex fn vs(@location(0) p: vec2f, @location(1) c: vec3f) -> VOut {
    var o: VOut;
    o.pos = vec4f(p, 0.5, 1.0);
    o.color = c;
    return o;
}
@fragment fn fs(i: VOut) -> @location(0) vec4f { return vec4f(i.color, 1.0); }
"""
TRIANGLE = np.array([[-1, -1, 1, 0, 0], [1, -1, 0, 1, 0], [-1, 1, 0, 0, 1]], np.float32)  # red, green, blue

TEXTURED_WGSL = """
struct U { tint: vec4f };
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;
struct VOut { @builtin(position) pos: vec4f, @location(0) uv: vec2f };
@vertex fn vs(@builtin(vertex_index) i: u32, @location(0) offset: vec3f) -> VOut {
    let corner = vec2f(f32(i & 1u), f32(i >> 1u));
    var o: VOut;
    o.pos = vec4f(corner - 0.5 + offset.xy, offset.z, 1.0);
    o.uv = corner;
    return o;
}
@fragment fn fs(v: VOut) -> @location(0) vec4f { return textureSample(tex, samp, v.uv) * u.tint; }
"""


def declare_triangle(w: GpuWriter) -> None:
    w.gpu_reset()
    w.shader(1, TRIANGLE_WGSL)
    w.buffer(1, TRIANGLE.nbytes, U["VERTEX"] | U["COPY_DST"])
    w.write_buffer(1, 0, TRIANGLE.tobytes())
    w.pipeline(1, 1, "vs", "fs", buffers=[(20, "vertex", [(0, 0, "float32x2"), (1, 8, "float32x3")])])


def draw_triangle(w: GpuWriter, clear: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)) -> None:
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", clear)])
    w.set_pipeline(1)
    w.set_vertex_buffer(0, 1)
    w.draw(3)
    w.end_pass()


def triangle() -> GpuWriter:
    w = GpuWriter()
    declare_triangle(w)
    draw_triangle(w)
    return w


def declare_textured(w: GpuWriter, *, reset: bool = True) -> None:
    """Quads at (x, y, depth) per instance, sampling a 2x2 red texture; depth-tested, explicit layout.
    Its handles differ from the triangle's (shader 2, buffers 3 and 4, pipeline 2), so both can live."""
    if reset:
        w.gpu_reset()
    w.shader(2, TEXTURED_WGSL)
    w.buffer(3, 256, U["UNIFORM"] | U["COPY_DST"])
    w.write_buffer(3, 0, np.array([1, 1, 1, 1], np.float32).tobytes())
    w.buffer(4, 3 * 12, U["VERTEX"] | U["COPY_DST"])
    w.texture(1, 2, 2, "rgba8unorm", T["TEXTURE_BINDING"] | T["COPY_DST"])
    w.write_texture(1, 0, 0, 2, 2, 8, bytes([255, 0, 0, 255] * 4))
    w.texture(2, W, H, "depth24plus", T["RENDER_ATTACHMENT"])
    w.sampler(1)
    w.layout(1, [(0, V["VERTEX"] | V["FRAGMENT"], "uniform"), (1, V["FRAGMENT"], "float"),
                 (2, V["FRAGMENT"], "filtering")])
    w.pipeline(2, 2, "vs", "fs", layouts=[1], topology="triangle-strip", depth_format="depth24plus",
               depth_write=1, depth_compare="less", buffers=[(12, "instance", [(0, 0, "float32x3")])])
    w.bind_group(1, [(0, BUFFER, 3, 0, 0), (1, TEXTURE, 1, 0, 0), (2, SAMPLER, 1, 0, 0)], layout=1)


def draw_textured(w: GpuWriter, instances: np.ndarray) -> None:
    """Up to 3 quads, centred at (x, y) with depth z, over black."""
    w.write_buffer(4, 0, instances.astype(np.float32).tobytes())
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
    w.set_pipeline(2)
    w.set_bind_group(0, 1)
    w.set_vertex_buffer(0, 4)
    w.draw(4, len(instances))
    w.end_pass()
