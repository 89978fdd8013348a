/* Layer-W mixer: a tick's sound block in, that tick's samples out (48 kHz stereo s16).
   Written once, compiled once (`python -m layerw.toolchain.mixer` -> layerw/web/mixer.wasm) and run
   by every host (wasmtime natively, WebAssembly in browsers), so the samples are bit-identical by
   construction. Integer and fixed-point arithmetic only (Q16: 65536 = 1.0), no floats; every field
   of a command and of a restored state is clamped or checked, so no input makes it trap or loop.

   Host protocol: mx_init(tick_rate); per ready sound asset mx_sound_alloc(handle, frames) and copy
   its frames there (a streamed sound: as they arrive, from its start, holding each tick back until
   mx_stream_need(handle) of them are in); per tick copy the sound block to mx_block() and call mx_mix(len), which
   returns the frame count written at mx_out(). mx_state() is the snapshot (its first
   mx_state_used() bytes: the rest is the unused PCM queue); after writing one back,
   mx_check_state() says whether it is sound. After each mx_mix, mx_hash_out() adds its samples to a
   running SHA-256 and mx_digest() reads it (the browser's audio hash; the native host uses hashlib,
   which computes the same, and skips the call). */
#include "layerw.h"
#include "lw_sha256.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define STATE_MAGIC 0x584D574Cu /* "LWMX" */
#define STATE_VERSION 1u
#define MAX_TICK_FRAMES LW_SAMPLE_RATE /* tick_rate >= 1 */
#define PAGE 65536u

enum { OFF = 0, SAMPLE = 1, TONE = 2 };

/* One voice. Fields are 32 or 64 bits with no padding, so the state's bytes are the same on every host. */
typedef struct voice {
    uint64_t pos;        /* sample: frame << 16 | fraction */
    uint32_t kind, sound, flags, age;
    int32_t rate, volume, target, fade_step;
    uint32_t fade_left, stop_at_fade, wave, duty;
    uint32_t phase, lfsr, f0, f1;
    uint32_t elapsed, attack, decay, sustain;
    uint32_t release, release_from;
    int32_t peak, level, pan, noise;
} voice;

typedef struct mixer_state {
    uint32_t magic, version, tick_rate, acc;
    uint32_t ages, pcm_len;
    int32_t reserved;
    uint32_t bad_commands, bad_handles, pcm_dropped, voices_stolen, ticks;
    voice voices[LW_MAX_VOICES];
    int16_t pcm[LW_PCM_QUEUE_FRAMES * 2];
} mixer_state;

typedef struct sound { uint32_t offset, frames; } sound;

static mixer_state st;
static sound sounds[LW_MAX_SOUNDS];
static uint32_t heap_used, last_frames;
#define BATCH_BYTES (LW_SOUND_CAPACITY + 4096) /* mx_mix_batch: one full block, or many small ones, with lengths */
static uint8_t block[BATCH_BYTES] __attribute__((aligned(16)));
static int16_t out[MAX_TICK_FRAMES * 2];
static int32_t acc_l[MAX_TICK_FRAMES], acc_r[MAX_TICK_FRAMES];
extern unsigned char __heap_base;

void mx_hash_reset(void);

static int32_t clamp(int64_t v, int64_t lo, int64_t hi) { return (int32_t)(v < lo ? lo : v > hi ? hi : v); }
static uint32_t clampu(uint32_t v, uint32_t hi) { return v > hi ? hi : v; }
static uint8_t *heap(void) { return (uint8_t *)(((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15); }

EXPORT("mx_init")
int32_t mx_init(uint32_t tick_rate) {
    if (tick_rate < 1 || tick_rate > 1000) return -1;
    __builtin_memset(&st, 0, sizeof st);
    __builtin_memset(sounds, 0, sizeof sounds);
    st.magic = STATE_MAGIC;
    st.version = STATE_VERSION;
    st.tick_rate = tick_rate;
    heap_used = 0;
    last_frames = 0;
    mx_hash_reset();
    return 0;
}

EXPORT("mx_block") uint8_t *mx_block(void) { return block; }
EXPORT("mx_out") int16_t *mx_out(void) { return out; }
EXPORT("mx_state") mixer_state *mx_state(void) { return &st; }
EXPORT("mx_state_size") uint32_t mx_state_size(void) { return sizeof st; }
EXPORT("mx_state_used") uint32_t mx_state_used(void) { return (uint32_t)__builtin_offsetof(mixer_state, pcm) + st.pcm_len * 4; }

/* Counters the host reports: 0 bad commands, 1 bad handles, 2 PCM frames dropped, 3 voices stolen, 4 voices on. */
EXPORT("mx_counter")
uint32_t mx_counter(uint32_t which) {
    uint32_t on = 0;
    switch (which) {
    case 0: return st.bad_commands;
    case 1: return st.bad_handles;
    case 2: return st.pcm_dropped;
    case 3: return st.voices_stolen;
    case 4:
        for (uint32_t i = 0; i < LW_MAX_VOICES; i++) on += st.voices[i].kind != OFF;
        return on;
    default: return 0;
    }
}

/* Room for `frames` stereo s16 frames of sound asset `handle` (replacing none: a handle is set once);
   0 when the handle is out of range or already set, or the game's sound budget is spent. */
EXPORT("mx_sound_alloc")
int16_t *mx_sound_alloc(uint32_t handle, uint32_t frames) {
    if (handle == 0 || handle >= LW_MAX_SOUNDS || sounds[handle].frames || frames == 0) return 0;
    if (frames > (LW_MAX_SOUND_BYTES - heap_used) / 4) return 0;
    uint32_t bytes = (frames * 4 + 15) & ~15u;
    uintptr_t end = (uintptr_t)heap() + heap_used + bytes;
    uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * PAGE;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + PAGE - 1) / PAGE) == (size_t)-1) return 0;
    sounds[handle].offset = heap_used;
    sounds[handle].frames = frames;
    heap_used += bytes;
    return (int16_t *)(heap() + sounds[handle].offset);
}

/* --- the audio hash: SHA-256 (FIPS 180-4) over every sample mixed ---------------------------- */

static sha256 hash;
static uint8_t digest[32];

EXPORT("mx_hash_reset")
void mx_hash_reset(void) { sha256_init(&hash); }

/* The digest of everything hashed so far (the running hash goes on). */
EXPORT("mx_digest")
uint8_t *mx_digest(void) {
    sha256 s = hash;
    sha256_final(&s, digest);
    return digest;
}

/* --- commands --------------------------------------------------------------------------------- */

static voice *claim(uint32_t index) {
    voice *v;
    if (index == LW_VOICE_ANY) {
        v = 0;
        for (uint32_t i = 0; i < LW_MAX_VOICES && !v; i++)
            if (st.voices[i].kind == OFF) v = &st.voices[i];
        if (!v) {  /* steal the oldest */
            v = &st.voices[0];
            for (uint32_t i = 1; i < LW_MAX_VOICES; i++)
                if (st.voices[i].age < v->age) v = &st.voices[i];
            st.voices_stolen++;
        }
    } else {
        v = &st.voices[index];
    }
    __builtin_memset(v, 0, sizeof *v);
    v->age = ++st.ages;
    return v;
}

static void fade(voice *v, int32_t target, uint32_t frames, uint32_t stop) {
    if (v->kind == OFF) return;
    target = clamp(target, 0, LW_MAX_VOLUME);
    frames = clampu(frames, LW_MAX_STAGE_FRAMES);
    v->stop_at_fade = stop || target == 0;
    if (frames == 0) {
        v->volume = target;
        v->fade_left = 0;
        if (v->stop_at_fade) v->kind = OFF;
        return;
    }
    v->target = target;
    v->fade_left = frames;
    v->fade_step = (int32_t)(((int64_t)target - v->volume) / (int64_t)frames);
}

static void play(uint32_t index, const lw_play_rec *r) {
    if (r->asset == 0 || r->asset >= LW_MAX_SOUNDS || sounds[r->asset].frames == 0) { st.bad_handles++; return; }
    voice *v = claim(index);
    v->kind = SAMPLE;
    v->sound = r->asset;
    v->flags = r->flags & LW_SOUND_LOOP;
    v->volume = clamp(r->volume, 0, LW_MAX_VOLUME);
    v->pan = clamp(r->pan, -LW_Q16_ONE, LW_Q16_ONE);
    v->rate = clamp(r->rate, LW_MIN_RATE, LW_MAX_RATE);
}

static void tone(uint32_t index, const lw_tone_rec *r) {
    voice *v = claim(index);
    v->kind = TONE;
    v->wave = r->wave <= LW_WAVE_SINE ? r->wave : LW_WAVE_PULSE;
    v->duty = clampu(r->duty, LW_Q16_ONE) << 16;  /* as a phase threshold */
    if (r->duty >= LW_Q16_ONE) v->duty = 0xFFFFFFFFu;
    v->f0 = clampu(r->freq_start, LW_MAX_FREQUENCY);
    v->f1 = clampu(r->freq_end, LW_MAX_FREQUENCY);
    v->attack = clampu(r->attack, LW_MAX_STAGE_FRAMES);
    v->decay = clampu(r->decay, LW_MAX_STAGE_FRAMES);
    v->sustain = clampu(r->sustain, LW_MAX_STAGE_FRAMES);
    v->release = clampu(r->release, LW_MAX_STAGE_FRAMES);
    v->peak = clamp(r->peak, 0, LW_MAX_VOLUME);
    v->level = clamp(r->level, 0, LW_MAX_VOLUME);
    v->pan = clamp(r->pan, -LW_Q16_ONE, LW_Q16_ONE);
    v->volume = LW_Q16_ONE;
    v->lfsr = 0x7FFFu;
    v->noise = 32767;
    if (v->attack + v->decay + v->sustain + v->release == 0) v->kind = OFF;
}

static void pcm(const lw_pcm_rec *r, const int16_t *frames, uint32_t n) {
    int32_t vol = clamp(r->volume, 0, LW_MAX_VOLUME);
    uint32_t room = LW_PCM_QUEUE_FRAMES - st.pcm_len, take = n < room ? n : room;
    st.pcm_dropped += n - take;
    int16_t *dst = st.pcm + st.pcm_len * 2;
    for (uint32_t i = 0; i < take * 2; i++) dst[i] = (int16_t)clamp(((int64_t)frames[i] * vol) >> 16, -32768, 32767);
    st.pcm_len += take;
}

static uint32_t record_size(uint32_t op) {
    switch (op) {
    case LW_SOUND_PLAY: return sizeof(lw_play_rec);
    case LW_SOUND_STOP: return sizeof(lw_stop_rec);
    case LW_SOUND_FADE: return sizeof(lw_fade_rec);
    case LW_SOUND_TONE: return sizeof(lw_tone_rec);
    case LW_SOUND_PCM: return sizeof(lw_pcm_rec);
    default: return 0;
    }
}

/* Apply every command in block[0, len); the first malformed one ends the block (counted). */
static void apply(const uint8_t *cmds, uint32_t len) {
    uint32_t at = 0;
    if (len > LW_SOUND_CAPACITY) { st.bad_commands++; return; }
    while (at + sizeof(lw_snd) <= len) {
        const lw_snd *h = (const lw_snd *)(cmds + at);
        uint32_t size = record_size(h->op), left = len - at - (uint32_t)sizeof(lw_snd);
        if (size == 0 || size > left) { st.bad_commands++; return; }
        const uint8_t *rec = cmds + at + sizeof(lw_snd);
        uint32_t extra = 0;
        if (h->op == LW_SOUND_PCM) {
            if (h->arg > (left - size) / 4) { st.bad_commands++; return; }
            extra = h->arg * 4;
        }
        at += (uint32_t)sizeof(lw_snd) + size + extra;
        if (h->voice >= LW_MAX_VOICES && h->voice != LW_VOICE_ANY && h->op != LW_SOUND_PCM) { st.bad_handles++; continue; }
        switch (h->op) {
        case LW_SOUND_PLAY: play(h->voice, (const lw_play_rec *)rec); break;
        case LW_SOUND_TONE: tone(h->voice, (const lw_tone_rec *)rec); break;
        case LW_SOUND_PCM: pcm((const lw_pcm_rec *)rec, (const int16_t *)(rec + size), h->arg); break;
        case LW_SOUND_STOP:
        case LW_SOUND_FADE: {
            uint32_t lo = h->voice == LW_VOICE_ANY ? 0 : h->voice, hi = h->voice == LW_VOICE_ANY ? LW_MAX_VOICES : h->voice + 1;
            for (uint32_t i = lo; i < hi; i++) {
                if (h->op == LW_SOUND_STOP) fade(&st.voices[i], 0, ((const lw_stop_rec *)rec)->frames, 1);
                else fade(&st.voices[i], ((const lw_fade_rec *)rec)->volume, ((const lw_fade_rec *)rec)->frames, 0);
            }
            break;
        }
        }
    }
}

/* --- rendering -------------------------------------------------------------------------------- */

/* Advance a voice's fade by one frame; 0 when the voice just ended. */
static int step_fade(voice *v) {
    if (!v->fade_left) return 1;
    v->volume += v->fade_step;
    if (--v->fade_left == 0) {
        v->volume = v->target;
        if (v->stop_at_fade) { v->kind = OFF; return 0; }
    }
    return 1;
}

static void mix_out(int32_t *l, int32_t *r, const voice *v, int64_t s_l, int64_t s_r, int64_t gain) {
    int64_t gl = gain * (LW_Q16_ONE - (v->pan > 0 ? v->pan : 0)) >> 16;
    int64_t gr = gain * (LW_Q16_ONE + (v->pan < 0 ? v->pan : 0)) >> 16;
    *l += (int32_t)((s_l * gl) >> 16);
    *r += (int32_t)((s_r * gr) >> 16);
}

static void render_sample(voice *v, uint32_t n) {
    const sound *s = v->sound < LW_MAX_SOUNDS ? &sounds[v->sound] : 0;
    if (!s || s->frames == 0) { v->kind = OFF; return; }
    const int16_t *data = (const int16_t *)(heap() + s->offset);
    uint64_t end = (uint64_t)s->frames << 16;
    for (uint32_t i = 0; i < n; i++) {
        if (v->pos >= end) {
            if (!(v->flags & LW_SOUND_LOOP)) { v->kind = OFF; return; }
            v->pos %= end;
        }
        uint32_t at = (uint32_t)(v->pos >> 16), next = at + 1 < s->frames ? at + 1 : (v->flags & LW_SOUND_LOOP ? 0 : at);
        int64_t frac = (int64_t)(v->pos & 0xFFFF);
        int64_t a_l = data[at * 2], a_r = data[at * 2 + 1], b_l = data[next * 2], b_r = data[next * 2 + 1];
        mix_out(&acc_l[i], &acc_r[i], v, a_l + (((b_l - a_l) * frac) >> 16), a_r + (((b_r - a_r) * frac) >> 16), v->volume);
        v->pos += (uint64_t)(uint32_t)v->rate;
        if (!step_fade(v)) return;
    }
}

/* The ADSR envelope at the voice's elapsed frame (Q16); -1 once it is over. */
static int64_t envelope(const voice *v) {
    uint32_t t = v->elapsed;
    if (t < v->attack) return (int64_t)v->peak * t / v->attack;
    t -= v->attack;
    if (t < v->decay) return v->peak + ((int64_t)v->level - v->peak) * t / v->decay;
    t -= v->decay;
    if (t < v->sustain) return v->level;
    t -= v->sustain;
    if (t < v->release) return v->level - (int64_t)v->level * t / v->release;
    return -1;
}

/* Sine of a phase (2^32 = one period) by Bhaskara I's rational approximation, in integers. */
static int64_t sine(uint32_t phase) {
    int64_t half = 32768, t = (phase >> 17) & 0x7FFF, p = t * (half - t);
    int64_t s = 4 * p * 32767 / (5 * half * half / 4 - p);
    return phase & 0x80000000u ? -s : s;
}

static int64_t wave(voice *v, uint32_t previous) {
    switch (v->wave) {
    case LW_WAVE_TRIANGLE: {
        int64_t x = v->phase >> 16;
        return x < 32768 ? x * 2 - 32767 : 32767 - (x - 32768) * 2;
    }
    case LW_WAVE_NOISE:
        if (v->phase < previous) {  /* one LFSR step per period of the tone's frequency */
            uint32_t bit = (v->lfsr ^ (v->lfsr >> 1)) & 1u;
            v->lfsr = (v->lfsr >> 1) | (bit << 14);
            v->noise = v->lfsr & 1u ? 32767 : -32767;
        }
        return v->noise;
    case LW_WAVE_SINE: return sine(v->phase);
    default: return previous < v->duty ? 32767 : -32767;
    }
}

static void render_tone(voice *v, uint32_t n) {
    uint64_t total = (uint64_t)v->attack + v->decay + v->sustain + v->release;
    for (uint32_t i = 0; i < n; i++) {
        int64_t env = envelope(v);
        if (env < 0) { v->kind = OFF; return; }
        int64_t freq = (int64_t)v->f0 + ((int64_t)v->f1 - (int64_t)v->f0) * v->elapsed / (int64_t)total;
        uint32_t previous = v->phase;
        v->phase += (uint32_t)(((uint64_t)freq << 16) / LW_SAMPLE_RATE);
        int64_t s = wave(v, previous) * env >> 16;
        mix_out(&acc_l[i], &acc_r[i], v, s, s, v->volume);
        v->elapsed++;
        if (!step_fade(v)) return;
    }
}

static uint32_t mix_one(const uint8_t *cmds, uint32_t len, int16_t *dst) {
    apply(cmds, len);
    uint64_t due = (uint64_t)st.acc + LW_SAMPLE_RATE;
    uint32_t n = (uint32_t)(due / st.tick_rate);
    st.acc = (uint32_t)(due % st.tick_rate);
    st.ticks++;
    int idle = st.pcm_len == 0;
    for (uint32_t i = 0; i < LW_MAX_VOICES && idle; i++) idle = st.voices[i].kind == OFF;
    if (idle) {  /* nothing sounds: silence, without mixing it */
        __builtin_memset(dst, 0, n * 4);
        return n;
    }
    __builtin_memset(acc_l, 0, n * sizeof acc_l[0]);
    __builtin_memset(acc_r, 0, n * sizeof acc_r[0]);
    for (uint32_t i = 0; i < LW_MAX_VOICES; i++) {
        voice *v = &st.voices[i];
        if (v->kind == SAMPLE) render_sample(v, n);
        else if (v->kind == TONE) render_tone(v, n);
    }
    uint32_t from_queue = st.pcm_len < n ? st.pcm_len : n;
    for (uint32_t i = 0; i < from_queue; i++) { acc_l[i] += st.pcm[i * 2]; acc_r[i] += st.pcm[i * 2 + 1]; }
    if (from_queue) {
        __builtin_memmove(st.pcm, st.pcm + from_queue * 2, (st.pcm_len - from_queue) * 4);
        st.pcm_len -= from_queue;
    }
    for (uint32_t i = 0; i < n; i++) {
        dst[i * 2] = (int16_t)clamp(acc_l[i], -32768, 32767);
        dst[i * 2 + 1] = (int16_t)clamp(acc_r[i], -32768, 32767);
    }
    return n;
}

/* The largest frame count one tick can produce at this tick rate. */
static uint32_t max_tick_frames(void) { return (st.acc + LW_SAMPLE_RATE) / st.tick_rate + 1; }

/* Streaming (a sound whose frames still arrive, filled in order from its start): how many of sound
   `handle`'s first frames the next tick may read, so a host holds that tick back until they are in
   and the samples never depend on arrival. A voice that starts in that tick reads from frame 0 at up
   to LW_MAX_RATE; a playing one from its position at its rate (a looping one may wrap: all of it).
   A handle with no sound yet (0: any) gets what a voice starting in the next tick may read. */
EXPORT("mx_stream_need")
uint32_t mx_stream_need(uint32_t handle) {
    uint64_t tick = max_tick_frames();
    uint64_t need = ((tick * (uint64_t)LW_MAX_RATE) >> 16) + 2;
    if (handle == 0 || handle >= LW_MAX_SOUNDS || sounds[handle].frames == 0) return (uint32_t)need;
    uint64_t frames = sounds[handle].frames;
    for (uint32_t i = 0; i < LW_MAX_VOICES; i++) {
        const voice *v = &st.voices[i];
        if (v->kind != SAMPLE || v->sound != handle) continue;
        uint64_t reach = (v->pos >> 16) + ((tick * (uint64_t)(uint32_t)v->rate) >> 16) + 2;
        if (reach > frames && (v->flags & LW_SOUND_LOOP)) return (uint32_t)frames;
        if (reach > need) need = reach;
    }
    return (uint32_t)(need < frames ? need : frames);
}

/* Apply block[0, len) and render this tick's frames (LW_SAMPLE_RATE / tick_rate, the remainder
   carried from tick to tick) to mx_out(); returns the frame count. */
EXPORT("mx_mix")
uint32_t mx_mix(uint32_t len) {
    last_frames = mix_one(block, len > BATCH_BYTES ? BATCH_BYTES : len, out);
    return last_frames;
}

/* Several ticks in one call (what the native host does: each call from Python costs more than
   mixing a silent tick): block holds `count` entries of [u32 length][length bytes, padded to 4];
   their frames follow each other at mx_out() (mx_frames() of them). Returns how many entries it
   mixed, stopping early when the next tick would not fit in mx_out() or an entry overruns the block. */
EXPORT("mx_batch_capacity") uint32_t mx_batch_capacity(void) { return BATCH_BYTES; }
EXPORT("mx_frames") uint32_t mx_frames(void) { return last_frames; }

EXPORT("mx_mix_batch")
uint32_t mx_mix_batch(uint32_t count) {
    uint32_t at = 0, frames = 0, i = 0;
    for (; i < count; i++) {
        if (at + 4 > BATCH_BYTES || frames + max_tick_frames() > MAX_TICK_FRAMES) break;
        uint32_t len = *(const uint32_t *)(block + at);
        if (len > BATCH_BYTES - at - 4) break;
        frames += mix_one(block + at + 4, len, out + frames * 2);
        at += 4 + ((len + 3) & ~3u);
    }
    last_frames = frames;
    return i;
}

/* Add the last mx_mix's samples to the running hash. */
EXPORT("mx_hash_out")
void mx_hash_out(void) {
    sha256_update(&hash, (const uint8_t *)out, last_frames * 4);
}

/* After a snapshot's bytes were written to mx_state(): 0 when they describe a state this mixer can
   run (same tick rate, every field in range), else -1 (the host then refuses the snapshot). */
EXPORT("mx_check_state")
int32_t mx_check_state(uint32_t tick_rate) {
    if (st.magic != STATE_MAGIC || st.version != STATE_VERSION || st.tick_rate != tick_rate) return -1;
    if (st.acc >= st.tick_rate || st.pcm_len > LW_PCM_QUEUE_FRAMES) return -1;
    for (uint32_t i = 0; i < LW_MAX_VOICES; i++) {
        const voice *v = &st.voices[i];
        if (v->kind > TONE || v->wave > LW_WAVE_SINE || v->sound >= LW_MAX_SOUNDS) return -1;
        if (v->rate < 0 || v->rate > LW_MAX_RATE || v->volume < -LW_MAX_VOLUME || v->volume > 2 * LW_MAX_VOLUME) return -1;
        if (v->target < 0 || v->target > LW_MAX_VOLUME || v->fade_left > LW_MAX_STAGE_FRAMES) return -1;
        if (v->fade_step < -LW_MAX_VOLUME || v->fade_step > LW_MAX_VOLUME) return -1;
        if (v->pan < -LW_Q16_ONE || v->pan > LW_Q16_ONE || v->peak < 0 || v->peak > LW_MAX_VOLUME) return -1;
        if (v->level < 0 || v->level > LW_MAX_VOLUME || v->f0 > LW_MAX_FREQUENCY || v->f1 > LW_MAX_FREQUENCY) return -1;
        if (v->attack > LW_MAX_STAGE_FRAMES || v->decay > LW_MAX_STAGE_FRAMES || v->sustain > LW_MAX_STAGE_FRAMES
            || v->release > LW_MAX_STAGE_FRAMES) return -1;
        if (v->kind == TONE && (uint64_t)v->attack + v->decay + v->sustain + v->release == 0) return -1;
    }
    return 0;
}
