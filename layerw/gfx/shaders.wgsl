// Layer-W native renderer shaders: instanced quads (sprites, rects, lines, circles, text),
// textured triangles, and a blit that presents the game target in a window.
// Instance layout: layerw/gfx/commands.py INSTANCE. Colours are u32, r in the low byte.

struct Camera {
    m: vec4f,       // a, b, c, d of x' = a*x + c*y + tx, y' = b*x + d*y + ty
    t: vec2f,       // tx, ty
    size: vec2f,    // render target size in pixels (= game resolution)
}

@group(0) @binding(0) var<uniform> camera: Camera;
@group(1) @binding(0) var tex: texture_2d<f32>;
@group(1) @binding(1) var samp: sampler;

// Game pixels (y down) through the camera to clip space.
fn to_clip(p: vec2f) -> vec4f {
    let q = vec2f(camera.m.x * p.x + camera.m.z * p.y, camera.m.y * p.x + camera.m.w * p.y) + camera.t;
    let ndc = q / camera.size * 2.0 - 1.0;
    return vec4f(ndc.x, -ndc.y, 0.0, 1.0);
}

struct Quad {
    @location(0) rect: vec4f,   // top-left x, y and size w, h before rotation
    @location(1) src: vec4f,    // source rect in texels: u, v, width, height
    @location(2) rotation: f32, // radians about the rect's centre
    @location(3) color: u32,
    @location(4) flags: u32,    // bit 0 flip x, bit 1 flip y, bits 8-15 shape
    @location(5) thickness: f32,
}

struct QuadOut {
    @builtin(position) pos: vec4f,
    @location(0) uv: vec2f,
    @location(1) color: vec4f,
    @location(2) local: vec2f,  // offset from the centre in game units, before rotation
    @location(3) @interpolate(flat) half_size: vec2f,
    @location(4) @interpolate(flat) shape: u32,
    @location(5) @interpolate(flat) thickness: f32,
    @location(6) @interpolate(flat) aa: f32,  // one target pixel, in game units
}

// Where a quad's corner `vi` lands, its texture coordinate and colour, and its offset from the
// centre in game units before rotation.
struct Placed {
    pos: vec4f,
    uv: vec2f,
    color: vec4f,
    local: vec2f,
}

fn place(vi: u32, q: Quad) -> Placed {
    let corner = vec2f(f32(vi & 1u), f32(vi >> 1u));  // strip order (0,0) (1,0) (0,1) (1,1)
    let local = (corner - 0.5) * q.rect.zw;
    let c = cos(q.rotation);
    let s = sin(q.rotation);
    let centre = q.rect.xy + q.rect.zw * 0.5;
    var t = corner;
    if (q.flags & 1u) != 0u { t.x = 1.0 - t.x; }
    if (q.flags & 2u) != 0u { t.y = 1.0 - t.y; }
    return Placed(to_clip(centre + vec2f(c * local.x - s * local.y, s * local.x + c * local.y)),
                  (q.src.xy + t * q.src.zw) / vec2f(textureDimensions(tex)), unpack4x8unorm(q.color), local);
}

@vertex
fn vs_quad(@builtin(vertex_index) vi: u32, q: Quad) -> QuadOut {
    let p = place(vi, q);
    var out: QuadOut;
    out.pos = p.pos;
    out.uv = p.uv;
    out.color = p.color;
    out.local = p.local;
    out.half_size = abs(q.rect.zw) * 0.5;
    out.shape = (q.flags >> 8u) & 255u;
    out.thickness = q.thickness;
    out.aa = 1.0 / max(sqrt(abs(camera.m.x * camera.m.w - camera.m.y * camera.m.z)), 1e-6);
    return out;
}

// Quads of shape QUAD only (sprites, glyphs, lines), drawn with fs_triangle: texel times colour,
// without the shape varyings a software rasteriser would interpolate per pixel.
@vertex
fn vs_plain(@builtin(vertex_index) vi: u32, q: Quad) -> VertexOut {
    let p = place(vi, q);
    return VertexOut(p.pos, p.uv, p.color);
}

// Coverage of a pixel whose centre is at signed distance d (game units) from an edge.
fn coverage(d: f32, aa: f32) -> f32 {
    return clamp(0.5 - d / aa, 0.0, 1.0);
}

@fragment
fn fs_quad(in: QuadOut) -> @location(0) vec4f {
    let texel = textureSampleLevel(tex, samp, in.uv, 0.0);
    let h = in.half_size;
    var alpha = 1.0;
    switch in.shape {
        case 1u: {  // filled circle
            alpha = coverage(length(in.local) - h.x, in.aa);
        }
        case 2u: {  // ring, inside the radius
            let r = length(in.local);
            alpha = coverage(max(r - h.x, h.x - in.thickness - r), in.aa);
        }
        case 3u: {  // rect outline, inside the rect
            let q = abs(in.local);
            let outer = max(q.x - h.x, q.y - h.y);
            let inner = max(q.x - (h.x - in.thickness), q.y - (h.y - in.thickness));
            alpha = coverage(max(outer, -inner), in.aa);
        }
        default: {}
    }
    let color = texel * in.color;
    return vec4f(color.rgb, color.a * alpha);
}

struct Vertex {
    @location(0) pos: vec2f,
    @location(1) uv: vec2f,  // 0..1 across the texture
    @location(2) color: u32,
}

struct VertexOut {
    @builtin(position) pos: vec4f,
    @location(0) uv: vec2f,
    @location(1) color: vec4f,
}

@vertex
fn vs_triangle(v: Vertex) -> VertexOut {
    var out: VertexOut;
    out.pos = to_clip(v.pos);
    out.uv = v.uv;
    out.color = unpack4x8unorm(v.color);
    return out;
}

@fragment
fn fs_triangle(in: VertexOut) -> @location(0) vec4f {
    return textureSampleLevel(tex, samp, in.uv, 0.0) * in.color;
}

struct BlitOut {
    @builtin(position) pos: vec4f,
    @location(0) uv: vec2f,
}

// One triangle covering the window; `tex` is the game's render target.
@vertex
fn vs_blit(@builtin(vertex_index) vi: u32) -> BlitOut {
    let p = vec2f(f32((vi << 1u) & 2u), f32(vi & 2u));
    var out: BlitOut;
    out.pos = vec4f(p * 2.0 - 1.0, 0.0, 1.0);
    out.uv = vec2f(p.x, 1.0 - p.y);
    return out;
}

@fragment
fn fs_blit(in: BlitOut) -> @location(0) vec4f {
    return textureSampleLevel(tex, samp, in.uv, 0.0);
}
