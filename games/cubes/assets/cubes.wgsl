// Lit, textured, instanced cubes: per-vertex mesh in slot 0, one instance per cube in slot 1.
struct Globals {
    view_proj: mat4x4f,
    light: vec4f,  // xyz: direction towards the light
    time: vec4f,   // x: tick
};
@group(0) @binding(0) var<uniform> g: Globals;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;

struct VOut {
    @builtin(position) pos: vec4f,
    @location(0) normal: vec3f,
    @location(1) uv: vec2f,
    @location(2) color: vec3f,
};

@vertex
fn vs(@location(0) p: vec3f, @location(1) n: vec3f, @location(2) uv: vec2f,
      @location(3) offset: vec3f, @location(4) phase: f32, @location(5) color: vec4f) -> VOut {
    let a = g.time.x * 0.03 + phase;
    let c = cos(a);
    let s = sin(a);
    let rp = vec3f(c * p.x + s * p.z, p.y, -s * p.x + c * p.z);
    let rn = vec3f(c * n.x + s * n.z, n.y, -s * n.x + c * n.z);
    let bob = vec3f(0.0, 0.25 * sin(g.time.x * 0.05 + phase * 3.0), 0.0);
    var o: VOut;
    o.pos = g.view_proj * vec4f(rp * 0.35 + offset + bob, 1.0);
    o.normal = rn;
    o.uv = uv;
    o.color = color.rgb;
    return o;
}

@fragment
fn fs(i: VOut) -> @location(0) vec4f {
    let light = max(dot(normalize(i.normal), normalize(g.light.xyz)), 0.0);
    let texel = textureSample(tex, samp, i.uv).rgb;
    return vec4f(texel * i.color * (0.3 + 0.7 * light), 1.0);
}
