/* Opens a file through libc: WASI path_open is not offered, so `layerw build` must refuse it. */
#include <stdio.h>

#include "layerw.h"

static FILE *secret;

void lw_game_init(uint64_t seed) { (void)seed; secret = fopen("/etc/passwd", "r"); }
void lw_game_tick(const lw_input *in) { (void)in; if (secret) fgetc(secret); }
void lw_game_render(lw_frame *f) { lw_clear(f, 0xFF000000u); }
