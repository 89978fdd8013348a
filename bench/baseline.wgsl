// Baseline for bench/render.py: the least a wgpu program must do to draw the sprites game's
// frame — textured, tinted, rotated, alpha-blended instanced quads from one instance buffer.
// Instance layout: the game's lw_sprite_rec (layerw/abi.py SPRITE), 48 bytes.

struct Screen { size: vec2f, texture_size: vec2f }  // target and texture, in pixels

@group(0) @binding(0) var<uniform> screen: Screen;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;

struct Sprite {
    @location(0) rect: vec4f,  // top-left x, y, size w, h
    @location(1) src: vec4f,   // source rect in texels
    @location(2) rotation: f32,
    @location(3) tint: u32,
    @location(4) flags: u32,   // bit 0 flip x, bit 1 flip y
}

struct Out {
    @builtin(position) pos: vec4f,
    @location(0) uv: vec2f,
    @location(1) color: vec4f,
}

@vertex
fn vs(@builtin(vertex_index) vi: u32, s: Sprite) -> Out {
    let corner = vec2f(f32(vi & 1u), f32(vi >> 1u));
    let local = (corner - 0.5) * s.rect.zw;
    let c = cos(s.rotation);
    let n = sin(s.rotation);
    let p = s.rect.xy + s.rect.zw * 0.5 + vec2f(c * local.x - n * local.y, n * local.x + c * local.y);
    let ndc = p / screen.size * 2.0 - 1.0;
    var t = corner;
    if (s.flags & 1u) != 0u { t.x = 1.0 - t.x; }
    if (s.flags & 2u) != 0u { t.y = 1.0 - t.y; }
    var out: Out;
    out.pos = vec4f(ndc.x, -ndc.y, 0.0, 1.0);
    out.uv = (s.src.xy + t * s.src.zw) / screen.texture_size;
    out.color = unpack4x8unorm(s.tint);
    return out;
}

@fragment
fn fs(in: Out) -> @location(0) vec4f {
    return textureSampleLevel(tex, samp, in.uv, 0.0) * in.color;
}
