/* A test game that makes sound: its seed picks what it plays (see MODE_* and tests/runtime/test_audio.py). */
#include <math.h>
#include <string.h>
#include "layerw.h"

enum { MODE_SCORE, MODE_FLOOD, MODE_NAN, MODE_GARBAGE, MODE_PLAYBACK };

static uint32_t mode, ticks;
static int32_t blip;

void lw_game_init(uint64_t seed) {
    mode = (uint32_t)seed;
    blip = lw_asset("blip.wav");
}

static void tone(uint32_t voice, uint32_t wave, uint32_t duty, float f0, float f1, uint32_t a, uint32_t d,
                 uint32_t s, uint32_t r, float pan) {
    lw_tone_rec t = {wave, duty, lw_hz(f0), lw_hz(f1), a, d, s, r, lw_q16(1.0f, 0, 4), lw_q16(0.5f, 0, 4),
                     lw_q16(pan, -1, 1)};
    lw_sound_tone(voice, &t);
}

static void score(const lw_input *in) {
    switch (ticks) {
    case 1: lw_sound_play(0, blip, 1.0f, -0.5f, 1.0f, LW_SOUND_LOOP); break;
    case 5: tone(1, LW_WAVE_PULSE, LW_Q16_ONE / 8, 440, 440, 400, 800, 2000, 1600, 0.25f); break;
    case 15: tone(2, LW_WAVE_TRIANGLE, 0, 220, 880, 0, 0, 4800, 800, 0); break;
    case 25: tone(LW_VOICE_ANY, LW_WAVE_NOISE, 0, 4000, 1000, 100, 1000, 1000, 3000, 1.0f); break;
    case 35: tone(LW_VOICE_ANY, LW_WAVE_SINE, 0, 660, 330, 2400, 0, 2400, 2400, -1.0f); break;
    case 45: {
        static int16_t saw[1600 * 2];
        for (int i = 0; i < 1600; i++) saw[2 * i] = saw[2 * i + 1] = (int16_t)((i % 100) * 600 - 30000);
        lw_sound_pcm(saw, 1600, 0.5f);
        break;
    }
    case 50: lw_sound_play(3, blip, 2.0f, 1.0f, 0.5f, 0); break;
    case 60: lw_sound_fade(0, 0.25f, 0.2f); break;
    case 80: lw_sound_stop(LW_VOICE_ANY, 0.05f); break;
    default: break;
    }
    if (in->player_count && lw_key_down(&in->players[0], LW_KEY_SPACE))
        lw_sound_play(LW_VOICE_ANY, blip, 0.5f, 0.0f, 1.5f, 0);
}

static void flood(void) {
    for (int i = 0; i < 100000; i++) tone(LW_VOICE_ANY, (uint32_t)i & 3, (uint32_t)i * 977u, 100.0f + (float)i, 50, 10, 10, 10, 10, 0);
    static int16_t pcm[8000 * 2];
    lw_sound_pcm(pcm, 8000, 1.0f);
    lw_sound_pcm(pcm, 0xFFFFFFFFu, 1.0f);
}

static void absurd(void) {
    float nan = nanf(""), inf = INFINITY;
    lw_sound_play(LW_VOICE_ANY, blip, nan, nan, nan, LW_SOUND_LOOP);
    lw_sound_play(LW_VOICE_ANY, blip, inf, -inf, 1e30f, 0xFFFFFFFFu);
    lw_sound_play(LW_VOICE_ANY, blip, -inf, inf, -1e30f, 0);
    lw_sound_play(99, blip, 1, 0, 1, 0);                 /* no such voice */
    lw_sound_play(LW_VOICE_ANY, -1, 1, 0, 1, 0);         /* no such asset */
    lw_sound_play(LW_VOICE_ANY, 5000, 1, 0, 1, 0);
    lw_sound_fade(LW_VOICE_ANY, nan, nan);
    lw_sound_stop(7, inf);
    tone(LW_VOICE_ANY, 99, 0xFFFFFFFFu, nan, inf, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, nan);
    tone(LW_VOICE_ANY, LW_WAVE_SINE, 0, 1e9f, -1e9f, 0, 0, 0, 1, 0);
    lw_tone_rec raw = {LW_WAVE_NOISE, 0, 0xFFFFFFFFu, 0xFFFFFFFFu, 1, 1, 1, 1, INT32_MAX, INT32_MIN, INT32_MAX};
    lw_sound_tone(LW_VOICE_ANY, &raw);
}

static uint32_t rng = 12345;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static void garbage(void) {
    /* Raw bytes: records with wild ops, voices, handles and lengths, then a length that lies. */
    uint32_t *w = (uint32_t *)lw__sound;
    for (uint32_t i = 0; i < LW_SOUND_CAPACITY / 4; i++) {
        uint32_t r = next();
        w[i] = (i % 8 == 0) ? 1 + r % 6 : (i % 8 == 1) ? (r % 3 == 0 ? LW_VOICE_ANY : r % 40) : (i % 8 == 2) ? r % 5000 : r;
    }
    lw__io.snd_len = ticks % 2 ? LW_SOUND_CAPACITY : LW_SOUND_CAPACITY + 4096;
}

void lw_game_tick(const lw_input *in) {
    ticks++;
    switch (mode) {
    case MODE_SCORE: score(in); break;
    case MODE_FLOOD: flood(); break;
    case MODE_NAN: absurd(); break;
    case MODE_GARBAGE: garbage(); break;
    case MODE_PLAYBACK: if (ticks == 1) lw_sound_play(0, blip, 1.0f, 0.0f, 1.0f, 0); break;
    default: break;
    }
}

void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(0, 0, 0));
}
