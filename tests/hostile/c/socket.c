/* Imports a host function nobody grants: `layerw build` must refuse it (ContractError). */
#include "layerw.h"

__attribute__((import_module("env"), import_name("socket"))) int socket(int domain, int type, int protocol);

static int fd;

void lw_game_init(uint64_t seed) { fd = socket(2, 1, (int)seed); }
void lw_game_tick(const lw_input *in) { (void)in; }
void lw_game_render(lw_frame *f) { lw_clear(f, (uint32_t)fd); }
