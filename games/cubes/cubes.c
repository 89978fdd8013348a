/* Cubes: the GPU API's sample (layerw_gpu.h). A field of CUBES lit, textured, spinning cubes drawn
 * with ONE instanced, indexed draw into an offscreen render target with a depth buffer and an
 * orbiting camera. A compute pass first (cubes.wgsl's `animate`) turns the instances and the tick
 * into each cube's transform (spin and bob) in a storage buffer the draw reads as a vertex buffer;
 * a post-processing pass (post.wgsl: vignette, tone) draws the target into the
 * frame, and a 2D HUD goes over it with the ordinary command list.
 *
 * GPU resources are declared when lw_gpu_fresh(f) says the host holds none (the first frame, and
 * after a restore or a join); every frame then writes the uniforms and the instances (a function
 * of the game state, so a restored game draws what the uninterrupted one draws).
 * The brick texture has a full mip chain (averaged in linear light): far cubes sample a prefiltered
 * level rather than aliasing single texels, so every GPU draws the same far field.
 * Input: ArrowLeft/ArrowRight turn the camera, ArrowUp/ArrowDown move it in and out, Space stops
 * or restarts the orbit. Each tick recolours a few cubes picked by the seeded generator.
 */
#include <math.h>
#include "layerw_gpu.h"

#define W 320
#define H 240
#define SIDE 64
#define CUBES (SIDE * SIDE)
#define TEX 64
#define TEX_LEVELS 7     /* 64x64 down to 1x1 */
#define TEX_TEXELS 5461  /* 64 * 64 + 32 * 32 + ... + 1 */
#define SHADER_MAX 8192
#define RECOLOUR_PER_TICK 8

/* handles, one namespace per kind */
enum { SHADER = 1, POST_SHADER = 2, PIPELINE = 1, POST_PIPELINE = 2, ANIMATE_PIPELINE = 3, LAYOUT = 1 };
enum { GROUP = 1, POST_GROUP = 2, ANIMATE_GROUP = 3, SAMPLER = 1, CLAMP = 2 };  /* bind groups, samplers */
enum { MESH = 1, INDICES = 2, INSTANCES = 3, UNIFORMS = 4, TRANSFORMS = 5 };     /* buffers */
#define WORKGROUP 64  /* animate's @workgroup_size */
enum { TEXTURE = 1, DEPTH = 2, SCENE = 3 };                             /* textures */

typedef struct { float p[3], n[3], uv[2]; } vertex;
typedef struct { float x, y, z, phase; uint32_t color; } instance;
typedef struct { float offset[4], spin[4]; } transform;  /* written by the compute pass, never by the game */
typedef struct { float view_proj[16]; float light[4]; float time[4]; } globals;

static vertex mesh[24];
static uint16_t indices[36];
static instance cubes[CUBES];
static uint32_t texels[TEX_TEXELS];  /* every mip level, the largest first */
static char shader[SHADER_MAX], post[SHADER_MAX];

static struct {
    uint64_t rng;
    uint32_t tick, shader_len, post_len, recoloured;
    float yaw, height, distance;
    int orbit, space_was_down;
} g;

static uint32_t rnd(void) {
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (uint32_t)((g.rng * 0x2545F4914F6CDD1DULL) >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) * (1.0f / 16777216.0f); }
static uint32_t colour(void) { return LW_RGB(96 + rnd() % 160, 96 + rnd() % 160, 96 + rnd() % 160); }

static void cross(const float a[3], const float b[3], float out[3]) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Six faces of 4 vertices, counter-clockwise seen from outside: u x v = n. */
static void make_mesh(void) {
    static const float normals[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
    static const float corners[4][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}};
    for (int f = 0; f < 6; f++) {
        const float *n = normals[f];
        float v[3] = {0, 1, 0}, u[3];
        if (n[1] != 0) { v[1] = 0; v[2] = -1; }
        cross(v, n, u);
        for (int c = 0; c < 4; c++) {
            vertex *out = &mesh[f * 4 + c];
            for (int i = 0; i < 3; i++) {
                out->p[i] = n[i] + corners[c][0] * u[i] + corners[c][1] * v[i];
                out->n[i] = n[i];
            }
            out->uv[0] = (corners[c][0] + 1) * 0.5f;
            out->uv[1] = 1 - (corners[c][1] + 1) * 0.5f;
        }
        static const uint16_t quad[6] = {0, 1, 2, 0, 2, 3};
        for (int i = 0; i < 6; i++) indices[f * 6 + i] = (uint16_t)(f * 4 + quad[i]);
    }
}

static float to_linear(uint32_t v) {
    float c = (float)v / 255.0f;
    return c <= 0.04045f ? c / 12.92f : powf((c + 0.055f) / 1.055f, 2.4f);
}
static uint32_t to_srgb(float c) {
    float s = c <= 0.0031308f ? c * 12.92f : 1.055f * powf(c, 1.0f / 2.4f) - 0.055f;
    return (uint32_t)(s * 255.0f + 0.5f);
}

/* Bricks: light mortar lines over a warm checker; then each mip level from the one above, every
   2x2 block averaged in linear light (the texture is sRGB). */
static void make_texture(void) {
    for (int y = 0; y < TEX; y++)
        for (int x = 0; x < TEX; x++) {
            int row = y / 16, shift = (row & 1) * 16;
            int mortar = (y % 16) < 2 || ((x + shift) % 32) < 2;
            uint32_t v = mortar ? 235 : 150 + ((x / 8 + y / 8) & 1) * 50;
            texels[y * TEX + x] = LW_RGB(v, v, v);
        }
    uint32_t *src = texels;
    for (int level = 1, size = TEX / 2; level < TEX_LEVELS; level++, size /= 2) {
        uint32_t *dst = src + 4 * size * size;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                uint32_t out = 0xFF000000u;  /* LW_RGB's alpha */
                for (int c = 0; c < 24; c += 8) {
                    float sum = 0;
                    for (int k = 0; k < 4; k++) sum += to_linear((src[(2 * y + k / 2) * 2 * size + 2 * x + k % 2] >> c) & 255u);
                    out |= to_srgb(sum * 0.25f) << c;
                }
                dst[y * size + x] = out;
            }
        src = dst;
    }
}

/* A preloaded asset (ready now on every host) into `dst`; its length, 0 if missing or too big. */
static uint32_t load(const char *name, char *dst) {
    int32_t asset = lw_asset(name);
    int32_t size = asset > 0 ? lw_asset_size(asset) : -1;
    int32_t n = size > 0 && size <= SHADER_MAX ? lw_asset_read(asset, 0, dst, size) : -1;
    if (n <= 0) lw_log(3, name, (int32_t)__builtin_strlen(name));
    return n > 0 ? (uint32_t)n : 0;
}

void lw_game_init(uint64_t seed) {
    g.rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    g.yaw = 0.6f;
    g.height = 9.0f;
    g.distance = 24.0f;
    g.orbit = 1;
    make_mesh();
    make_texture();
    for (int i = 0; i < CUBES; i++) {
        float x = (float)(i % SIDE) - (SIDE - 1) * 0.5f, z = (float)(i / SIDE) - (SIDE - 1) * 0.5f;
        cubes[i] = (instance){x, 0.6f * sinf(x * 0.3f) * cosf(z * 0.25f), z, rndf(0, 6.2831853f), colour()};
    }
    g.shader_len = load("cubes.wgsl", shader);
    g.post_len = load("post.wgsl", post);
}

void lw_game_tick(const lw_input *in) {
    const lw_player *p = &in->players[0];
    g.tick++;
    int space = lw_key_down(p, LW_KEY_SPACE);
    if (space && !g.space_was_down) g.orbit = !g.orbit;
    g.space_was_down = space;
    g.yaw += (g.orbit ? 0.004f : 0.0f) + 0.03f * (float)(lw_key_down(p, LW_KEY_ARROWRIGHT) - lw_key_down(p, LW_KEY_ARROWLEFT));
    g.distance += 0.4f * (float)(lw_key_down(p, LW_KEY_ARROWDOWN) - lw_key_down(p, LW_KEY_ARROWUP));
    if (g.distance < 8) g.distance = 8;
    if (g.distance > 90) g.distance = 90;
    for (int i = 0; i < RECOLOUR_PER_TICK; i++) cubes[rnd() % CUBES].color = colour();
    g.recoloured += RECOLOUR_PER_TICK;
}

/* --- the GPU side --------------------------------------------------------------------------------- */

static void declare(lw_frame *f) {
    lw_gpu_reset(f);
    lw_gpu_shader(f, SHADER, shader, g.shader_len);
    lw_gpu_buffer(f, MESH, sizeof mesh, LW_GPU_BUFFER_VERTEX | LW_GPU_BUFFER_COPY_DST);
    lw_gpu_write_buffer(f, MESH, 0, mesh, sizeof mesh);
    lw_gpu_buffer(f, INDICES, sizeof indices + 4, LW_GPU_BUFFER_INDEX | LW_GPU_BUFFER_COPY_DST);  /* a multiple of 4 */
    lw_gpu_write_buffer(f, INDICES, 0, indices, sizeof indices);
    lw_gpu_buffer(f, INSTANCES, sizeof cubes, LW_GPU_BUFFER_VERTEX | LW_GPU_BUFFER_STORAGE | LW_GPU_BUFFER_COPY_DST);
    lw_gpu_buffer(f, TRANSFORMS, CUBES * sizeof(transform), LW_GPU_BUFFER_VERTEX | LW_GPU_BUFFER_STORAGE);
    lw_gpu_buffer(f, UNIFORMS, 256, LW_GPU_BUFFER_UNIFORM | LW_GPU_BUFFER_COPY_DST);
    lw_gpu_texture_mips(f, TEXTURE, TEX, TEX, LW_GPU_FORMAT_RGBA8UNORM_SRGB, LW_GPU_TEXTURE_TEXTURE_BINDING | LW_GPU_TEXTURE_COPY_DST,
                        TEX_LEVELS);
    const uint32_t *level = texels;
    for (uint32_t l = 0, size = TEX; l < TEX_LEVELS; l++, level += size * size, size /= 2)
        lw_gpu_write_texture_level(f, TEXTURE, l, 0, 0, size, size, size * 4, level);
    lw_gpu_texture(f, DEPTH, W, H, LW_GPU_FORMAT_DEPTH24PLUS, LW_GPU_TEXTURE_RENDER_ATTACHMENT);
    lw_gpu_texture(f, SCENE, W, H, LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_TEXTURE_RENDER_ATTACHMENT | LW_GPU_TEXTURE_TEXTURE_BINDING);
    lw_gpu_sampler(f, SAMPLER, LW_GPU_FILTER_LINEAR, LW_GPU_FILTER_LINEAR, LW_GPU_FILTER_LINEAR,
                   LW_GPU_ADDRESS_REPEAT, LW_GPU_ADDRESS_REPEAT, LW_GPU_ADDRESS_REPEAT, LW_GPU_COMPARE_NONE);
    lw_gpu_sampler(f, CLAMP, LW_GPU_FILTER_LINEAR, LW_GPU_FILTER_LINEAR, LW_GPU_FILTER_NEAREST,
                   LW_GPU_ADDRESS_CLAMP_TO_EDGE, LW_GPU_ADDRESS_CLAMP_TO_EDGE, LW_GPU_ADDRESS_CLAMP_TO_EDGE, LW_GPU_COMPARE_NONE);
    static const lw_gpu_layout_entry entries[3] = {
        {0, LW_GPU_VISIBILITY_VERTEX | LW_GPU_VISIBILITY_FRAGMENT, LW_GPU_BINDING_UNIFORM, 0},
        {1, LW_GPU_VISIBILITY_FRAGMENT, LW_GPU_BINDING_FLOAT, 0},
        {2, LW_GPU_VISIBILITY_FRAGMENT, LW_GPU_BINDING_FILTERING, 0},
    };
    lw_gpu_layout(f, LAYOUT, entries, 3);
    static const lw_gpu_color_target colors[1] = {{LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_BLEND_REPLACE, 0}};
    static const lw_gpu_vertex_buffer buffers[3] = {
        {sizeof(vertex), LW_GPU_STEP_VERTEX, 3}, {sizeof(instance), LW_GPU_STEP_INSTANCE, 1},
        {sizeof(transform), LW_GPU_STEP_INSTANCE, 2}};
    static const lw_gpu_attribute attributes[6] = {
        {0, 0, LW_GPU_VERTEX_FLOAT32X3}, {1, 12, LW_GPU_VERTEX_FLOAT32X3}, {2, 24, LW_GPU_VERTEX_FLOAT32X2},
        {5, 16, LW_GPU_VERTEX_UNORM8X4}, {3, 0, LW_GPU_VERTEX_FLOAT32X4}, {4, 16, LW_GPU_VERTEX_FLOAT32X4}};
    lw_gpu_pipeline_desc pipeline = {
        .rec = {.handle = PIPELINE, .shader = SHADER, .layout_count = 1, .layouts = {LAYOUT},
                .topology = LW_GPU_TOPOLOGY_TRIANGLE_LIST, .cull_mode = LW_GPU_CULL_BACK,
                .front_face = LW_GPU_FRONT_CCW, .depth_format = LW_GPU_FORMAT_DEPTH24PLUS, .depth_write = 1,
                .depth_compare = LW_GPU_COMPARE_LESS, .color_count = 1, .buffer_count = 3, .attribute_count = 6},
        .colors = colors, .buffers = buffers, .attributes = attributes, .vs = "vs", .fs = "fs"};
    lw_gpu_pipeline(f, &pipeline);
    const lw_gpu_bind_entry bind[3] = {
        {0, LW_GPU_KIND_BUFFER, UNIFORMS, 0, 0}, {1, LW_GPU_KIND_TEXTURE, TEXTURE, 0, 0},
        {2, LW_GPU_KIND_SAMPLER, SAMPLER, 0, 0}};
    lw_gpu_bind_group(f, GROUP, LAYOUT, 0, 0, bind, 3);

    /* post-processing: a full-screen triangle with no vertex buffers, its layout derived from post.wgsl */
    lw_gpu_shader(f, POST_SHADER, post, g.post_len);
    lw_gpu_pipeline_desc full_screen = {
        .rec = {.handle = POST_PIPELINE, .shader = POST_SHADER, .topology = LW_GPU_TOPOLOGY_TRIANGLE_LIST, .color_count = 1},
        .colors = colors, .vs = "vs", .fs = "fs"};
    lw_gpu_pipeline(f, &full_screen);
    const lw_gpu_bind_entry scene[2] = {{0, LW_GPU_KIND_TEXTURE, SCENE, 0, 0}, {1, LW_GPU_KIND_SAMPLER, CLAMP, 0, 0}};
    lw_gpu_bind_group(f, POST_GROUP, 0, POST_PIPELINE, 0, scene, 2);

    /* animation: a compute pipeline of the same module, on its auto layout (bindings 0, 3 and 4 of group 0) */
    lw_gpu_compute_pipeline(f, ANIMATE_PIPELINE, SHADER, 0, 0, "animate");
    const lw_gpu_bind_entry anim[3] = {
        {0, LW_GPU_KIND_BUFFER, UNIFORMS, 0, 0}, {3, LW_GPU_KIND_BUFFER, INSTANCES, 0, 0}, {4, LW_GPU_KIND_BUFFER, TRANSFORMS, 0, 0}};
    lw_gpu_bind_group(f, ANIMATE_GROUP, 0, ANIMATE_PIPELINE, 0, anim, 3);
}

static void mul(const float a[16], const float b[16], float out[16]) {
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++) {
            float s = 0;
            for (int k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
            out[c * 4 + r] = s;
        }
}

/* Column-major perspective (WebGPU depth 0..1) times a right-handed look-at the field's centre. */
static void camera(float out[16]) {
    float eye[3] = {sinf(g.yaw) * g.distance, g.height, cosf(g.yaw) * g.distance}, up[3] = {0, 1, 0};
    float len = sqrtf(eye[0] * eye[0] + eye[1] * eye[1] + eye[2] * eye[2]);
    float z[3] = {eye[0] / len, eye[1] / len, eye[2] / len}, x[3], y[3];
    cross(up, z, x);
    float xl = sqrtf(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    for (int i = 0; i < 3; i++) x[i] /= xl;
    cross(z, x, y);
    float view[16] = {x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0,
                      -(x[0] * eye[0] + x[1] * eye[1] + x[2] * eye[2]),
                      -(y[0] * eye[0] + y[1] * eye[1] + y[2] * eye[2]),
                      -(z[0] * eye[0] + z[1] * eye[1] + z[2] * eye[2]), 1};
    float near = 0.5f, far = 200.0f, fy = 1.0f / tanf(0.5f * 1.0471976f);
    float proj[16] = {fy * H / W, 0, 0, 0, 0, fy, 0, 0, 0, 0, far / (near - far), -1, 0, 0, near * far / (near - far), 0};
    mul(proj, view, out);
}

static void utoa(uint32_t v, char *out) {
    char tmp[12];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

void lw_game_render(lw_frame *f) {
    if (!g.shader_len || !g.post_len) {
        lw_clear(f, LW_RGB(60, 0, 0));
        lw_text(f, 8, 8, 12, LW_RGB(255, 255, 255), "a shader did not load");
        return;
    }
    if (lw_gpu_fresh(f)) declare(f);
    globals u = {{0}, {0.4f, 0.9f, 0.3f, 0}, {(float)g.tick, 0, 0, 0}};
    camera(u.view_proj);
    lw_gpu_write_buffer(f, UNIFORMS, 0, &u, sizeof u);
    void *dst = lw_gpu_write_buffer_reserve(f, INSTANCES, 0, sizeof cubes);
    if (dst) __builtin_memcpy(dst, cubes, sizeof cubes);
    lw_gpu_begin_compute_pass(f);
    lw_gpu_set_pipeline(f, ANIMATE_PIPELINE);
    lw_gpu_set_bind_group(f, 0, ANIMATE_GROUP);
    lw_gpu_dispatch(f, (CUBES + WORKGROUP - 1) / WORKGROUP, 1, 1);
    lw_gpu_end_pass(f);
    const lw_gpu_color_attachment target = {SCENE, LW_GPU_LOAD_CLEAR, LW_GPU_STORE_STORE, {0.45f, 0.62f, 0.85f, 1}};
    lw_gpu_begin_pass(f, &target, 1, DEPTH, 1.0f);
    lw_gpu_set_pipeline(f, PIPELINE);
    lw_gpu_set_bind_group(f, 0, GROUP);
    lw_gpu_set_vertex_buffer(f, 0, MESH, 0, 0);
    lw_gpu_set_vertex_buffer(f, 1, INSTANCES, 0, 0);
    lw_gpu_set_vertex_buffer(f, 2, TRANSFORMS, 0, 0);
    lw_gpu_set_index_buffer(f, INDICES, LW_GPU_INDEX_UINT16, 0, sizeof indices);
    lw_gpu_draw_indexed(f, 36, CUBES, 0, 0, 0);
    lw_gpu_end_pass(f);

    const lw_gpu_color_attachment screen = {LW_GPU_FRAME, LW_GPU_LOAD_CLEAR, LW_GPU_STORE_STORE, {0, 0, 0, 1}};
    lw_gpu_begin_pass(f, &screen, 1, 0, 1.0f);
    lw_gpu_set_pipeline(f, POST_PIPELINE);
    lw_gpu_set_bind_group(f, 0, POST_GROUP);
    lw_gpu_draw(f, 3, 1, 0, 0);
    lw_gpu_end_pass(f);

    /* the HUD: the 2D command list draws over the pass */
    char line[48] = "CUBES 4096  TICK ", num[12];
    utoa(g.tick, num);
    int at = 17;
    for (int i = 0; num[i]; i++) line[at++] = num[i];
    line[at] = 0;
    lw_rect(f, 4, 4, 200, 18, 0, 0, LW_RGBA(0, 0, 0, 160));
    lw_text(f, 8, 7, 12, LW_RGB(255, 255, 255), line);
    lw_rect(f, 4, H - 14, (float)(g.recoloured % 200), 6, 0, 0, LW_RGB(255, 200, 40));
}
