/* lwspeaker: the speaker's device side in C, so that miniaudio's device thread never waits for the GIL.
 *
 * lw_ring_*: interleaved s16 stereo frames from the game's thread (the one writer) to the device's
 * callback (the one reader), lock-free. Indices count frames since the start and only grow; a frame
 * lives in slot index % capacity. The writer owns `write`; both move `read`, by compare-and-swap: the
 * reader past what it took, the writer past what it drops when a write would overflow (the oldest
 * go). A reader whose swap fails took frames the writer dropped (and may have overwritten) meanwhile:
 * it reads again from the new start. lw_declick_*: an underrun's edges ramped instead of stepped.
 * lw_speaker_data: the device's data callback (miniaudio's ma_device_data_proc).
 *
 * The structs are declared in lwspeaker_layout.h, generated at build time from the ctypes layouts in
 * layerw/play/speaker_layout.py (one source for both sides). Built by layerw/play/speaker_library.py.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "lwspeaker_layout.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RELAXED_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RELAXED_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define CAS(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define READ_TRIES 8 /* a reader overtaken this often in one callback plays silence for it (an underrun) */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Python's floor division (the ramps round toward minus infinity, as numpy's // did). */
static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t lw_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t lw_layout_size(int which) {
    return which == 0 ? (int64_t)sizeof(lw_ring) : which == 1 ? (int64_t)sizeof(lw_declick) : (int64_t)sizeof(lw_speaker);
}

/* Copy frames [from, to) of `src` (whose first frame has index `first`) into their slots. */
static void put(lw_ring *r, const int16_t *src, int64_t first, int64_t from, int64_t to) {
    while (from < to) {
        int64_t slot = from % r->capacity, n = min64(to - from, r->capacity - slot);
        if (src) memcpy(r->slots + 2 * slot, src + 2 * (from - first), (size_t)n * LW_FRAME_BYTES);
        else memset(r->slots + 2 * slot, 0, (size_t)n * LW_FRAME_BYTES);
        from += n;
    }
}

/* The writer: `frames` frames at `now_ns` (-1: now). A dry ring gets silence ahead of them up to the
 * target (as far as the capacity leaves room); past the capacity the oldest frames are dropped. */
void lw_ring_write(lw_ring *r, const int16_t *src, int64_t frames, int64_t now_ns) {
    int64_t stamp = now_ns < 0 ? lw_now_ns() : now_ns;
    __atomic_add_fetch(&r->writes, 1, __ATOMIC_ACQ_REL); /* first: a reader that sees no write yet took no frame */
    int64_t w = r->write, start = LOAD(&r->read);
    if (__atomic_exchange_n(&r->dry, 0, __ATOMIC_ACQ_REL)) {
        int64_t gap = min64(RELAXED_LOAD(&r->target), r->capacity - frames) - (w - start);
        if (gap > 0) { /* at most the room left: gap <= capacity - (w - start) */
            put(r, NULL, w, w, w + gap);
            r->silence_start = w;
            r->silence_end = w + gap;
            w += gap;
            r->primed += gap;
        }
    }
    int64_t marks = r->marks_pushed;
    if (marks - LOAD(&r->marks_taken) < LW_MARKS) { /* a full queue (nobody reads) leaves this write untimed */
        r->mark_index[marks % LW_MARKS] = w;
        r->mark_stamp[marks % LW_MARKS] = stamp;
        STORE(&r->marks_pushed, marks + 1);
    }
    int64_t end = w + frames, keep = end - r->capacity; /* the ring must start at `keep` at least */
    for (;;) {
        start = LOAD(&r->read);
        if (start >= keep) break;
        if (CAS(&r->read, &start, keep)) {
            int64_t lost = keep - start;
            int64_t silent = max64(0, min64(keep, r->silence_end) - max64(start, r->silence_start));
            r->dropped += lost - silent;
            r->silence_dropped += silent;
            break;
        }
    }
    put(r, src, w, max64(w, keep), end);
    STORE(&r->write, end);
}

/* The reader: up to `frames` frames into `out`; how many it took (fewer: the ring ran dry). */
int64_t lw_ring_read(lw_ring *r, int16_t *out, int64_t frames, int64_t now_ns) {
    int64_t stamp = now_ns < 0 ? lw_now_ns() : now_ns, start = 0, got = 0;
    for (int tries = 0; tries < READ_TRIES; tries++) {
        start = LOAD(&r->read);
        got = min64(frames, LOAD(&r->write) - start);
        for (int64_t i = start; i < start + got;) {
            int64_t slot = i % r->capacity, n = min64(start + got - i, r->capacity - slot);
            memcpy(out + 2 * (i - start), r->slots + 2 * slot, (size_t)n * LW_FRAME_BYTES);
            i += n;
        }
        int64_t expected = start;
        if (CAS(&r->read, &expected, start + got)) break;
        got = 0; /* overtaken: what was copied may be overwritten */
    }
    if (got < frames) STORE(&r->dry, 1);
    int64_t taken = r->marks_taken, pushed = LOAD(&r->marks_pushed);
    while (taken < pushed && r->mark_index[taken % LW_MARKS] < start + got) {
        if (r->mark_index[taken % LW_MARKS] >= start) { /* its first frame was played now, not dropped */
            int64_t waits = r->waits_total;
            RELAXED_STORE(&r->waits[waits % LW_WAITS], stamp - r->mark_stamp[taken % LW_MARKS]);
            STORE(&r->waits_total, waits + 1);
        }
        taken++;
    }
    STORE(&r->marks_taken, taken);
    return got;
}

static int any(const int16_t *frame) { return frame[0] != 0 || frame[1] != 0; }

/* Ramp frames [0, got) of `block` up from zero: from the first non-silent one after a gap, or on from
 * where the last read's ramp stopped. */
static void rise(lw_declick *d, int16_t *block, int64_t got) {
    int64_t start = 0;
    if (d->rising < 0) {
        while (start < got && !any(block + 2 * start)) start++;
        if (start == got) return; /* still the silence put ahead of the next write */
        d->rising = 0;
        d->gapped = 0;
    }
    int64_t n = min64(got - start, d->ramp - d->rising);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++)
            block[2 * (start + i) + c] = (int16_t)floordiv(block[2 * (start + i) + c] * (d->rising + i), d->ramp);
    d->rising += n;
    if (d->rising >= d->ramp) d->rising = -1;
}

/* `frames` frames for the device in `block`, whose first `got` came from the ring: eased in after a
 * gap, then the missing ones ramping down from the last frame played. */
void lw_declick_fill(lw_declick *d, int16_t *block, int64_t got, int64_t frames) {
    if (got && (d->gapped || d->rising >= 0)) rise(d, block, got);
    if (got < frames) {
        int64_t from[2] = {got ? block[2 * (got - 1)] : d->last[0], got ? block[2 * (got - 1) + 1] : d->last[1]};
        int64_t n = min64(frames - got, d->ramp);
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < 2; c++)
                block[2 * (got + i) + c] = (int16_t)floordiv(from[c] * (d->ramp - 1 - i), d->ramp);
        memset(block + 2 * (got + n), 0, (size_t)(frames - got - n) * LW_FRAME_BYTES);
        d->gapped = 1;
        d->rising = -1;
    }
    if (frames) {
        d->last[0] = block[2 * (frames - 1)];
        d->last[1] = block[2 * (frames - 1) + 1];
    }
}

/* One device callback: the ring's frames, declicked; an underrun counted (once the game has written)
 * and the next write's target moved a step further ahead. Never blocks, never calls Python. */
void lw_speaker_callback(lw_speaker *s, int16_t *out, int64_t frames) {
    int64_t now = lw_now_ns();
    if (!RELAXED_LOAD(&s->thread_id)) {
#ifdef __linux__
        RELAXED_STORE(&s->thread_id, (int64_t)syscall(SYS_gettid));
#else
        RELAXED_STORE(&s->thread_id, -1);
#endif
    }
    if (s->last_callback_ns) {
        int64_t gaps = s->gaps_total;
        RELAXED_STORE(&s->gaps[gaps % LW_GAPS], now - s->last_callback_ns);
        STORE(&s->gaps_total, gaps + 1);
    }
    s->last_callback_ns = now;
    lw_ring *r = s->ring;
    int64_t started = LOAD(&r->writes); /* read before the ring: 0 means no frame was in it */
    int64_t got = lw_ring_read(r, out, frames, now);
    if (!started) RELAXED_STORE(&s->frames_unstarted, s->frames_unstarted + frames - got);
    else if (got < frames) {
        RELAXED_STORE(&s->underruns, s->underruns + 1);
        RELAXED_STORE(&s->frames_missing, s->frames_missing + frames - got);
        RELAXED_STORE(&r->target, min64(s->max_target, RELAXED_LOAD(&r->target) + s->step));
    }
    lw_declick_fill(s->declick, out, got, frames);
    STORE(&s->frames_played, s->frames_played + frames);
}

/* miniaudio's ma_device_data_proc: the speaker is the device's pUserData (LW_USER_DATA_OFFSET bytes
 * into ma_device, measured from pyminiaudio's cffi declarations when this library is built). */
void lw_speaker_data(void *device, void *output, const void *input, uint32_t frames) {
    (void)input;
    lw_speaker *s = *(lw_speaker **)((char *)device + LW_USER_DATA_OFFSET);
    lw_speaker_callback(s, (int16_t *)output, frames);
}
