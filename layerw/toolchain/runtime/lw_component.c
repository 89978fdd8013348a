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

__attribute__((import_module(LW__HOST_IFACE), import_name("save-read")))
void lw__host_save_read(const char *name, int32_t name_len, int32_t len, uint32_t *ret);

int32_t lw_save_read(const char *name, int32_t name_len, void *dst, int32_t len) {
    if (len < 0 || dst == NULL || name_len <= 0 || name_len > LW_SAVE_NAME_MAX) return LW_SAVE_BAD_ARGUMENT;
    uint32_t *ret = ret_area();  /* option<list<u8>>: u8 tag, then ptr and len at 4 and 8 */
    *alloc_target() = (uint32_t)(uintptr_t)dst;
    lw__host_save_read(name, name_len, len, ret);
    *alloc_target() = 0;
    if ((ret[0] & 0xFF) == 0) {  /* none: the slot's error code, as save-size gives it */
        int32_t code = lw_save_size(name, name_len);
        return code < 0 ? code : LW_SAVE_STORAGE;
    }
    if (ret[1] != (uint32_t)(uintptr_t)dst && ret[2]) __builtin_memmove(dst, (void *)(uintptr_t)ret[1], ret[2]);
    return (int32_t)ret[2];
}

/* --- state: hash, pages, grow, read, write --------------------------------------------------- */

static uint32_t memory_bytes(void) { return (uint32_t)__builtin_wasm_memory_size(0) * 65536u; }

#include "lw_sha256.h"

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
