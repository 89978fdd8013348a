/* A game that fails on purpose at a known line: the seed picks how (tests/runtime/test_symbols.py).
 * The test finds each failing line by its marker comment, so edits above them keep the test valid. */
#include <stdint.h>

#include "layerw.h"

enum { CALM, WILD_STORE, TRAP, SPIN, HEAVY, DIVIDE };

static uint32_t mode;
static volatile uint32_t sink;

void lw_game_init(uint64_t seed) {
    mode = (uint32_t)seed;
}

__attribute__((noinline)) static void store_far(uint32_t at) {
    *(volatile uint32_t *)(uintptr_t)(0xFFFFFFF0u - at) = 1; /* MARK: wild store */
}

__attribute__((noinline)) static void give_up(void) {
    __builtin_trap(); /* MARK: trap */
}

__attribute__((noinline)) static void spin(void) {
    for (;;) sink++; /* MARK: spin */
}

__attribute__((noinline)) static uint32_t churn(uint32_t n) {
    uint32_t h = n;
    for (uint32_t i = 0; i < 20000; i++) h = h * 2654435761u + i; /* MARK: churn */
    return h;
}

__attribute__((noinline)) static int32_t share(int32_t total, int32_t players) {
    return total / players; /* MARK: divide */
}

void lw_game_tick(const lw_input *in) {
    if (in->tick < 3) return;
    switch (mode) {
    case WILD_STORE: store_far(sink); break;
    case TRAP: give_up(); break;
    case SPIN: spin(); break;
    case HEAVY: sink += churn((uint32_t)in->tick); break;
    case DIVIDE: sink += (uint32_t)share((int32_t)in->tick, (int32_t)sink); break;
    default: break;
    }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, 0xFF000000u);
}
