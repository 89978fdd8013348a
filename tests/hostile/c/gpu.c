/* A hostile GPU game: the seed picks how its frame misuses the GPU API (see test_gpu.py). */
#include "layerw_gpu.h"

enum { CALM, HUGE_DRAW, BAD_HANDLE, BAD_WGSL, MEMORY_BOMB, TAIL_PAST_END, DRAW_FLOOD, PASS_LEFT_OPEN, FRAME_TEXTURE_WRITE };
static uint32_t mode;
static const char wgsl[] =
    "@vertex fn vs(@location(0) p: vec2f) -> @builtin(position) vec4f { return vec4f(p, 0.5, 1.0); }\n"
    "@fragment fn fs() -> @location(0) vec4f { return vec4f(1.0, 0.0, 0.0, 1.0); }\n";
static const float tri[6] = {-1, -1, 1, -1, -1, 1};

void lw_game_init(uint64_t seed) { mode = (uint32_t)seed; }
void lw_game_tick(const lw_input *in) { (void)in; }

static void declare(lw_frame *f) {
    lw_gpu_reset(f);
    lw_gpu_shader(f, 1, mode == BAD_WGSL ? "@@@ not wgsl" : wgsl, mode == BAD_WGSL ? 12 : sizeof wgsl - 1);
    lw_gpu_buffer(f, 1, sizeof tri, LW_GPU_BUFFER_VERTEX | LW_GPU_BUFFER_COPY_DST);
    lw_gpu_write_buffer(f, 1, 0, tri, sizeof tri);
    lw_gpu_color_target color = {LW_GPU_FORMAT_RGBA8UNORM, LW_GPU_BLEND_REPLACE, 0};
    lw_gpu_vertex_buffer buffer = {8, LW_GPU_STEP_VERTEX, 1};
    lw_gpu_attribute attribute = {0, 0, LW_GPU_VERTEX_FLOAT32X2};
    lw_gpu_pipeline_desc d = {.rec = {.handle = 1, .shader = 1, .color_count = 1, .buffer_count = 1, .attribute_count = 1},
                              .colors = &color, .buffers = &buffer, .attributes = &attribute, .vs = "vs", .fs = "fs"};
    lw_gpu_pipeline(f, &d);
}

void lw_game_render(lw_frame *f) {
    if (lw_gpu_fresh(f)) declare(f);
    if (mode == MEMORY_BOMB)
        for (uint32_t h = 10; h < 4000; h++) lw_gpu_buffer(f, h, LW_GPU_MAX_BUFFER_BYTES, LW_GPU_BUFFER_STORAGE);
    if (mode == TAIL_PAST_END) {
        lw_cmd *h = (lw_cmd *)(f->buf + f->len);
        h->op = LW_GPU_WRITE_BUFFER; h->count = 1; h->arg = 0xFFFFFFF0u; h->reserved = 0;
        f->len += sizeof(lw_cmd) + sizeof(lw_gpu_write_buffer_rec);
        return;
    }
    if (mode == FRAME_TEXTURE_WRITE) lw_gpu_write_texture(f, LW_GPU_FRAME, 0, 0, 1, 1, 4, tri);
    const lw_gpu_color_attachment screen = {LW_GPU_FRAME, LW_GPU_LOAD_CLEAR, LW_GPU_STORE_STORE, {0, 0, 0, 1}};
    lw_gpu_begin_pass(f, &screen, 1, 0, 1.0f);
    lw_gpu_set_pipeline(f, mode == BAD_HANDLE ? 4000 : 1);
    lw_gpu_set_vertex_buffer(f, 0, 1, 0, 0);
    if (mode == HUGE_DRAW) lw_gpu_draw(f, 0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0);
    else if (mode == DRAW_FLOOD) while (lw_frame_room(f, sizeof(lw_gpu_draw_rec)) > 0) lw_gpu_draw(f, 3, 1, 0, 0);
    else lw_gpu_draw(f, 3, 1, 0, 0);
    if (mode != PASS_LEFT_OPEN) lw_gpu_end_pass(f);
}
