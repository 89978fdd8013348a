"""Writes ``include/layerw_gpu.h``, the GPU stream's C API, from ``layerw.abi`` (GPU section).

The encoders are static inline functions that append records to the frame being rendered (the
same command list as the 2D commands), so a game's GPU calls cost no host crossing. Ops without a
tail get one generated encoder taking every field; ops with a tail (data, WGSL, descriptor arrays)
get the hand-written encoders of ``GPU_C`` below. The header is C and C++ (``extern "C"``).
"""

from __future__ import annotations

from layerw import abi

TAILLESS = ("DESTROY", "BUFFER", "TEXTURE", "SAMPLER", "END_PASS", "SET_PIPELINE", "SET_BIND_GROUP",
            "SET_VERTEX_BUFFER", "SET_INDEX_BUFFER", "DRAW", "DRAW_INDEXED", "BEGIN_COMPUTE_PASS", "DISPATCH")
# Fields the generated encoder sets itself (the C API predates them); GPU_C has encoders taking them
DEFAULTS: dict[tuple[str, str], int] = {("TEXTURE", "mip_levels"): 1}


def _enum_defines(prefix: str, names: tuple[str, ...] | list[str]) -> list[str]:
    return [f"#define LW_GPU_{prefix}_{n.upper().replace('-', '_')} {i}" for i, n in enumerate(names)]


def _encoder(op: abi.Op) -> str:
    """``lw_gpu_<op>(f, fields...)``: one record (draws extend the previous draw's header)."""
    rec = op.record.name
    fields = [f for f in op.record.fields if f.name != "reserved" and (op.name, f.name) not in DEFAULTS]
    params = "".join(f", {abi.SCALARS[f.type][0]} {f.name}" for f in fields)  # type: ignore[index]
    assigns = " ".join(f"r->{f.name} = {f.name};" for f in fields)
    zero = " r->reserved = 0;" if any(f.name == "reserved" for f in op.record.fields) else ""
    zero += "".join(f" r->{name} = {value};" for (o, name), value in DEFAULTS.items() if o == op.name)
    batch = 1 if op.batch else 0
    return "\n".join([
        f"/* {op.record.doc} */",
        f"static inline void lw_gpu_{op.name.lower()}(lw_frame *f{params}) {{",
        f"    {rec} *r = ({rec} *)lw__push(f, LW_GPU_{op.name}, 0, sizeof({rec}), 1, {batch});",
        f"    if (r) {{ {assigns}{zero} }}",
        "}",
    ])


def c_header(banner: str, struct: object) -> str:
    """The header; ``banner`` is its generated-file line, ``struct`` codegen's C struct writer."""
    defs = [f"#define LW_GPU_{op.name} {op.code}" for op in abi.GPU_OPS]
    defs += [
        f"#define LW_GPU_FRAME {abi.GPU_FRAME}",
        f"#define LW_GPU_MAX_HANDLE {abi.GPU_MAX_HANDLE}",
        f"#define LW_GPU_MAX_RESOURCES {abi.GPU_MAX_RESOURCES}",
        f"#define LW_GPU_MAX_BUFFER_BYTES {abi.GPU_MAX_BUFFER_BYTES}u",
        f"#define LW_GPU_MAX_MEMORY_BYTES {abi.GPU_MAX_MEMORY_BYTES}u",
        f"#define LW_GPU_MAX_TEXTURE_SIZE {abi.GPU_MAX_TEXTURE_SIZE}",
        f"#define LW_GPU_MAX_SHADER_BYTES {abi.GPU_MAX_SHADER_BYTES}",
        f"#define LW_GPU_MAX_COLOR_TARGETS {abi.GPU_MAX_COLOR_TARGETS}",
        f"#define LW_GPU_MAX_VERTEX_BUFFERS {abi.GPU_MAX_VERTEX_BUFFERS}",
        f"#define LW_GPU_MAX_ATTRIBUTES {abi.GPU_MAX_ATTRIBUTES}",
        f"#define LW_GPU_MAX_STRIDE {abi.GPU_MAX_STRIDE}",
        f"#define LW_GPU_MAX_BIND_GROUPS {abi.GPU_MAX_BIND_GROUPS}",
        f"#define LW_GPU_MAX_BINDINGS {abi.GPU_MAX_BINDINGS}",
        f"#define LW_GPU_MAX_PASSES {abi.GPU_MAX_PASSES}",
        f"#define LW_GPU_MAX_DRAWS {abi.GPU_MAX_DRAWS}",
        f"#define LW_GPU_MAX_VERTICES {abi.GPU_MAX_VERTICES}u",
        f"#define LW_GPU_UNIFORM_ALIGN {abi.GPU_UNIFORM_ALIGN}",
        f"#define LW_GPU_MAX_WORKGROUPS {abi.GPU_MAX_WORKGROUPS}u",
        f"#define LW_GPU_MAX_WORKGROUPS_PER_DIMENSION {abi.GPU_MAX_WORKGROUPS_PER_DIMENSION}u",
        f"#define LW_GPU_MAX_LOOP_ITERATIONS {abi.GPU_MAX_LOOP_ITERATIONS}u",
    ]
    defs += [f"#define LW_GPU_KIND_{k} {v}" for k, v in abi.GPU_KINDS.items()]
    defs += [f"#define LW_GPU_BUFFER_{k} {v}" for k, v in abi.GPU_BUFFER_USAGE.items()]
    defs += [f"#define LW_GPU_TEXTURE_{k} {v}" for k, v in abi.GPU_TEXTURE_USAGE.items()]
    defs += [f"#define LW_GPU_VISIBILITY_{k} {v}" for k, v in abi.GPU_VISIBILITY.items()]
    defs += _enum_defines("FORMAT", list(abi.GPU_TEXTURE_FORMATS))
    defs += _enum_defines("VERTEX", list(abi.GPU_VERTEX_FORMATS))
    defs += _enum_defines("BINDING", abi.GPU_BINDING_TYPES)
    defs += _enum_defines("TOPOLOGY", abi.GPU_TOPOLOGIES)
    defs += _enum_defines("CULL", abi.GPU_CULL_MODES)
    defs += _enum_defines("FRONT", abi.GPU_FRONT_FACES)
    defs += _enum_defines("COMPARE", abi.GPU_COMPARE)
    defs += _enum_defines("FILTER", abi.GPU_FILTERS)
    defs += _enum_defines("ADDRESS", abi.GPU_ADDRESS_MODES)
    defs += _enum_defines("BLEND", abi.GPU_BLENDS)
    defs += _enum_defines("STEP", abi.GPU_STEP_MODES)
    defs += _enum_defines("INDEX", abi.GPU_INDEX_FORMATS)
    defs += _enum_defines("LOAD", abi.GPU_LOAD_OPS)
    defs += _enum_defines("STORE", abi.GPU_STORE_OPS)
    parts = [
        f"/* {banner} */",
        "/* Layer-W GPU API: a WebGPU-shaped stream in the frame's command list (see layerw/abi.py).",
        "   Handles are chosen by the game (1 .. LW_GPU_MAX_HANDLE - 1, one namespace per kind); resources",
        "   live across frames. When lw_gpu_fresh(f) is true the host holds none of them (first frame,",
        "   after a restore or a join): call lw_gpu_reset(f) and declare every resource again. */",
        "#ifndef LAYERW_GPU_H",
        "#define LAYERW_GPU_H",
        '#include "layerw.h"',
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        "\n".join(defs),
        "",
        "\n\n".join(struct(s) for s in abi.GPU_STRUCTS),  # type: ignore[operator]
        "",
        "\n\n".join(_encoder(op) for op in abi.GPU_OPS if op.name in TAILLESS),
        "",
        GPU_C,
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "#endif /* LAYERW_GPU_H */",
        "",
    ]
    return "\n".join(parts)


GPU_C = r"""/* True when this frame must declare the game's GPU resources (after lw_gpu_reset). */
static inline int lw_gpu_fresh(const lw_frame *f) { return f->gpu_fresh != 0; }

/* Append a header, one record of `size` bytes and a tail of `tail` bytes (padded to 4, the padding
   zeroed); returns the record (the tail follows it), NULL (counted as dropped) when it does not fit. */
static inline void *lw__gpu_push(lw_frame *f, uint32_t op, uint32_t size, uint32_t tail) {
    uint32_t padded = (tail + 3u) & ~3u;
    if (tail > f->cap) { f->dropped += 1; return NULL; }
    void *r = lw__push(f, op, tail, size + padded, 1, 0);  /* one record: the header's arg is the tail's length */
    if (!r) return NULL;
    uint8_t *end = (uint8_t *)r + size;
    for (uint32_t i = tail; i < padded; i++) end[i] = 0;
    return r;
}
static inline void lw__gpu_copy(void *dst, const void *src, uint32_t n) {
    const uint8_t *s = (const uint8_t *)src; uint8_t *d = (uint8_t *)dst;
    for (uint32_t i = 0; i < n; i++) d[i] = s[i];
}

/* Destroy every GPU resource of the game; declare them again after it. */
static inline void lw_gpu_reset(lw_frame *f) {
    lw_gpu_reset_rec *r = (lw_gpu_reset_rec *)lw__gpu_push(f, LW_GPU_RESET, sizeof *r, 0);
    if (r) r->reserved = 0;
}

/* Room for `len` bytes written into buffer `handle` at `offset`: fill it in place (no copy). */
static inline void *lw_gpu_write_buffer_reserve(lw_frame *f, uint32_t handle, uint32_t offset, uint32_t len) {
    lw_gpu_write_buffer_rec *r = (lw_gpu_write_buffer_rec *)lw__gpu_push(f, LW_GPU_WRITE_BUFFER, sizeof *r, len);
    if (!r) return NULL;
    r->handle = handle; r->offset = offset;
    return r + 1;
}
static inline void lw_gpu_write_buffer(lw_frame *f, uint32_t handle, uint32_t offset, const void *data, uint32_t len) {
    void *dst = lw_gpu_write_buffer_reserve(f, handle, offset, len);
    if (dst) lw__gpu_copy(dst, data, len);
}

/* A texture of `mip_levels` levels (lw_gpu_texture makes one): write each with lw_gpu_write_texture_level. */
static inline void lw_gpu_texture_mips(lw_frame *f, uint32_t handle, uint32_t width, uint32_t height, uint32_t format,
                                       uint32_t usage, uint32_t mip_levels) {
    lw_gpu_texture_rec *r = (lw_gpu_texture_rec *)lw__push(f, LW_GPU_TEXTURE, 0, sizeof(lw_gpu_texture_rec), 1, 0);
    if (r) { r->handle = handle; r->width = width; r->height = height; r->format = format; r->usage = usage;
             r->mip_levels = mip_levels; }
}

/* Write `height` rows of `bytes_per_row` bytes into a rect of a colour texture's mip level `level`. */
static inline void lw_gpu_write_texture_level(lw_frame *f, uint32_t handle, uint32_t level, uint32_t x, uint32_t y,
                                              uint32_t width, uint32_t height, uint32_t bytes_per_row, const void *data) {
    uint32_t len = height * bytes_per_row;
    lw_gpu_write_texture_rec *r = (lw_gpu_write_texture_rec *)lw__gpu_push(f, LW_GPU_WRITE_TEXTURE, sizeof *r, len);
    if (!r) return;
    r->handle = handle; r->x = x; r->y = y; r->width = width; r->height = height; r->bytes_per_row = bytes_per_row;
    r->mip_level = level;
    lw__gpu_copy(r + 1, data, len);
}
/* Write `height` rows of `bytes_per_row` bytes into a colour texture's rect (its first mip level). */
static inline void lw_gpu_write_texture(lw_frame *f, uint32_t handle, uint32_t x, uint32_t y, uint32_t width,
                                        uint32_t height, uint32_t bytes_per_row, const void *data) {
    lw_gpu_write_texture_level(f, handle, 0, x, y, width, height, bytes_per_row, data);
}

/* A WGSL module from `len` bytes of source (e.g. an asset read at lw_game_init). */
static inline void lw_gpu_shader(lw_frame *f, uint32_t handle, const char *code, uint32_t len) {
    lw_gpu_shader_rec *r = (lw_gpu_shader_rec *)lw__gpu_push(f, LW_GPU_SHADER, sizeof *r, len);
    if (!r) return;
    r->handle = handle; r->reserved = 0;
    lw__gpu_copy(r + 1, code, len);
}

static inline void lw_gpu_layout(lw_frame *f, uint32_t handle, const lw_gpu_layout_entry *entries, uint32_t n) {
    uint32_t len = n * (uint32_t)sizeof *entries;
    lw_gpu_layout_rec *r = (lw_gpu_layout_rec *)lw__gpu_push(f, LW_GPU_LAYOUT, sizeof *r, len);
    if (!r) return;
    r->handle = handle; r->entry_count = n;
    lw__gpu_copy(r + 1, entries, len);
}

/* A render pipeline: `rec`'s counts say how many of each array are read; vs and fs name entry points. */
typedef struct lw_gpu_pipeline_desc {
    lw_gpu_pipeline_rec rec;
    const lw_gpu_color_target *colors;
    const lw_gpu_vertex_buffer *buffers;
    const lw_gpu_attribute *attributes;
    const char *vs, *fs;
} lw_gpu_pipeline_desc;

static inline void lw_gpu_pipeline(lw_frame *f, const lw_gpu_pipeline_desc *d) {
    uint32_t vs = (uint32_t)__builtin_strlen(d->vs), fs = (uint32_t)__builtin_strlen(d->fs);
    uint32_t colors = d->rec.color_count * (uint32_t)sizeof(lw_gpu_color_target);
    uint32_t buffers = d->rec.buffer_count * (uint32_t)sizeof(lw_gpu_vertex_buffer);
    uint32_t attributes = d->rec.attribute_count * (uint32_t)sizeof(lw_gpu_attribute);
    lw_gpu_pipeline_rec *r = (lw_gpu_pipeline_rec *)lw__gpu_push(f, LW_GPU_PIPELINE, sizeof *r,
                                                                 colors + buffers + attributes + vs + fs);
    if (!r) return;
    *r = d->rec;
    r->vs_len = vs; r->fs_len = fs;
    uint8_t *t = (uint8_t *)(r + 1);
    lw__gpu_copy(t, d->colors, colors); t += colors;
    lw__gpu_copy(t, d->buffers, buffers); t += buffers;
    lw__gpu_copy(t, d->attributes, attributes); t += attributes;
    lw__gpu_copy(t, d->vs, vs); t += vs;
    lw__gpu_copy(t, d->fs, fs);
}

/* A compute pipeline running entry point `entry` of `shader`, on `layout_count` layouts (0: auto). */
static inline void lw_gpu_compute_pipeline(lw_frame *f, uint32_t handle, uint32_t shader, const uint32_t *layouts,
                                           uint32_t layout_count, const char *entry) {
    uint32_t n = (uint32_t)__builtin_strlen(entry);
    lw_gpu_compute_pipeline_rec *r = (lw_gpu_compute_pipeline_rec *)lw__gpu_push(f, LW_GPU_COMPUTE_PIPELINE, sizeof *r, n);
    if (!r) return;
    r->handle = handle; r->shader = shader; r->layout_count = layout_count; r->entry_len = n;
    for (uint32_t i = 0; i < LW_GPU_MAX_BIND_GROUPS; i++) r->layouts[i] = i < layout_count ? layouts[i] : 0;
    lw__gpu_copy(r + 1, entry, n);
}

/* A bind group on layout `layout`, or (layout 0) on group `group` of `pipeline`'s auto layout. */
static inline void lw_gpu_bind_group(lw_frame *f, uint32_t handle, uint32_t layout, uint32_t pipeline, uint32_t group,
                                     const lw_gpu_bind_entry *entries, uint32_t n) {
    uint32_t len = n * (uint32_t)sizeof *entries;
    lw_gpu_bind_group_rec *r = (lw_gpu_bind_group_rec *)lw__gpu_push(f, LW_GPU_BIND_GROUP, sizeof *r, len);
    if (!r) return;
    r->handle = handle; r->layout = layout; r->pipeline = pipeline; r->group = group; r->entry_count = n;
    lw__gpu_copy(r + 1, entries, len);
}

/* Begin a render pass into `n` colour attachments and an optional depth texture (0: none), cleared to `depth_clear`. */
static inline void lw_gpu_begin_pass(lw_frame *f, const lw_gpu_color_attachment *colors, uint32_t n,
                                     uint32_t depth_texture, float depth_clear) {
    uint32_t len = n * (uint32_t)sizeof *colors;
    lw_gpu_pass_rec *r = (lw_gpu_pass_rec *)lw__gpu_push(f, LW_GPU_BEGIN_PASS, sizeof *r, len);
    if (!r) return;
    r->color_count = n; r->depth_texture = depth_texture; r->depth_load_op = LW_GPU_LOAD_CLEAR;
    r->depth_store_op = LW_GPU_STORE_STORE; r->depth_clear = depth_clear; r->reserved = 0;
    lw__gpu_copy(r + 1, colors, len);
}"""
