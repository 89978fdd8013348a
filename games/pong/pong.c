/* Pong for Layer-W.
 *
 * How to play: first to 11 points wins.
 *   Left paddle:  W / S, or player 0's gamepad 0 (d-pad or left stick).
 *   Right paddle: ArrowUp / ArrowDown, or player 0's gamepad 1.
 *   With two players connected (player_count >= 2) player 1's keys (W/S or arrows) and
 *   gamepad 0 drive the right paddle too.
 *   After a match: Space, Enter or gamepad Start / A starts a new one.
 * A paddle whose player gives no input for 3 seconds is taken over by a simple AI, so with no
 * input at all the game plays itself (attract mode) and restarts on its own after a match.
 */
#include <math.h>
#include "layerw.h"

#define W 320
#define H 240
#define PADDLE_W 6.0f
#define PADDLE_H 36.0f
#define PADDLE_MARGIN 12.0f
#define PADDLE_SPEED 4.0f
#define AI_SPEED 2.5f
#define BALL 8.0f
#define BALL_START_SPEED 2.8f
#define BALL_MAX_SPEED 7.5f
#ifndef WIN_SCORE
#define WIN_SCORE 11
#endif
#define IDLE_TICKS 180   /* no input for this long hands a paddle to the AI */
#define SERVE_TICKS 60
#define AUTO_RESTART_TICKS 300
#define TRAIL 8
#define DEADZONE 0.3f

typedef struct {
    float y;          /* top edge */
    int score;
    uint32_t idle;    /* ticks since its player last gave input */
    float ai_aim;     /* where on the paddle the AI tries to meet the ball */
    int flash;        /* ticks of hit highlight left */
} paddle;

static struct {
    uint64_t rng;
    uint32_t tick;
    int32_t ball_tex;
    paddle pad[2];
    float bx, by, vx, vy, speed;   /* ball centre and velocity, px per tick */
    int serve_timer, serve_dir;
    int winner;                    /* -1 while playing, else 0 (left) or 1 (right) */
    int over_timer;
    int restart_was_down;
    float trail_x[TRAIL], trail_y[TRAIL];
    int trail_head;
} g;

/* ---- deterministic randomness: xorshift64* seeded from lw_game_init ---- */
static uint32_t rnd(void) {
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (uint32_t)((g.rng * 0x2545F4914F6CDD1DULL) >> 32);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) * (1.0f / 16777216.0f); }

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }
static float paddle_x(int side) { return side == 0 ? PADDLE_MARGIN : W - PADDLE_MARGIN - PADDLE_W; }

static void serve(int dir) {
    g.bx = W * 0.5f;
    g.by = H * 0.5f;
    g.vx = g.vy = 0;
    g.speed = BALL_START_SPEED;
    g.serve_timer = SERVE_TICKS;
    g.serve_dir = dir;
    for (int i = 0; i < TRAIL; i++) { g.trail_x[i] = g.bx; g.trail_y[i] = g.by; }
}

static void new_match(void) {
    for (int s = 0; s < 2; s++) {
        g.pad[s].y = (H - PADDLE_H) * 0.5f;
        g.pad[s].score = 0;
        g.pad[s].flash = 0;
    }
    g.winner = -1;
    g.over_timer = 0;
    serve((rnd() & 1) ? 1 : -1);
}

void lw_game_init(uint64_t seed) {
    g.rng = seed ^ 0x9E3779B97F4A7C15ULL;
    if (g.rng == 0) g.rng = 1;
    g.ball_tex = lw_asset("ball.png");
    g.pad[0].idle = g.pad[1].idle = IDLE_TICKS;   /* start in attract mode */
    new_match();
}

/* ---- input ---- */

/* Vertical intent from one gamepad: d-pad or left stick, -1 up .. 1 down. */
static float pad_axis(const lw_gamepad *gp) {
    if (!gp->connected) return 0;
    if (lw_pad_down(gp, LW_PAD_UP)) return -1;
    if (lw_pad_down(gp, LW_PAD_DOWN)) return 1;
    float a = gp->axes[1];
    return (a > DEADZONE || a < -DEADZONE) ? a : 0;
}

static float key_axis(const lw_player *p, int up, int down) {
    return (float)(lw_key_down(p, down) - lw_key_down(p, up));
}

/* -1..1 intent for paddle `side` this tick. */
static float side_axis(const lw_input *in, int side) {
    const lw_player *p0 = &in->players[0];
    float a;
    if (side == 0) {
        a = key_axis(p0, LW_KEY_KEYW, LW_KEY_KEYS) + pad_axis(&p0->gamepads[0]);
    } else {
        a = key_axis(p0, LW_KEY_ARROWUP, LW_KEY_ARROWDOWN) + pad_axis(&p0->gamepads[1]);
        if (in->player_count >= 2) {
            const lw_player *p1 = &in->players[1];
            a += key_axis(p1, LW_KEY_KEYW, LW_KEY_KEYS) + key_axis(p1, LW_KEY_ARROWUP, LW_KEY_ARROWDOWN)
               + pad_axis(&p1->gamepads[0]);
        }
    }
    return clampf(a, -1, 1);
}

static int restart_down(const lw_input *in) {
    uint32_t n = in->player_count < 1 ? 1 : in->player_count;
    for (uint32_t i = 0; i < n && i < LW_MAX_PLAYERS; i++) {
        const lw_player *p = &in->players[i];
        if (lw_key_down(p, LW_KEY_SPACE) || lw_key_down(p, LW_KEY_ENTER)) return 1;
        for (int k = 0; k < LW_MAX_GAMEPADS; k++)
            if (lw_pad_down(&p->gamepads[k], LW_PAD_START) || lw_pad_down(&p->gamepads[k], LW_PAD_A)) return 1;
    }
    return 0;
}

/* ---- simulation ---- */

static void move_paddle(int side, float axis) {
    paddle *pd = &g.pad[side];
    if (axis != 0) {
        pd->idle = 0;
        pd->y += axis * PADDLE_SPEED;
    } else {
        if (pd->idle < IDLE_TICKS) pd->idle++;
        if (pd->idle >= IDLE_TICKS) {
            /* AI: follow the ball while it comes this way, drift back to the middle otherwise. */
            int coming = (side == 0) ? g.vx < 0 : g.vx > 0;
            float target = coming ? g.by - PADDLE_H * 0.5f + pd->ai_aim : (H - PADDLE_H) * 0.5f;
            pd->y += clampf(target - pd->y, -AI_SPEED, AI_SPEED);
        }
    }
    pd->y = clampf(pd->y, 0, H - PADDLE_H);
    if (pd->flash > 0) pd->flash--;
}

/* A chip-style sound effect (the synth's tone record, like WASM-4's tone()): `wave` sliding from f0 to
   f1 Hz over `seconds`, panned to where the ball is. Sounds are made by ticks, never by render. */
static void sfx(uint32_t wave, float f0, float f1, float seconds, float volume) {
    lw_tone_rec t = {wave, LW_Q16_ONE / 4, lw_hz(f0), lw_hz(f1), lw_frames(0.004f), lw_frames(seconds * 0.3f), 0,
                     lw_frames(seconds * 0.7f), lw_q16(volume, 0, 4), lw_q16(volume * 0.6f, 0, 4),
                     lw_q16(g.bx / W * 2.0f - 1.0f, -1, 1)};
    lw_sound_tone(LW_VOICE_ANY, &t);
}

/* Ball against paddle `side`, swept so a fast ball cannot tunnel through. */
static void collide_paddle(int side, float prev_x) {
    paddle *pd = &g.pad[side];
    float px = paddle_x(side), r = BALL * 0.5f;
    float face = side == 0 ? px + PADDLE_W : px;            /* the face the ball hits */
    int crossed = side == 0 ? (g.vx < 0 && prev_x - r >= face && g.bx - r < face)
                            : (g.vx > 0 && prev_x + r <= face && g.bx + r > face);
    if (!crossed || g.by + r < pd->y || g.by - r > pd->y + PADDLE_H) return;

    float off = clampf((g.by - (pd->y + PADDLE_H * 0.5f)) / (PADDLE_H * 0.5f + r), -1, 1);
    float angle = off * 1.05f;                              /* up to ~60 degrees */
    g.speed = clampf(g.speed * 1.07f, 0, BALL_MAX_SPEED);
    float dir = side == 0 ? 1.0f : -1.0f;
    g.vx = dir * g.speed * cosf(angle);
    g.vy = g.speed * sinf(angle);
    g.bx = face + dir * r;
    pd->flash = 8;
    sfx(LW_WAVE_PULSE, 440.0f + g.speed * 40.0f, 440.0f + g.speed * 40.0f, 0.08f, 0.5f);  /* faster, higher */
    g.pad[1 - side].ai_aim = rndf(-PADDLE_H * 0.45f, PADDLE_H * 0.45f);
}

static void point_to(int side) {
    g.pad[side].score++;
    sfx(LW_WAVE_SINE, 660.0f, 220.0f, 0.4f, 0.6f);
    if (g.pad[side].score >= WIN_SCORE) {
        sfx(LW_WAVE_TRIANGLE, 523.0f, 1046.0f, 0.9f, 0.7f);  /* the match is won: a rising fanfare */
        g.winner = side;
        g.over_timer = 0;
        g.vx = g.vy = 0;
        g.serve_timer = 0;
    } else {
        serve(side == 0 ? 1 : -1);   /* serve toward the player who conceded */
    }
}

void lw_game_tick(const lw_input *in) {
    g.tick = in->tick;
    move_paddle(0, side_axis(in, 0));
    move_paddle(1, side_axis(in, 1));

    int restart = restart_down(in);
    int restart_pressed = restart && !g.restart_was_down;
    g.restart_was_down = restart;

    if (g.winner >= 0) {
        g.over_timer++;
        int attract = g.pad[0].idle >= IDLE_TICKS && g.pad[1].idle >= IDLE_TICKS;
        if (restart_pressed || (attract && g.over_timer >= AUTO_RESTART_TICKS)) new_match();
        return;
    }

    if (g.serve_timer > 0) {
        if (--g.serve_timer == 0) {
            float angle = rndf(-0.5f, 0.5f);
            g.vx = g.serve_dir * g.speed * cosf(angle);
            g.vy = g.speed * sinf(angle);
        }
        return;
    }

    float prev_x = g.bx, r = BALL * 0.5f;
    g.bx += g.vx;
    g.by += g.vy;
    if (g.by - r < 0) { g.by = r; g.vy = -g.vy; sfx(LW_WAVE_TRIANGLE, 220.0f, 200.0f, 0.06f, 0.5f); }
    if (g.by + r > H) { g.by = H - r; g.vy = -g.vy; sfx(LW_WAVE_TRIANGLE, 220.0f, 200.0f, 0.06f, 0.5f); }
    collide_paddle(0, prev_x);
    collide_paddle(1, prev_x);

    g.trail_head = (g.trail_head + 1) % TRAIL;
    g.trail_x[g.trail_head] = g.bx;
    g.trail_y[g.trail_head] = g.by;

    if (g.bx < -BALL) point_to(1);
    else if (g.bx > W + BALL) point_to(0);
}

/* ---- drawing (reads state only) ---- */

static float text_width(const char *s, float size) {
    return (float)__builtin_strlen(s) * size * LW_FONT_CELL_W / LW_FONT_CELL_H;
}

static void text_centered(lw_frame *f, float cx, float y, float size, uint32_t color, const char *s) {
    lw_text(f, cx - text_width(s, size) * 0.5f, y, size, color, s);
}

static void int_to_str(int v, char *out) {
    char tmp[12];
    int n = 0;
    if (v < 0) { *out++ = '-'; v = -v; }
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 11);
    while (n) *out++ = tmp[--n];
    *out = 0;
}

void lw_game_render(lw_frame *f) {
    static const uint32_t side_color[2] = {LW_RGB(90, 200, 255), LW_RGB(255, 170, 70)};
    lw_clear(f, LW_RGB(14, 16, 26));

    /* court: dashed centre line and thin top/bottom rails */
    for (float y = 4; y < H; y += 16) lw_rect(f, W * 0.5f - 1, y, 2, 8, 0, 0, LW_RGB(70, 74, 96));
    lw_line(f, 0, 0.5f, W, 0.5f, 1, LW_RGB(50, 54, 72));
    lw_line(f, 0, H - 0.5f, W, H - 0.5f, 1, LW_RGB(50, 54, 72));

    /* scores */
    char num[12];
    for (int s = 0; s < 2; s++) {
        int_to_str(g.pad[s].score, num);
        text_centered(f, W * 0.5f + (s == 0 ? -36.0f : 36.0f), 10, 24, side_color[s], num);
    }

    /* paddles */
    for (int s = 0; s < 2; s++) {
        const paddle *pd = &g.pad[s];
        uint32_t c = pd->flash > 0 ? LW_RGB(255, 255, 255) : side_color[s];
        lw_rect(f, paddle_x(s), pd->y, PADDLE_W, PADDLE_H, 0, 0, c);
        if (pd->idle >= IDLE_TICKS && g.winner < 0)
            text_centered(f, paddle_x(s) + PADDLE_W * 0.5f, H - 14, 8, LW_RGBA(200, 200, 220, 140), "CPU");
    }

    if (g.winner < 0) {
        /* fading trail, then the ball sprite (blinking while waiting to serve) */
        if (g.serve_timer == 0) {
            for (int i = 1; i < TRAIL; i++) {
                int k = (g.trail_head - i + TRAIL) % TRAIL;
                uint32_t a = (uint32_t)(120 - i * 15);
                lw_circle(f, g.trail_x[k], g.trail_y[k], BALL * 0.5f * (1.0f - i * 0.08f), 0, LW_RGBA(255, 255, 255, a));
            }
        }
        if (g.serve_timer == 0 || (g.serve_timer / 8) % 2 == 0)
            lw_sprite(f, (uint32_t)g.ball_tex, g.bx - BALL * 0.5f, g.by - BALL * 0.5f, BALL, BALL,
                      0, 0, 16, 16, 0, LW_RGB(255, 255, 255), 0);
        if (g.pad[0].idle >= IDLE_TICKS && g.pad[1].idle >= IDLE_TICKS && (g.tick / 40) % 2 == 0)
            text_centered(f, W * 0.5f, H * 0.5f + 40, 12, LW_RGBA(255, 255, 255, 200), "W/S  VS  UP/DOWN");
    } else {
        lw_rect(f, 40, H * 0.5f - 34, W - 80, 68, 0, 0, LW_RGBA(0, 0, 0, 180));
        lw_rect(f, 40, H * 0.5f - 34, W - 80, 68, 0, 2, side_color[g.winner]);
        text_centered(f, W * 0.5f, H * 0.5f - 22, 24, side_color[g.winner], g.winner == 0 ? "LEFT WINS" : "RIGHT WINS");
        if ((g.over_timer / 30) % 2 == 0)
            text_centered(f, W * 0.5f, H * 0.5f + 12, 12, LW_RGB(230, 230, 230), "PRESS SPACE / START");
    }
}
