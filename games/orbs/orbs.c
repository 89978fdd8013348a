/* Orbs: N circles whose motion comes from the physics plugin the host links at load time. */
#include "layerw.h"
#include "layerw_physics.h"

#define N 24
#define W 320.0f
#define H 240.0f

static lw_body bodies[N];
static uint64_t rng;

static uint32_t next(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

void lw_game_init(uint64_t seed) {
    rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (uint32_t i = 0; i < N; i++) {
        float r = 4.0f + (float)(next() % 7);
        bodies[i] = (lw_body){
            .x = r + (float)(next() % (uint32_t)(W - 2 * r)), .y = r + (float)(next() % (uint32_t)(H - 2 * r)),
            .vx = (float)(next() % 161) - 80.0f, .vy = (float)(next() % 161) - 80.0f,
            .radius = r, .mass = r * r, .tag = i,
        };
    }
}

void lw_game_tick(const lw_input *in) {
    (void)in;
    lw_physics_step(bodies, N, W, H, 1.0f / LW_DEFAULT_TICK_RATE);
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(12, 14, 30));
    for (uint32_t i = 0; i < N; i++) {
        const lw_body *b = &bodies[i];
        lw_circle(f, b->x, b->y, b->radius, 0.0f, LW_RGB(80 + (b->tag * 37) % 176, 120 + (b->tag * 53) % 136, 220));
    }
    lw_text(f, 4, 4, 12, LW_RGB(220, 220, 220), "orbs");
}
