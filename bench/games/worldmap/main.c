/* Benchmark game: a 1 MiB world that changes a little each tick (a few cells dug per player),
   the shape of most real games' memory — lots of level data, a small moving part. */
#include "layerw.h"

#define SIDE 1024
static uint8_t world[SIDE][SIDE]; /* 1 MiB */
static uint32_t rng, digs;
static int32_t px[LW_MAX_PLAYERS], py[LW_MAX_PLAYERS];

static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

void lw_game_init(uint64_t seed) {
    rng = (uint32_t)seed | 1u;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) world[y][x] = (uint8_t)(next() & 3);
    for (int i = 0; i < LW_MAX_PLAYERS; i++) { px[i] = SIDE / 2; py[i] = SIDE / 2; }
}

void lw_game_tick(const lw_input *in) {
    for (uint32_t i = 0; i < in->player_count && i < LW_MAX_PLAYERS; i++) {
        const lw_player *p = &in->players[i];
        px[i] = (px[i] + lw_key_down(p, LW_KEY_ARROWRIGHT) - lw_key_down(p, LW_KEY_ARROWLEFT) + SIDE) % SIDE;
        py[i] = (py[i] + lw_key_down(p, LW_KEY_ARROWDOWN) - lw_key_down(p, LW_KEY_ARROWUP) + SIDE) % SIDE;
        world[py[i]][px[i]] = 0;
    }
    if ((in->tick & 7) == 0) { world[next() % SIDE][next() % SIDE] ^= 1; digs++; }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(10, 10, 10));
    for (int i = 0; i < LW_MAX_PLAYERS; i++) lw_rect(f, (float)(px[i] / 4), (float)(py[i] / 4), 2, 2, 0, 0, LW_RGB(255, 200, 0));
}
