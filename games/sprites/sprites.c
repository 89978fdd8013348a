/* Sprite stress scene for Layer-W (also the benchmark's workload).
 *
 * N textured, tinted, rotating, animated stars bounce around the screen, all drawn with ONE
 * lw_sprites_reserve batch per frame.
 *   N defaults to SPRITES_DEFAULT (compile with -DSPRITES_DEFAULT=...) and is overridden at
 *   start-up by the asset config.txt holding "count=N" (preloaded; if a host streams it instead,
 *   it is applied when its LW_EVENT_ASSET_READY arrives).
 *   At run time: Equal / ArrowUp / gamepad up adds 1000 sprites, Minus / ArrowDown / gamepad
 *   down removes 1000 (1 .. SPRITES_MAX).
 * No input is needed: the scene animates by itself.
 *
 * The command buffer holds LW_COMMAND_CAPACITY bytes (4 MiB) and a sprite record takes 48, so one
 * frame can draw about 87000 sprites; beyond that the scene simulates all N but draws the first
 * ones that fit, and says so on screen.
 */
#include <math.h>
#include "layerw.h"

#ifndef SPRITES_DEFAULT
#define SPRITES_DEFAULT 10000
#endif
#define SPRITES_MAX 100000
#define W 640
#define H 360
#define CELL 32        /* sheet.png: 4 frames of CELL x CELL side by side */
#define FRAMES 4
#define FRAME_TICKS 6
#define STEP 1000

typedef struct {
    float x, y, vx, vy;   /* centre and velocity, px per tick */
    float rot, vrot, size;
    uint32_t tint;
} sprite;

static sprite sprites[SPRITES_MAX];

static struct {
    uint64_t rng;
    uint32_t tick;
    int32_t tex, config;
    int config_applied;
    uint32_t count;
    int keys_were_down;
} g;

/* ---- deterministic randomness: xorshift64* seeded from lw_game_init ---- */
static uint32_t rnd(void) {
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (uint32_t)((g.rng * 0x2545F4914F6CDD1DULL) >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) * (1.0f / 16777216.0f); }

static void spawn(sprite *s) {
    float a = rndf(0, 6.2831853f), v = rndf(0.4f, 2.5f);
    s->size = rndf(6, 22);
    s->x = rndf(s->size, W - s->size);
    s->y = rndf(s->size, H - s->size);
    s->vx = cosf(a) * v;
    s->vy = sinf(a) * v;
    s->rot = rndf(0, 6.2831853f);
    s->vrot = rndf(-0.08f, 0.08f);
    /* bright, saturated tint: one channel high, one low, one random */
    uint32_t c[3] = {255, 60 + rnd() % 60, rnd() % 256};
    uint32_t k = rnd() % 3;
    s->tint = LW_RGBA(c[k], c[(k + 1) % 3], c[(k + 2) % 3], 230);
}

static void set_count(uint32_t n) {
    if (n < 1) n = 1;
    if (n > SPRITES_MAX) n = SPRITES_MAX;
    for (uint32_t i = g.count; i < n; i++) spawn(&sprites[i]);
    g.count = n;
}

/* Reads "count=N" from config.txt once it is ready; returns 1 when applied. */
static int apply_config(void) {
    char buf[64];
    int32_t size = lw_asset_size(g.config);
    if (size < 0) return 0;
    int32_t n = lw_asset_read(g.config, 0, buf, size < 63 ? size : 63);
    if (n < 0) return 0;
    buf[n] = 0;
    for (int i = 0; i + 6 <= n; i++) {
        if (buf[i] == 'c' && buf[i + 1] == 'o' && buf[i + 2] == 'u' && buf[i + 3] == 'n'
            && buf[i + 4] == 't' && buf[i + 5] == '=') {
            uint32_t v = 0;
            int j = i + 6, digits = 0;
            while (j < n && buf[j] >= '0' && buf[j] <= '9' && digits < 9) { v = v * 10 + (uint32_t)(buf[j] - '0'); j++; digits++; }
            if (digits) {
                g.count = 0;   /* respawn from scratch so the scene only depends on seed and N */
                set_count(v);
            }
            break;
        }
    }
    return 1;
}

void lw_game_init(uint64_t seed) {
    g.rng = seed ^ 0x9E3779B97F4A7C15ULL;
    if (g.rng == 0) g.rng = 1;
    g.tex = lw_asset("sheet.png");
    g.config = lw_asset("config.txt");
    set_count(SPRITES_DEFAULT);
    if (g.config > 0) g.config_applied = apply_config();
}

void lw_game_tick(const lw_input *in) {
    g.tick = in->tick;

    for (uint32_t e = 0; e < in->event_count && e < LW_MAX_EVENTS; e++)
        if (in->events[e].kind == LW_EVENT_ASSET_READY && (int32_t)in->events[e].a == g.config && !g.config_applied)
            g.config_applied = apply_config();

    /* +/- 1000 sprites, once per key press */
    const lw_player *p = &in->players[0];
    const lw_gamepad *gp = &p->gamepads[0];
    int more = lw_key_down(p, LW_KEY_EQUAL) || lw_key_down(p, LW_KEY_ARROWUP) || lw_pad_down(gp, LW_PAD_UP);
    int less = lw_key_down(p, LW_KEY_MINUS) || lw_key_down(p, LW_KEY_ARROWDOWN) || lw_pad_down(gp, LW_PAD_DOWN);
    int down = more | (less << 1);
    if (more && !(g.keys_were_down & 1)) set_count(g.count + STEP);
    if (less && !(g.keys_were_down & 2)) set_count(g.count > STEP ? g.count - STEP : 1);
    g.keys_were_down = down;

    for (uint32_t i = 0; i < g.count; i++) {
        sprite *s = &sprites[i];
        float half = s->size * 0.5f;
        s->x += s->vx;
        s->y += s->vy;
        if (s->x < half) { s->x = half; s->vx = -s->vx; }
        else if (s->x > W - half) { s->x = W - half; s->vx = -s->vx; }
        if (s->y < half) { s->y = half; s->vy = -s->vy; }
        else if (s->y > H - half) { s->y = H - half; s->vy = -s->vy; }
        s->rot += s->vrot;
        if (s->rot > 6.2831853f) s->rot -= 6.2831853f;
        else if (s->rot < 0) s->rot += 6.2831853f;
    }
}

/* ---- drawing (reads state only) ---- */

static char *put_uint(char *out, uint32_t v) {
    char tmp[12];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *out++ = tmp[--n];
    *out = 0;
    return out;
}
static char *put_str(char *out, const char *s) {
    while (*s) *out++ = *s++;
    *out = 0;
    return out;
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(12, 12, 24));

    /* one batch: as many sprites as the command buffer still holds, minus room for the HUD */
    const uint32_t hud_reserve = 512 / sizeof(lw_sprite_rec) + 1;
    uint32_t room = lw_frame_room(f, sizeof(lw_sprite_rec));
    uint32_t n = room > hud_reserve ? room - hud_reserve : 0;
    if (n > g.count) n = g.count;

    lw_sprite_rec *r = n ? lw_sprites_reserve(f, (uint32_t)g.tex, n) : NULL;
    if (r) {
        uint32_t base = g.tick / FRAME_TICKS;
        for (uint32_t i = 0; i < n; i++, r++) {
            const sprite *s = &sprites[i];
            float half = s->size * 0.5f;
            r->x = s->x - half;
            r->y = s->y - half;
            r->w = s->size;
            r->h = s->size;
            r->sx = (float)(((base + i) % FRAMES) * CELL);
            r->sy = 0;
            r->sw = CELL;
            r->sh = CELL;
            r->rotation = s->rot;
            r->tint = s->tint;
            r->flags = (i & 1) ? LW_FLIP_X : 0;
            r->reserved = 0;
        }
    }

    /* HUD: counters on a dark panel (font cells are 8 px wide at size 12) */
    char line[64], *q = line;
    q = put_str(q, "SPRITES ");
    q = put_uint(q, g.count);
    q = put_str(q, "  TICK ");
    q = put_uint(q, g.tick);
    float w1 = (float)(q - line) * LW_FONT_CELL_W;
    if (n < g.count) {
        char warn[64], *e = put_str(warn, "DRAWN ");
        e = put_uint(e, n);
        e = put_str(e, " (COMMAND BUFFER FULL)");
        float w2 = (float)(e - warn) * LW_FONT_CELL_W;
        lw_rect(f, 4, 4, (w1 > w2 ? w1 : w2) + 8, 34, 0, 0, LW_RGBA(0, 0, 0, 200));
        lw_text(f, 8, 23, 12, LW_RGB(255, 120, 120), warn);
    } else {
        lw_rect(f, 4, 4, w1 + 8, 18, 0, 0, LW_RGBA(0, 0, 0, 200));
    }
    lw_text(f, 8, 7, 12, LW_RGB(255, 255, 255), line);
}
