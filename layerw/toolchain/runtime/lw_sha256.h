/* SHA-256 (FIPS 180-4) for guest-side code: the component glue's state hash (lw_component.c) and
   the mixer's audio hash (lw_mixer.c). Static functions only, so it is compiled into each user;
   the constants are computed, not tabled, so a user keeps no data of its own.
   Spec: https://csrc.nist.gov/pubs/fips/180-4/upd1/final */
#ifndef LW_SHA256_H
#define LW_SHA256_H
#include <stdint.h>

/* floor(root(p) * 2^32) mod 2^32, the fractional bits SHA-256 takes its constants from. */
static uint32_t frac_root(uint32_t p, int cube) {
    unsigned __int128 want = (unsigned __int128)p << (cube ? 96 : 64), lo = 0, hi = (unsigned __int128)1 << 42;
    while (hi - lo > 1) {
        unsigned __int128 mid = (lo + hi) / 2, pw = cube ? mid * mid * mid : mid * mid;
        if (pw <= want) lo = mid; else hi = mid;
    }
    return (uint32_t)lo;
}

typedef struct { uint32_t h[8], k[64]; uint8_t block[64]; uint32_t fill; uint64_t total; } sha256;

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256 *s) {
    for (uint32_t p = 2, found = 0; found < 64; p++) {
        uint32_t prime = 1;
        for (uint32_t d = 2; d * d <= p; d++) if (p % d == 0) { prime = 0; break; }
        if (!prime) continue;
        if (found < 8) s->h[found] = frac_root(p, 0);
        s->k[found++] = frac_root(p, 1);
    }
    s->fill = 0;
    s->total = 0;
}

static void sha256_block(sha256 *s, const uint8_t *b) {
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (int i = 0; i < 8; i++) v[i] = s->h[i];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + s->k[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        v[7] = v[6]; v[6] = v[5]; v[5] = v[4]; v[4] = v[3] + t1;
        v[3] = v[2]; v[2] = v[1]; v[1] = v[0]; v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) s->h[i] += v[i];
}

static void sha256_update(sha256 *s, const uint8_t *p, uint32_t n) {
    s->total += n;
    while (n) {
        if (s->fill == 0 && n >= 64) { sha256_block(s, p); p += 64; n -= 64; continue; }
        uint32_t take = 64 - s->fill < n ? 64 - s->fill : n;
        __builtin_memcpy(s->block + s->fill, p, take);
        s->fill += take; p += take; n -= take;
        if (s->fill == 64) { sha256_block(s, s->block); s->fill = 0; }
    }
}

static void sha256_final(sha256 *s, uint8_t out[32]) {
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = {0x80};
    uint32_t n = (s->fill < 56 ? 56 : 120) - s->fill;
    for (int i = 0; i < 8; i++) pad[n + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, n + 8);
    for (int i = 0; i < 32; i++) out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

#endif /* LW_SHA256_H */
