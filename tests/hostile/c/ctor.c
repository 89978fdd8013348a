/* A constructor that never returns: the loop runs inside _initialize, before lw_init. */
#include "layerw.h"

static volatile unsigned sink;

__attribute__((constructor)) static void forever(void) {
    for (;;) sink++;
}

void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) { (void)in; }
void lw_game_render(lw_frame *f) { lw_clear(f, 0xFF000000u); }
