/* Asteroids for Layer-W.
 *
 * How to play: shoot the rocks; big ones split in two, small ones vanish. Clear a wave for the
 * next, bigger one. 3 lives, an extra one every 10000 points. The screen wraps around.
 *   Keyboard: ArrowLeft/ArrowRight or A/D rotate, ArrowUp or W thrust, Space fires.
 *   Gamepad:  left stick / d-pad rotate, stick up / d-pad up / B / RT thrust, A / RB fires.
 *   Game over: Space, Enter or Start plays again.
 * Every connected player's devices steer the one ship. With no input for 3 seconds an
 * autopilot takes over (attract mode): it turns toward the nearest rock and fires.
 * Sound: shots, explosions and the thrust's rumble are synth voices (lw_sound_tone); the music, from
 * a player's first move on, is an Ogg Vorbis asset (built to the canonical WAV) streamed from the
 * store, looping on voice 0.
 */
#include <math.h>
#include "layerw.h"

#define W 400
#define H 300
#define PI 3.14159265f
#define MAX_ROCKS 128
#define MAX_BULLETS 48
#define MAX_PARTICLES 768
#define STARS 90
#define IDLE_TICKS 180
#define TURN_SPEED 0.075f
#define THRUST 0.07f
#define DRAG 0.992f
#define MAX_SPEED 4.0f
#define BULLET_SPEED 6.5f
#define BULLET_LIFE 48
#define FIRE_COOLDOWN 7
#define SHIP_RADIUS 7.0f
#define RESPAWN_TICKS 90
#define INVULN_TICKS 150
#define EXTRA_LIFE_EVERY 10000

typedef struct { float x, y, vx, vy, rot, vrot; uint32_t tint; uint8_t size, variant, alive; } rock;
typedef struct { float x, y, vx, vy; int life; } bullet;
typedef struct { float x, y, vx, vy, size; int life, max_life; uint32_t color; } particle;

static const float rock_radius[3] = {24.0f, 13.0f, 7.0f};
static const float rock_speed[3] = {0.6f, 1.0f, 1.5f};
static const int rock_points[3] = {20, 50, 100};

static struct {
    uint64_t rng;
    uint32_t tick;
    int32_t tex_ship, tex_rock, music;  /* music: 0 until a player first takes the controls */
    uint32_t music_at;                  /* the tick the music starts */
    int thrust_ticks;                   /* ticks the thrust sound has been held */
    float sx, sy, svx, svy, angle;      /* the ship */
    int ship_alive, respawn_timer, invuln, fire_cooldown, thrusting;
    int score, lives, wave, next_wave_timer, next_extra_life;
    int game_over, over_timer, restart_was_down;
    uint32_t idle;
    rock rocks[MAX_ROCKS];
    bullet bullets[MAX_BULLETS];
    particle parts[MAX_PARTICLES];
    int part_next;
    float star_x[STARS], star_y[STARS];
    uint8_t star_phase[STARS];
} g;

/* ---- deterministic randomness: xorshift64* seeded from lw_game_init ---- */
static uint32_t rnd(void) {
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (uint32_t)((g.rng * 0x2545F4914F6CDD1DULL) >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) * (1.0f / 16777216.0f); }

static float wrapf(float v, float size) { return v < 0 ? v + size : v >= size ? v - size : v; }
/* Shortest signed difference b - a on a wrapping axis. */
static float wrap_delta(float a, float b, float size) {
    float d = b - a;
    if (d > size * 0.5f) d -= size;
    if (d < -size * 0.5f) d += size;
    return d;
}
static float angle_diff(float a, float b) {
    float d = fmodf(b - a, 2 * PI);
    if (d > PI) d -= 2 * PI;
    if (d < -PI) d += 2 * PI;
    return d;
}

/* ---- spawning ---- */

static void add_rock(float x, float y, int size) {
    for (int i = 0; i < MAX_ROCKS; i++) {
        rock *r = &g.rocks[i];
        if (r->alive) continue;
        float a = rndf(0, 2 * PI), sp = rock_speed[size] * rndf(0.6f, 1.4f);
        static const uint32_t tints[] = {
            LW_RGB(255, 255, 255), LW_RGB(255, 210, 170), LW_RGB(190, 220, 255),
            LW_RGB(210, 255, 200), LW_RGB(255, 190, 220),
        };
        *r = (rock){x, y, cosf(a) * sp, sinf(a) * sp, rndf(0, 2 * PI), rndf(-0.04f, 0.04f),
                    tints[rnd() % 5], (uint8_t)size, (uint8_t)(rnd() % 3), 1};
        return;
    }
}

static void burst(float x, float y, int n, float speed, uint32_t color, int life) {
    for (int i = 0; i < n; i++) {
        particle *p = &g.parts[g.part_next];
        g.part_next = (g.part_next + 1) % MAX_PARTICLES;
        float a = rndf(0, 2 * PI), s = rndf(0.2f, speed);
        int l = life / 2 + (int)(rnd() % (uint32_t)(life / 2 + 1));
        *p = (particle){x, y, cosf(a) * s, sinf(a) * s, rndf(1.0f, 2.5f), l, l, color};
    }
}

static void start_wave(void) {
    g.wave++;
    int n = 2 + g.wave;
    if (n > 10) n = 10;
    for (int i = 0; i < n; i++) {
        /* somewhere on the screen edge, away from the ship */
        float x, y;
        if (rnd() & 1) { x = rndf(0, W); y = (rnd() & 1) ? 0 : H - 1; }
        else { x = (rnd() & 1) ? 0 : W - 1; y = rndf(0, H); }
        add_rock(x, y, 0);
    }
}

static void spawn_ship(void) {
    g.sx = W * 0.5f; g.sy = H * 0.5f;
    g.svx = g.svy = 0;
    g.angle = -PI * 0.5f;
    g.ship_alive = 1;
    g.invuln = INVULN_TICKS;
}

static void new_game(void) {
    for (int i = 0; i < MAX_ROCKS; i++) g.rocks[i].alive = 0;
    for (int i = 0; i < MAX_BULLETS; i++) g.bullets[i].life = 0;
    g.score = 0; g.lives = 3; g.wave = 0;
    g.next_extra_life = EXTRA_LIFE_EVERY;
    g.game_over = 0; g.over_timer = 0; g.next_wave_timer = 0;
    spawn_ship();
    start_wave();
}

void lw_game_init(uint64_t seed) {
    g.rng = seed ^ 0x9E3779B97F4A7C15ULL;
    if (g.rng == 0) g.rng = 1;
    g.tex_ship = lw_asset("ship.png");
    g.tex_rock = lw_asset("asteroid.png");
    for (int i = 0; i < STARS; i++) {
        g.star_x[i] = rndf(0, W);
        g.star_y[i] = rndf(0, H);
        g.star_phase[i] = (uint8_t)rnd();
    }
    g.idle = IDLE_TICKS;   /* start in attract mode */
    new_game();
}

/* ---- input ---- */

typedef struct { float turn; int thrust, fire, restart, any; } controls;

static controls read_controls(const lw_input *in) {
    controls c = {0, 0, 0, 0, 0};
    uint32_t n = in->player_count < 1 ? 1 : in->player_count;
    for (uint32_t i = 0; i < n && i < LW_MAX_PLAYERS; i++) {
        const lw_player *p = &in->players[i];
        c.turn += (float)(lw_key_down(p, LW_KEY_ARROWRIGHT) || lw_key_down(p, LW_KEY_KEYD))
                - (float)(lw_key_down(p, LW_KEY_ARROWLEFT) || lw_key_down(p, LW_KEY_KEYA));
        c.thrust |= lw_key_down(p, LW_KEY_ARROWUP) || lw_key_down(p, LW_KEY_KEYW);
        c.fire |= lw_key_down(p, LW_KEY_SPACE);
        c.restart |= lw_key_down(p, LW_KEY_SPACE) || lw_key_down(p, LW_KEY_ENTER);
        for (int k = 0; k < LW_MAX_GAMEPADS; k++) {
            const lw_gamepad *gp = &p->gamepads[k];
            if (!gp->connected) continue;
            float ax = gp->axes[0];
            if (ax > 0.3f || ax < -0.3f) c.turn += ax;
            c.turn += (float)(lw_pad_down(gp, LW_PAD_RIGHT) - lw_pad_down(gp, LW_PAD_LEFT));
            c.thrust |= gp->axes[1] < -0.5f || lw_pad_down(gp, LW_PAD_UP) || lw_pad_down(gp, LW_PAD_B)
                      || lw_pad_down(gp, LW_PAD_RT);
            c.fire |= lw_pad_down(gp, LW_PAD_A) || lw_pad_down(gp, LW_PAD_RB);
            c.restart |= lw_pad_down(gp, LW_PAD_START) || lw_pad_down(gp, LW_PAD_A);
        }
    }
    if (c.turn > 1) c.turn = 1;
    if (c.turn < -1) c.turn = -1;
    c.any = c.turn != 0 || c.thrust || c.fire || c.restart;
    return c;
}

/* Attract mode: aim at the nearest rock, fire when lined up, keep drifting a little. */
static controls autopilot(void) {
    controls c = {0, 0, 0, 0, 0};
    float best = 1e9f, dx = 0, dy = 0;
    for (int i = 0; i < MAX_ROCKS; i++) {
        const rock *r = &g.rocks[i];
        if (!r->alive) continue;
        float ex = wrap_delta(g.sx, r->x, W), ey = wrap_delta(g.sy, r->y, H);
        float d = ex * ex + ey * ey;
        if (d < best) { best = d; dx = ex; dy = ey; }
    }
    if (best < 1e9f) {
        float d = angle_diff(g.angle, atan2f(dy, dx));
        c.turn = d > 0.05f ? 1.0f : d < -0.05f ? -1.0f : d / 0.05f;
        c.fire = fabsf(d) < 0.25f;
    } else {
        c.turn = 0.4f;
    }
    float speed = sqrtf(g.svx * g.svx + g.svy * g.svy);
    c.thrust = speed < 0.6f && (g.tick / 90) % 3 == 0;
    c.restart = g.over_timer > 240;
    return c;
}

/* ---- sound (made by ticks, never by render) ---- */

enum { VOICE_MUSIC = 0, VOICE_THRUST = 1 };   /* voices the game addresses; effects take LW_VOICE_ANY */

static int32_t pan_at(float x) { return lw_q16(x / W * 2.0f - 1.0f, -1, 1); }

/* A synth voice: `wave` sliding from f0 to f1 Hz, a 4 ms attack, `seconds` of decay to half, released over `tail`. */
static void sfx(uint32_t voice, uint32_t wave, float f0, float f1, float seconds, float tail, float volume, float x) {
    lw_tone_rec t = {wave, LW_Q16_ONE / 2, lw_hz(f0), lw_hz(f1), lw_frames(0.004f), lw_frames(seconds), 0,
                     lw_frames(tail), lw_q16(volume, 0, 4), lw_q16(volume * 0.5f, 0, 4), pan_at(x)};
    lw_sound_tone(voice, &t);
}

/* Attract mode plays no music: it is asked for when a player first takes the controls, streamed
   ([assets] stream: playable from the tick after lw_asset, while it still arrives), and loops for good. */
static void music(int player) {
    if (player && !g.music) {
        g.music = lw_asset("music.ogg");
        g.music_at = g.tick + 1;
    }
    if (g.music > 0 && g.tick == g.music_at) lw_sound_play(VOICE_MUSIC, g.music, 0.45f, 0.0f, 1.0f, LW_SOUND_LOOP);
}

/* The engine's rumble: a noise voice re-struck every 8 ticks while thrusting, released when it stops. */
static void thrust_sound(void) {
    if (!g.thrusting) { g.thrust_ticks = 0; return; }
    if (g.thrust_ticks++ % 8 == 0) sfx(VOICE_THRUST, LW_WAVE_NOISE, 260.0f, 180.0f, 0.12f, 0.08f, 0.25f, g.sx);
}

/* ---- simulation ---- */

static void fire(void) {
    for (int i = 0; i < MAX_BULLETS; i++) {
        bullet *b = &g.bullets[i];
        if (b->life > 0) continue;
        float ca = cosf(g.angle), sa = sinf(g.angle);
        *b = (bullet){g.sx + ca * 10, g.sy + sa * 10, g.svx + ca * BULLET_SPEED, g.svy + sa * BULLET_SPEED, BULLET_LIFE};
        g.fire_cooldown = FIRE_COOLDOWN;
        sfx(LW_VOICE_ANY, LW_WAVE_PULSE, 1400.0f, 500.0f, 0.05f, 0.05f, 0.18f, g.sx);
        return;
    }
}

static void add_score(int pts) {
    g.score += pts;
    if (g.score >= g.next_extra_life) { g.lives++; g.next_extra_life += EXTRA_LIFE_EVERY; }
}

static void hit_rock(rock *r) {
    rock old = *r;   /* copy: add_rock may reuse this very slot */
    r->alive = 0;
    add_score(rock_points[old.size]);
    burst(old.x, old.y, 8 + 6 * (3 - old.size), 2.0f, old.tint, 40);
    /* bigger rocks boom lower and longer */
    sfx(LW_VOICE_ANY, LW_WAVE_NOISE, 900.0f + 500.0f * (float)old.size, 80.0f, 0.12f + 0.08f * (float)(2 - old.size),
        0.25f, 0.35f, old.x);
    if (old.size < 2) {
        add_rock(old.x, old.y, old.size + 1);
        add_rock(old.x, old.y, old.size + 1);
    }
}

static void kill_ship(void) {
    g.ship_alive = 0;
    g.respawn_timer = RESPAWN_TICKS;
    burst(g.sx, g.sy, 60, 3.0f, LW_RGB(255, 200, 90), 70);
    burst(g.sx, g.sy, 30, 1.5f, LW_RGB(150, 200, 255), 90);
    sfx(LW_VOICE_ANY, LW_WAVE_NOISE, 600.0f, 40.0f, 0.4f, 0.8f, 0.5f, g.sx);
    sfx(LW_VOICE_ANY, LW_WAVE_SINE, 330.0f, 55.0f, 0.5f, 0.6f, 0.4f, g.sx);
    if (--g.lives <= 0) { g.game_over = 1; g.over_timer = 0; }
}

void lw_game_tick(const lw_input *in) {
    g.tick = in->tick;
    controls c = read_controls(in);
    music(c.any);
    if (c.any) g.idle = 0; else if (g.idle < IDLE_TICKS) g.idle++;
    if (g.idle >= IDLE_TICKS) c = autopilot();

    if (g.game_over) {
        g.over_timer++;
        if (c.restart && !g.restart_was_down && g.over_timer > 30) new_game();
    }
    g.restart_was_down = c.restart;

    /* ship */
    g.thrusting = 0;
    if (g.ship_alive) {
        g.angle += c.turn * TURN_SPEED;
        if (g.angle > PI) g.angle -= 2 * PI;
        if (g.angle < -PI) g.angle += 2 * PI;
        float ca = cosf(g.angle), sa = sinf(g.angle);
        if (c.thrust) {
            g.thrusting = 1;
            g.svx += ca * THRUST; g.svy += sa * THRUST;
            if ((g.tick & 1) == 0) {   /* exhaust */
                particle *p = &g.parts[g.part_next];
                g.part_next = (g.part_next + 1) % MAX_PARTICLES;
                *p = (particle){g.sx - ca * 9, g.sy - sa * 9, g.svx - ca * 1.5f + rndf(-0.3f, 0.3f),
                                g.svy - sa * 1.5f + rndf(-0.3f, 0.3f), 1.5f, 20, 20, LW_RGB(255, 160, 60)};
            }
        }
        float sp = sqrtf(g.svx * g.svx + g.svy * g.svy);
        if (sp > MAX_SPEED) { g.svx *= MAX_SPEED / sp; g.svy *= MAX_SPEED / sp; }
        g.svx *= DRAG; g.svy *= DRAG;
        g.sx = wrapf(g.sx + g.svx, W); g.sy = wrapf(g.sy + g.svy, H);
        if (g.fire_cooldown > 0) g.fire_cooldown--;
        if (c.fire && g.fire_cooldown == 0) fire();
        if (g.invuln > 0) g.invuln--;
    } else if (!g.game_over && --g.respawn_timer <= 0) {
        spawn_ship();
    }
    thrust_sound();

    /* bullets against rocks */
    for (int i = 0; i < MAX_BULLETS; i++) {
        bullet *b = &g.bullets[i];
        if (b->life <= 0) continue;
        b->life--;
        b->x = wrapf(b->x + b->vx, W); b->y = wrapf(b->y + b->vy, H);
        for (int k = 0; k < MAX_ROCKS; k++) {
            rock *r = &g.rocks[k];
            if (!r->alive) continue;
            float dx = wrap_delta(b->x, r->x, W), dy = wrap_delta(b->y, r->y, H), rr = rock_radius[r->size];
            if (dx * dx + dy * dy < rr * rr) { hit_rock(r); b->life = 0; break; }
        }
    }

    /* rocks, and rocks against the ship */
    int alive = 0;
    for (int k = 0; k < MAX_ROCKS; k++) {
        rock *r = &g.rocks[k];
        if (!r->alive) continue;
        alive++;
        r->x = wrapf(r->x + r->vx, W); r->y = wrapf(r->y + r->vy, H);
        r->rot += r->vrot;
        if (g.ship_alive && g.invuln == 0) {
            float dx = wrap_delta(g.sx, r->x, W), dy = wrap_delta(g.sy, r->y, H), rr = rock_radius[r->size] + SHIP_RADIUS;
            if (dx * dx + dy * dy < rr * rr) { hit_rock(r); kill_ship(); }
        }
    }
    if (alive == 0 && !g.game_over) {
        if (g.next_wave_timer == 0) g.next_wave_timer = 90;
        else if (--g.next_wave_timer == 0) start_wave();
    }

    for (int i = 0; i < MAX_PARTICLES; i++) {
        particle *p = &g.parts[i];
        if (p->life <= 0) continue;
        p->life--;
        p->x += p->vx; p->y += p->vy;
        p->vx *= 0.97f; p->vy *= 0.97f;
    }
}

/* ---- drawing (reads state only) ---- */

static void int_to_str(int v, char *out) {
    char tmp[12];
    int n = 0;
    if (v < 0) { *out++ = '-'; v = -v; }
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 11);
    while (n) *out++ = tmp[--n];
    *out = 0;
}

static void str_cat(char *dst, const char *src) {
    while (*dst) dst++;
    while ((*dst++ = *src++)) {}
}

static void text_centered(lw_frame *f, float y, float size, uint32_t color, const char *s) {
    float w = (float)__builtin_strlen(s) * size * LW_FONT_CELL_W / LW_FONT_CELL_H;
    lw_text(f, (W - w) * 0.5f, y, size, color, s);
}

/* A sprite centred at (x, y), plus the copies needed where it overlaps a screen edge. */
static void sprite_wrapped(lw_frame *f, uint32_t tex, float x, float y, float size, float sx,
                           float sw, float sh, float rot, uint32_t tint) {
    float half = size * 0.5f;
    for (int oy = -1; oy <= 1; oy++) {
        float yy = y + oy * H;
        if (yy + half < 0 || yy - half > H) continue;
        for (int ox = -1; ox <= 1; ox++) {
            float xx = x + ox * W;
            if (xx + half < 0 || xx - half > W) continue;
            lw_sprite(f, tex, xx - half, yy - half, size, size, sx, 0, sw, sh, rot, tint, 0);
        }
    }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(6, 8, 20));

    for (int i = 0; i < STARS; i++) {
        uint32_t b = 90 + (uint32_t)((g.star_phase[i] + g.tick) & 127) / 2;
        float s = (g.star_phase[i] & 3) == 0 ? 2.0f : 1.0f;
        lw_rect(f, g.star_x[i], g.star_y[i], s, s, 0, 0, LW_RGB(b, b, b + 30 > 255 ? 255 : b + 30));
    }

    for (int k = 0; k < MAX_ROCKS; k++) {
        const rock *r = &g.rocks[k];
        if (!r->alive) continue;
        float size = rock_radius[r->size] * 2.45f;
        sprite_wrapped(f, (uint32_t)g.tex_rock, r->x, r->y, size, 64.0f * r->variant, 64, 64, r->rot, r->tint);
    }

    for (int i = 0; i < MAX_PARTICLES; i++) {
        const particle *p = &g.parts[i];
        if (p->life <= 0) continue;
        uint32_t a = (uint32_t)(255 * p->life / p->max_life);
        lw_rect(f, p->x - p->size * 0.5f, p->y - p->size * 0.5f, p->size, p->size, 0, 0, (p->color & 0xFFFFFFu) | (a << 24));
    }

    for (int i = 0; i < MAX_BULLETS; i++) {
        const bullet *b = &g.bullets[i];
        if (b->life <= 0) continue;
        lw_line(f, b->x, b->y, b->x - b->vx * 0.6f, b->y - b->vy * 0.6f, 2, LW_RGBA(255, 240, 120, 160));
    }
    for (int i = 0; i < MAX_BULLETS; i++)   /* second pass so the circles batch into one command */
        if (g.bullets[i].life > 0) lw_circle(f, g.bullets[i].x, g.bullets[i].y, 1.6f, 0, LW_RGB(255, 255, 200));

    if (g.ship_alive && (g.invuln == 0 || (g.invuln / 6) % 2 == 0)) {
        float ca = cosf(g.angle), sa = sinf(g.angle);
        if (g.thrusting) {   /* flickering flame: one untextured triangle behind the ship */
            float len = 9.0f + (float)((g.tick * 7) % 5);
            float bx = g.sx - ca * 7, by = g.sy - sa * 7;
            lw_vertex(f, LW_NO_TEXTURE, bx - sa * 4, by + ca * 4, 0, 0, LW_RGBA(255, 220, 90, 230));
            lw_vertex(f, LW_NO_TEXTURE, bx + sa * 4, by - ca * 4, 0, 0, LW_RGBA(255, 220, 90, 230));
            lw_vertex(f, LW_NO_TEXTURE, bx - ca * len, by - sa * len, 0, 0, LW_RGBA(255, 80, 20, 0));
        }
        sprite_wrapped(f, (uint32_t)g.tex_ship, g.sx, g.sy, 20, 0, 32, 32, g.angle, LW_RGB(255, 255, 255));
    }

    /* HUD */
    char buf[32] = "SCORE ";
    char num[12];
    int_to_str(g.score, num);
    str_cat(buf, num);
    lw_text(f, 6, 5, 12, LW_RGB(235, 235, 245), buf);
    buf[0] = 0;
    str_cat(buf, "WAVE ");
    int_to_str(g.wave, num);
    str_cat(buf, num);
    text_centered(f, 5, 12, LW_RGB(160, 170, 200), buf);
    for (int i = 0; i < g.lives && i < 8; i++)
        lw_sprite(f, (uint32_t)g.tex_ship, W - 18.0f - i * 14.0f, 4, 12, 12, 0, 0, 32, 32, -PI * 0.5f, LW_RGB(255, 255, 255), 0);

    if (g.game_over) {
        text_centered(f, H * 0.5f - 20, 24, LW_RGB(255, 90, 90), "GAME OVER");
        if ((g.over_timer / 30) % 2 == 0)
            text_centered(f, H * 0.5f + 12, 12, LW_RGB(230, 230, 230), "PRESS SPACE / START");
    } else if (g.idle >= IDLE_TICKS) {
        text_centered(f, H - 18, 12, LW_RGBA(255, 255, 255, (g.tick / 40) % 2 ? 120 : 220),
                      "DEMO - ARROWS + SPACE TO PLAY");
    }
}
