// Post-processing: the scene, rendered offscreen, drawn to the frame with a vignette and a warm
// tone curve by one full-screen triangle.
@group(0) @binding(0) var scene: texture_2d<f32>;
@group(0) @binding(1) var samp: sampler;

struct VOut {
    @builtin(position) pos: vec4f,
    @location(0) uv: vec2f,
};

@vertex
fn vs(@builtin(vertex_index) i: u32) -> VOut {
    let p = vec2f(f32((i << 1u) & 2u), f32(i & 2u));  // (0, 0), (2, 0), (0, 2)
    var o: VOut;
    o.pos = vec4f(p * 2.0 - 1.0, 0.0, 1.0);
    o.uv = vec2f(p.x, 1.0 - p.y);
    return o;
}

@fragment
fn fs(v: VOut) -> @location(0) vec4f {
    let c = textureSample(scene, samp, v.uv).rgb;
    let d = distance(v.uv, vec2f(0.5, 0.5));
    let vignette = 1.0 - 0.9 * d * d;
    let warm = vec3f(pow(c.r, 0.9), c.g, pow(c.b, 1.1));
    return vec4f(warm * vignette, 1.0);
}
