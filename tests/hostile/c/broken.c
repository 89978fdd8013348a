/* Does not compile: `layerw build` must refuse it with the compiler's diagnostics (CompileError). */
#include "layerw.h"

void lw_game_init(uint64_t seed) { return seed; }
void lw_game_tick(const lw_input *in) { undefined_function(in); }
void lw_game_render(lw_frame *f) { lw_clear(f, 0); }
