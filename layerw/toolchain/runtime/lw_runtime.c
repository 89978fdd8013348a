/* Layer-W guest runtime: the entry points every game exports. Linked into each game by
   `layerw build`; the game itself writes lw_game_init, lw_game_tick and lw_game_render.
   Component builds (-DLW_COMPONENT) export these through lw_component.c instead, with the same
   memory layout: the blocks below are the only state this runtime owns. */
#include "layerw.h"

#ifdef LW_COMPONENT
#define LW__EXPORT(name)
#else
#define LW__EXPORT(name) __attribute__((export_name(name)))
#endif

extern unsigned char __global_base; /* end of the shadow stack: game state starts here */

lw_input lw__input;
uint8_t lw__commands[LW_COMMAND_CAPACITY] __attribute__((aligned(16)));
lw_io lw__io;
uint8_t lw__sound[LW_SOUND_CAPACITY] __attribute__((aligned(16)));  /* state: each tick rewrites it */

LW__EXPORT("lw_init")
uint32_t lw_init(uint32_t seed_lo, uint32_t seed_hi) {
    lw__io.magic = LW_IO_MAGIC;
    lw__io.abi_version = LW_ABI_VERSION;
    lw__io.input_ptr = (uint32_t)(uintptr_t)&lw__input;
    lw__io.input_size = (uint32_t)sizeof lw__input;
    lw__io.cmd_ptr = (uint32_t)(uintptr_t)lw__commands;
    lw__io.cmd_capacity = (uint32_t)sizeof lw__commands;
    lw__io.state_begin = (uint32_t)(uintptr_t)&__global_base;
    lw__io.snd_ptr = (uint32_t)(uintptr_t)lw__sound;
    lw__io.snd_capacity = (uint32_t)sizeof lw__sound;
    lw__io.snd_len = 0;
    lw__io.snd_dropped = 0;
    lw_game_init(((uint64_t)seed_hi << 32) | seed_lo);
    return (uint32_t)(uintptr_t)&lw__io;
}

LW__EXPORT("lw_tick")
void lw_tick(void) {
    lw__io.snd_len = 0;  /* the sound block holds this tick's commands only */
    lw__io.snd_dropped = 0;
    lw_game_tick(&lw__input);
}

LW__EXPORT("lw_render")
uint32_t lw_render(void) {
    /* A frame never reaches the buffer's scratch tail (LW_COMMAND_SCRATCH bytes), whose last 4 bytes
       hold how many records did not fit, for the host to report: render writes nothing outside the
       command buffer, so it never changes game state. */
    /* The GPU mark (in the scratch tail, so not state and zero in a fresh instance, which is what a
       start, a restore and a join make) tells the first frame to declare its GPU resources. */
    uint32_t *declared = (uint32_t *)(lw__commands + sizeof lw__commands - LW_GPU_DECLARED_MARK);
    lw_frame frame = {lw__commands, 0, sizeof lw__commands - LW_COMMAND_SCRATCH, 0xFFFFFFFFu, 0, *declared == 0, 0, {{0}}};
    lw_game_render(&frame);
    *declared = 1;
    *(uint32_t *)(lw__commands + sizeof lw__commands - 4) = frame.dropped;
    return frame.len;
}
