/* A new Layer-W game: move the square with the arrow keys, WASD or a gamepad's left stick.
   The contract: lw_game_tick changes state, lw_game_render only draws it. */
#include "layerw.h"

static float x = 150, y = 80, vx, vy;
static uint32_t color;

void lw_game_init(uint64_t seed) {
    color = LW_RGB(64 + (seed & 127), 200, 255);
}

void lw_game_tick(const lw_input *in) {
    const lw_player *p = &in->players[0];
    float ax = (float)(lw_key_down(p, LW_KEY_ARROWRIGHT) || lw_key_down(p, LW_KEY_KEYD))
             - (float)(lw_key_down(p, LW_KEY_ARROWLEFT) || lw_key_down(p, LW_KEY_KEYA)) + p->gamepads[0].axes[0];
    float ay = (float)(lw_key_down(p, LW_KEY_ARROWDOWN) || lw_key_down(p, LW_KEY_KEYS))
             - (float)(lw_key_down(p, LW_KEY_ARROWUP) || lw_key_down(p, LW_KEY_KEYW)) + p->gamepads[0].axes[1];
    vx = vx * 0.85f + ax * 0.6f;
    vy = vy * 0.85f + ay * 0.6f;
    x += vx; y += vy;
    int bumped = x < 0 || x > 300 || y < 0 || y > 160;
    if (x < 0) x = 0; if (x > 300) x = 300;
    if (y < 0) y = 0; if (y > 160) y = 160;
    if (bumped && (vx * vx + vy * vy) > 1.0f) {
        /* Sound is a tick's business: a short square-wave blip sliding down, panned to where the
           square is. WAV or Ogg assets in assets/ play with lw_sound_play(voice, lw_asset("x.wav"), ...)
           once ready (preload them, or wait for their LW_EVENT_ASSET_READY); music streams: see
           [assets] stream in layerw.toml. */
        lw_tone_rec blip = {LW_WAVE_PULSE, LW_Q16_ONE / 2, lw_hz(660), lw_hz(330), lw_frames(0.005f),
                            lw_frames(0.05f), 0, lw_frames(0.08f), lw_q16(0.4f, 0, 4), lw_q16(0.2f, 0, 4),
                            lw_q16(x / 150.0f - 1.0f, -1, 1)};
        lw_sound_tone(LW_VOICE_ANY, &blip);
        vx = vy = 0;
    }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(16, 18, 32));
    lw_rect(f, x, y, 20, 20, 0, 0, color);
    lw_text(f, 8, 8, 12, LW_RGB(255, 255, 255), "Hello, Layer-W! Arrows move.");
}
