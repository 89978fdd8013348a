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


def draw_textured(w: GpuWriter, instances: np.ndarray, *, group: int = 1) -> None:
    """Up to 3 quads, centred at (x, y) with depth z, over black; ``group`` is the bind group they
    sample through (1: declare_textured's red texture)."""
    w.write_buffer(4, 0, instances.astype(np.float32).tobytes())
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
    w.set_pipeline(2)
    w.set_bind_group(0, group)
    w.set_vertex_buffer(0, 4)
    w.draw(4, len(instances))
    w.end_pass()


# A compute pass fills a storage buffer with one hashed word per pixel; a render pass shows it.
FILL_WGSL = """
@group(0) @binding(0) var<storage, read_write> cells: array<u32>;
@compute @workgroup_size(16) fn fill(@builtin(global_invocation_id) id: vec3u) {
    cells[id.x] = (id.x * 2654435761u) | 0xff000000u;
}
"""
SHOW_WGSL = f"""
@group(0) @binding(0) var<storage, read> cells: array<u32>;
@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {{
    return vec4f(f32((i << 1u) & 2u) * 2.0 - 1.0, f32(i & 2u) * 2.0 - 1.0, 0.0, 1.0);
}}
@fragment fn fs(@builtin(position) p: vec4f) -> @location(0) vec4f {{
    return unpack4x8unorm(cells[u32(p.x) + u32(p.y) * {W}u]);
}}
"""


# A loop whose break depends on the buffer (zeros: it is never taken), so no compiler can drop it
SPIN_WGSL = """
@group(0) @binding(0) var<storage, read_write> cells: array<u32>;
@compute @workgroup_size(16) fn fill(@builtin(global_invocation_id) id: vec3u) {
    var i = 0u;
    loop {
        i = i + 1u;
        if (cells[id.x] == 0xdeadbeefu) { break; }
    }
    cells[id.x] = i | 0xff000000u;
}
"""


# Three loops nested, one in a called function, each as long as a uniform says: every invocation's
# loops share one count (wgslloops.bound_loops), so n = m = 2^32 - 1 ends after GPU_MAX_LOOP_ITERATIONS
# iterations in all, not 65535^3; n = 100, m = 1 (20,100 iterations) counts all of its 100 x 100
NESTED_WGSL = """
struct Bound { n: u32, m: u32 };
@group(0) @binding(0) var<storage, read_write> cells: array<u32>;
@group(0) @binding(1) var<uniform> bound: Bound;
fn innermost(m: u32) -> u32 {
    var c = 0u;
    for (var k = 0u; k < m; k++) { c += 1u; }
    return c;
}
@compute @workgroup_size(16) fn fill(@builtin(global_invocation_id) id: vec3u) {
    var c = 0u;
    for (var i = 0u; i < bound.n; i++) {
        var j = 0u;
        while j < bound.n { c += innermost(bound.m); j++; }
    }
    cells[id.x] = c | 0xff000000u;
}
"""

# Loops that must stay uniform once bounded: samples and derivatives in a nest of uniform loops (one
# in a called function), with a loop whose end differs per pixel inside the nest
COLLECTIVE_WGSL = """struct P { n: u32 };
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var t: texture_2d<f32>;
@group(0) @binding(2) var s: sampler;
fn blur(uv: vec2f) -> vec4f {
    var acc = vec4f(0.0);
    for (var i = 0u; i < p.n; i++) { acc += textureSample(t, s, uv + f32(i)); }
    return acc;
}
@fragment fn fs(@builtin(position) at: vec4f) -> @location(0) vec4f {
    var acc = vec4f(0.0);
    var k = 0u;
    for (var y = 0u; y < p.n; y++) {
        for (var x = 0u; x < p.n; x++) { acc += blur(at.xy * f32(x + y)); }
        while (k < u32(at.x)) { k += 1u; }
        acc += dpdx(acc);
    }
    loop { if k > 9u { break; } k += 1u; acc += textureSampleLevel(t, s, at.xy, 0.0); }
    return acc;
}
"""


def filled_cells() -> np.ndarray:
    """What FILL_WGSL writes, as the H x W x 4 pixels SHOW_WGSL draws."""
    words = (np.arange(W * H, dtype=np.uint64) * 2654435761 % 2**32).astype(np.uint32) | np.uint32(0xFF000000)
    return words.view(np.uint8).reshape(H, W, 4)


def compute_then_show(w: GpuWriter, fill: str = FILL_WGSL, extra: list[tuple[int, int, int, int, int]] | None = None
                      ) -> None:
    """Declares (shaders 3, 4; buffer 7; pipelines 3, 4; bind groups 3, 4), fills, then shows;
    ``extra`` entries join the fill's bind group."""
    w.shader(3, fill)
    w.shader(4, SHOW_WGSL)
    w.buffer(7, W * H * 4, U["STORAGE"])
    w.compute_pipeline(3, 3, "fill")
    w.pipeline(4, 4, "vs", "fs")
    w.bind_group(3, [(0, BUFFER, 7, 0, 0), *(extra or [])], pipeline=3)
    w.bind_group(4, [(0, BUFFER, 7, 0, 0)], pipeline=4)
    w.begin_compute_pass()
    w.set_pipeline(3)
    w.set_bind_group(0, 3)
    w.dispatch(W * H // 16)
    w.end_pass()
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))])
    w.set_pipeline(4)
    w.set_bind_group(0, 4)
    w.draw(3)
    w.end_pass()
