/* One hostile game, many behaviours: the seed picks which (tests/hostile/test_c_modules.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerw.h"

enum {
    CALM, LOOP_INIT, LOOP_TICK, LOOP_RENDER, RECURSE, MALLOC_BOMB, STACK_ARRAY, DIVIDE_BY_ZERO, BAD_FUNCTION_POINTER,
    ABORT, EXIT, PRINTF_FLOOD, WILD_POINTER, HUGE_COUNT, BAD_OPCODE, WRAPPING_COUNT, LENGTH_PAST_BUFFER,
    TEXT_OVERRUN, ABSURD_SPRITES, FULL_BUFFER, ASSET_PAST_END, CLOBBER_IO,
};

static uint32_t mode;
static volatile uint32_t sink;
extern lw_io lw__io;

static uint32_t deep(uint32_t n) {
    volatile uint8_t frame[512];
    frame[n & 511] = (uint8_t)n;
    return deep(n + 1) + frame[(n * 7) & 511];
}

static void spin(void) {
    for (;;) sink++;
}

/* The host must answer each hostile asset read exactly so; anything else traps (a test failure). */
static void asset_reads(void) {
    static uint8_t buf[64];
    int32_t h = lw_asset("data.bin");
    int32_t size = lw_asset_size(h);
    if (h <= 0 || size != 100) __builtin_trap();
    if (lw_asset_read(h, size + 10, buf, 16) != 0) __builtin_trap();             /* offset past the end */
    if (lw_asset_read(h, 90, buf, 64) != 10) __builtin_trap();                   /* runs over the end */
    if (lw_asset_read(h, -1, buf, 16) != -1) __builtin_trap();                   /* negative offset */
    if (lw_asset_read(h, 0, buf, -16) != -1) __builtin_trap();                   /* negative length */
    if (lw_asset_read(h, 0, (void *)0xFFFFFFF0u, 64) != -1) __builtin_trap();    /* destination past memory */
    if (lw_asset_read(h + 7, 0, buf, 16) != -1) __builtin_trap();                /* unknown handle */
    if (lw_asset_request((const char *)0xFFFFFF00u, 200) != -1) __builtin_trap(); /* name past memory */
    if (lw_asset("../../../../etc/passwd") != -1) __builtin_trap();                /* path traversal */
    if (lw_asset("/etc/passwd") != -1) __builtin_trap();
}

void lw_game_init(uint64_t seed) {
    mode = (uint32_t)seed;
    if (mode == LOOP_INIT) spin();
    if (mode == CLOBBER_IO) memset(&lw__io, 0xFF, sizeof lw__io);
}

static char *volatile kept; /* so the compiler cannot elide the allocations */

__attribute__((noinline)) static void malloc_bomb(void) {
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) abort();
        memset(p, 1, 1 << 20);
        kept = p;
    }
}

__attribute__((noinline)) static void stack_array(void) {
    volatile char big[1 << 20]; /* four times the shadow stack */
    big[sink & 0xFFFFF] = 1;
    sink += (uint32_t)big[0];
}

__attribute__((noinline)) static void printf_flood(void) {
    for (;;) printf("flood %u\n", sink++);
}

static volatile uint32_t zero;

void lw_game_tick(const lw_input *in) {
    (void)in;
    switch (mode) {
    case LOOP_TICK: spin(); break;
    case RECURSE: sink = deep(0); break;
    case MALLOC_BOMB: malloc_bomb(); break;
    case STACK_ARRAY: stack_array(); break;
    case DIVIDE_BY_ZERO: sink = (sink + 12345u) / zero; break;
    case BAD_FUNCTION_POINTER: ((void (*)(void))(uintptr_t)(0xDEADu + sink))(); break;
    case ABORT: abort();
    case EXIT: exit(3);
    case PRINTF_FLOOD: printf_flood(); break;
    case WILD_POINTER: *(volatile uint32_t *)(uintptr_t)(0xFFFFFFF0u - sink) = 1; break;
    case ASSET_PAST_END: asset_reads(); break;
    default: break;
    }
}

static void raw(lw_frame *f, uint32_t op, uint32_t count, uint32_t arg, uint32_t body) {
    lw_cmd *h = (lw_cmd *)(f->buf + f->len);
    h->op = op; h->count = count; h->arg = arg; h->reserved = 0;
    f->len += (uint32_t)sizeof *h + body;
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, 0xFF000000u);
    switch (mode) {
    case LOOP_RENDER: spin(); break;
    case HUGE_COUNT: raw(f, LW_OP_SPRITES, 0xFFFFFFFFu, 1, 0); break;
    case BAD_OPCODE: raw(f, 0xBADu, 1, 0, 16); break;
    case WRAPPING_COUNT: raw(f, LW_OP_SPRITES, (uint32_t)(0x100000000ull / sizeof(lw_sprite_rec)) + 1, 1, 48); break;
    case LENGTH_PAST_BUFFER: f->len = f->cap + 4096; break;
    case TEXT_OVERRUN: raw(f, LW_OP_TEXT, 1, 0xFFFFFFF0u, sizeof(lw_text_rec)); break;
    case ABSURD_SPRITES:
        for (int i = 0; i < 2000; i++) {
            float v = (i % 3 == 0) ? 1e30f : (i % 3 == 1) ? -1e30f : __builtin_nanf("");
            lw_sprite(f, (uint32_t)i, v, -v, 1e30f, v, 0, 0, 1e9f, -1e9f, v, 0xFFFFFFFFu, 0xFFFFFFFFu);
        }
        break;
    case FULL_BUFFER:
        while (lw_frame_room(f, sizeof(lw_rect_rec)) > 0) lw_rect(f, 1, 2, 3, 4, 0, 0, 0xFFFFFFFFu);
        for (int i = 0; i < 1000; i++) lw_rect(f, 1, 2, 3, 4, 0, 0, 0xFFFFFFFFu); /* dropped, counted */
        break;
    default: lw_text(f, 4, 4, 8, 0xFFFFFFFFu, "calm"); break;
    }
}
