/* Native host for games/sprites/sprites.c: stubs the layerw imports it uses (the preloaded
   config.txt says count=10000) and defines run(ticks): the first call runs lw_game_init(0), every
   call advances the scene `ticks` ticks, as lw_tick does in wasm. Linked with native_main.c. */
#include <string.h>
#include "layerw.h"
#include "kernel.h"

enum { SHEET = 1, CONFIG = 2 };
static const char config[] = "count=10000";

int32_t lw_asset_request(const char *name, int32_t len) {
    if (len == 9 && memcmp(name, "sheet.png", 9) == 0) return SHEET;
    if (len == 10 && memcmp(name, "config.txt", 10) == 0) return CONFIG;
    return -1;
}
int32_t lw_asset_size(int32_t handle) { return handle == CONFIG ? (int32_t)strlen(config) : -1; }
int32_t lw_asset_read(int32_t handle, int32_t offset, void *dst, int32_t len) {
    int32_t size = lw_asset_size(handle);
    if (size < 0 || offset < 0 || offset > size) return -1;
    if (len > size - offset) len = size - offset;
    memcpy(dst, config + offset, (size_t)len);
    return len;
}
int32_t lw_image_size(int32_t handle) { return handle == SHEET ? (128 << 16) | 32 : -1; }
void lw_log(int32_t level, const char *ptr, int32_t len) { (void)level; (void)ptr; (void)len; }

static lw_input input;
static int started;

double run(int iterations) {
    if (!started) {
        lw_game_init(0);
        input.player_count = 1;
        input.players[0].connected = 1;
        started = 1;
    }
    for (int t = 0; t < iterations; t++) {
        lw_game_tick(&input);
        input.tick++;
    }
    return (double)input.tick;
}
