/* Layer-W component glue: the canonical ABI side of the `layerw:game` world (wit/game.wit) for a
   C game. `layerw build --component` links it beside lw_runtime.c (both with -DLW_COMPONENT); the
   game's own code is unchanged.

   It owns no data: scratch (return areas, where the next list the host returns should land, the
   state digest) lives in the command buffer's tail (LW_COMMAND_SCRATCH), and every list the host
   passes in lands in the command buffer itself (cabi_realloc). So the game's memory layout, and
   with it the state hash, is the core build's byte for byte. SHA-256's constants are computed, not
   tabled, for the same reason.
   Spec: https://github.com/WebAssembly/component-model/blob/main/design/mvp/CanonicalABI.md */
#include "layerw.h"

extern lw_input lw__input;
extern uint8_t lw__commands[LW_COMMAND_CAPACITY];
extern lw_io lw__io;
extern unsigned char __global_base;
uint32_t lw_init(uint32_t seed_lo, uint32_t seed_hi);
void lw_tick(void);
uint32_t lw_render(void);

#define LW__HOST_IFACE "layerw:game/host@1.0.0"
#define LW__STATE(name) __attribute__((export_name("layerw:game/state@1.0.0#" name)))
#define LW__FRAME_MAX (LW_COMMAND_CAPACITY - LW_COMMAND_SCRATCH)

/* Scratch layout: [0, 12) return area, [12, 16) allocation target, [16, 48) digest; the last
   4 bytes are lw_render's dropped-record count. */
static inline uint8_t *scratch(void) { return lw__commands + LW__FRAME_MAX; }
static inline uint32_t *ret_area(void) { return (uint32_t *)scratch(); }
static inline uint32_t *alloc_target(void) { return (uint32_t *)(scratch() + 12); }

/* For plugin import glue (physics_import.c): where an import's results go. */
uint32_t *lw__ret_area(void) { return ret_area(); }

/* Lists from the host land where the glue asked (asset reads: straight into the game's buffer) or
   else at the start of the command buffer, which is not game state between frames. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    (void)old; (void)old_size; (void)align;
    uint32_t target = *alloc_target();
    if (target) {
        *alloc_target() = 0;
        return (void *)(uintptr_t)target;
    }
    if (new_size > LW__FRAME_MAX) __builtin_trap();
    return lw__commands;
}

/* --- the world's exports --------------------------------------------------------------------- */

__attribute__((export_name("init")))
lw_io *lw__component_init(uint64_t seed) {
    /* lw_io is laid out as the WIT record `io`: its address is the canonical return pointer. */
    return (lw_io *)(uintptr_t)lw_init((uint32_t)seed, (uint32_t)(seed >> 32));
}

__attribute__((export_name("tick")))
uint32_t *lw__component_tick(const uint8_t *input, size_t len) {
    if (len != sizeof lw__input) __builtin_trap();
    __builtin_memcpy(&lw__input, input, sizeof lw__input);
    lw_tick();
    uint32_t *ret = ret_area();  /* list<u8>: the tick's sound commands, where they lie */
    ret[0] = lw__io.snd_ptr;
    ret[1] = lw__io.snd_len;
    return ret;
}

__attribute__((export_name("render")))
uint32_t *lw__component_render(void) {
    uint32_t n = lw_render();
    uint32_t *ret = ret_area();  /* record frame { commands: list<u8>, dropped: u32 } */
    ret[0] = (uint32_t)(uintptr_t)lw__commands;
    ret[1] = n;
    ret[2] = *(uint32_t *)(lw__commands + LW_COMMAND_CAPACITY - 4);
    return ret;
}

/* --- host functions whose lowering differs from the core signature ------------------------------ */

__attribute__((import_module(LW__HOST_IFACE), import_name("asset-read")))
void lw__host_asset_read(int32_t handle, int32_t offset, int32_t len, uint32_t *ret);

int32_t lw_asset_read(int32_t handle, int32_t offset, void *dst, int32_t len) {
    if (len < 0 || dst == NULL) return -1;
    uint32_t *ret = ret_area();  /* option<list<u8>>: u8 tag, then ptr and len at 4 and 8 */
    *alloc_target() = (uint32_t)(uintptr_t)dst;
    lw__host_asset_read(handle, offset, len, ret);
    *alloc_target() = 0;
    if ((ret[0] & 0xFF) == 0) return -1;
    if (ret[1] != (uint32_t)(uintptr_t)dst && ret[2]) __builtin_memmove(dst, (void *)(uintptr_t)ret[1], ret[2]);
    return (int32_t)ret[2];
}

/* --- state: hash, pages, grow, read, write --------------------------------------------------- */

static uint32_t memory_bytes(void) { return (uint32_t)__builtin_wasm_memory_size(0) * 65536u; }

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

LW__STATE("hash")
uint32_t *lw__component_hash(void) {
    /* Exactly what the core host hashes: [state_begin, end of memory) minus the command buffer. */
    sha256 s;  /* on the shadow stack, below state_begin */
    uint8_t *cmd = lw__commands, *digest = scratch() + 16;
    sha256_init(&s);
    uint32_t begin = (uint32_t)(uintptr_t)&__global_base, cmd_at = (uint32_t)(uintptr_t)cmd;
    sha256_update(&s, (const uint8_t *)(uintptr_t)begin, cmd_at - begin);
    sha256_update(&s, cmd + LW_COMMAND_CAPACITY, memory_bytes() - cmd_at - LW_COMMAND_CAPACITY);
    sha256_final(&s, digest);
    uint32_t *ret = ret_area();
    ret[0] = (uint32_t)(uintptr_t)digest;
    ret[1] = 32;
    return ret;
}

LW__STATE("pages")
uint32_t lw__component_pages(void) { return (uint32_t)__builtin_wasm_memory_size(0); }

LW__STATE("grow")
int32_t lw__component_grow(uint32_t delta) { return (int32_t)__builtin_wasm_memory_grow(0, delta); }

LW__STATE("read")
uint32_t *lw__component_read(uint32_t offset, uint32_t len) {
    uint32_t *ret = ret_area();  /* the host lifts the bytes in place; bounds are checked there */
    ret[0] = offset;
    ret[1] = len;
    return ret;
}

LW__STATE("write")
void lw__component_write(uint32_t offset, const uint8_t *data, size_t len) {
    if ((uint64_t)offset + len > memory_bytes()) __builtin_trap();
    __builtin_memmove((uint8_t *)(uintptr_t)offset, data, len);
}
