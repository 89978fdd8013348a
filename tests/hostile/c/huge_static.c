/* 64 MiB of zero-initialised state: its initial memory is above a 16 MiB cap (GameOutOfMemory). */
#include "layerw.h"

static unsigned char world[64 << 20];

void lw_game_init(uint64_t seed) { world[seed & 0xFFFF] = 1; }
void lw_game_tick(const lw_input *in) { (void)in; world[1]++; }
void lw_game_render(lw_frame *f) { lw_clear(f, world[1]); }
