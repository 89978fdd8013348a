// Lit, textured, instanced cubes: per-vertex mesh in slot 0, one instance per cube in slot 1 (its
// colour) and slot 2 (its transform, written by the compute entry point `animate` below).
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
      @location(3) offset: vec4f, @location(4) spin: vec4f, @location(5) color: vec4f) -> VOut {
    let c = spin.x;
    let s = spin.y;
    let rp = vec3f(c * p.x + s * p.z, p.y, -s * p.x + c * p.z);
    let rn = vec3f(c * n.x + s * n.z, n.y, -s * n.x + c * n.z);
    var o: VOut;
    o.pos = g.view_proj * vec4f(rp * 0.35 + offset.xyz, 1.0);
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

// The compute pass: one invocation per cube turns the game's instances (position, phase, colour)
// and the tick into the transform `vs` draws it with (position with its bob; the cosine and sine of
// its spin), in a storage buffer the render pass reads as a vertex buffer. Its pipeline's auto
// layout holds what it uses: bindings 0, 3 and 4 (the render pipeline's layout holds 0, 1 and 2).
struct Cube { x: f32, y: f32, z: f32, phase: f32, color: u32 };
struct Transform { offset: vec4f, spin: vec4f };
@group(0) @binding(3) var<storage, read> cubes: array<Cube>;
@group(0) @binding(4) var<storage, read_write> transforms: array<Transform>;

@compute @workgroup_size(64)
fn animate(@builtin(global_invocation_id) id: vec3u) {
    let i = id.x;
    if (i >= arrayLength(&cubes)) {
        return;
    }
    let c = cubes[i];
    let a = g.time.x * 0.03 + c.phase;
    let bob = 0.25 * sin(g.time.x * 0.05 + c.phase * 3.0);
    transforms[i] = Transform(vec4f(c.x, c.y + bob, c.z, 0.0), vec4f(cos(a), sin(a), 0.0, 0.0));
}
