/* A new Layer-W game: steer the ship with the arrow keys, WASD, a gamepad's left stick or by holding
   the mouse button, and catch the stars; the best score is saved.
   The contract: lw_game_tick changes state, lw_game_render only draws it (the same inputs give the
   same state on every host, so a room's players stay in step). */
#include "layerw.h"

static float x = 150, y = 80, vx, vy;
static uint32_t color;
static lw_rng rng;                  /* randomness only from the seed (a room picks one per room) */
static float star_x, star_y;
static int32_t score, best;
static int32_t ship;                /* the sprite's asset handle */
static int ship_ready;              /* set when its LW_EVENT_ASSET_READY arrives */

static void place_star(void) {
    star_x = (float)lw_rng_range(&rng, 10, lw_screen_width() - 30);
    star_y = (float)lw_rng_range(&rng, 24, lw_screen_height() - 30);
}

/* Sound is a tick's business: a short square-wave blip from `from` to `to` Hz, panned to where the
   ship is. WAV or Ogg assets play with lw_sound_play(voice, lw_asset("x.wav"), ...) once ready;
   music streams: see [assets] stream in layerw.toml. */
static void blip(float from, float to) {
    lw_tone_rec tone = {LW_WAVE_PULSE, LW_Q16_ONE / 2, lw_hz(from), lw_hz(to), lw_frames(0.005f),
                        lw_frames(0.05f), 0, lw_frames(0.08f), lw_q16(0.4f, 0, 4), lw_q16(0.2f, 0, 4),
                        lw_q16(x / 150.0f - 1.0f, -1, 1)};
    lw_sound_tone(LW_VOICE_ANY, &tone);
}

void lw_game_init(uint64_t seed) {
    color = LW_RGB(64 + (seed & 127), 200, 255);
    lw_rng_seed(&rng, seed, 0);
    place_star();
    ship = lw_asset("ship.png");    /* not preloaded: it becomes ready at a tick, the same on every host */
    /* Saves outlive the process (a room has none: lw_load then returns an LW_SAVE_* error). */
    if (lw_load("best", &best, (int32_t)sizeof best) != (int32_t)sizeof best) best = 0;
}

void lw_game_tick(const lw_input *in) {
    for (uint32_t i = 0; i < in->event_count; i++)
        if (in->events[i].kind == LW_EVENT_ASSET_READY && (int32_t)in->events[i].a == ship) ship_ready = 1;
    const lw_player *p = &in->players[0];
    float ax = (float)(lw_key_down(p, LW_KEY_ARROWRIGHT) || lw_key_down(p, LW_KEY_KEYD))
             - (float)(lw_key_down(p, LW_KEY_ARROWLEFT) || lw_key_down(p, LW_KEY_KEYA)) + p->gamepads[0].axes[0];
    float ay = (float)(lw_key_down(p, LW_KEY_ARROWDOWN) || lw_key_down(p, LW_KEY_KEYS))
             - (float)(lw_key_down(p, LW_KEY_ARROWUP) || lw_key_down(p, LW_KEY_KEYW)) + p->gamepads[0].axes[1];
    if (p->pointer.buttons & LW_BUTTON_LEFT) {  /* the mouse (or a touch) pulls the ship towards it */
        ax += (p->pointer.x - x - 10) * 0.02f;
        ay += (p->pointer.y - y - 10) * 0.02f;
    }
    vx = vx * 0.85f + ax * 0.6f;
    vy = vy * 0.85f + ay * 0.6f;
    x += vx; y += vy;
    float right = (float)lw_screen_width() - 20, bottom = (float)lw_screen_height() - 20;
    int bumped = x < 0 || x > right || y < 0 || y > bottom;
    if (x < 0) x = 0; if (x > right) x = right;
    if (y < 0) y = 0; if (y > bottom) y = bottom;
    if (bumped && (vx * vx + vy * vy) > 1.0f) {
        blip(660, 330);
        vx = vy = 0;
    }
    if (x < star_x + 10 && star_x < x + 20 && y < star_y + 10 && star_y < y + 20) {
        score++;
        blip(880, 1320);
        place_star();
        if (score > best) {  /* a new best: save it (LW_SAVE_OK, or an error the game may ignore) */
            best = score;
            lw_save("best", &best, (int32_t)sizeof best, 1);
        }
    }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(16, 18, 32));
    lw_circle(f, star_x + 5, star_y + 5, 5, 0, LW_RGB(255, 220, 80));
    if (ship_ready)  /* source rect: the whole 16x16 image; white texels take the tint */
        lw_sprite(f, (uint32_t)ship, x, y, 20, 20, 0, 0, 16, 16, vx * 0.05f, color, 0);
    else
        lw_rect(f, x, y, 20, 20, 0, 0, color);
    lw_text(f, 8, 8, 12, LW_RGB(255, 255, 255), "Hello, Layer-W! Arrows move.");
    /* Numbers as text without printf: write the digits yourself (or #include <stdio.h> for snprintf). */
    char line[32] = "score 0000  best 0000";
    for (int i = 0, s = score, b = best; i < 4; i++, s /= 10, b /= 10) {
        line[9 - i] = (char)('0' + s % 10);
        line[20 - i] = (char)('0' + b % 10);
    }
    float w = lw_text_width(line, 12);  /* measured, so it sits against the right edge */
    lw_text(f, (float)lw_screen_width() - w - 8, (float)lw_screen_height() - 20, 12, LW_RGB(200, 200, 220), line);
}
