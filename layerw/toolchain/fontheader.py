"""The font helpers of ``layerw.h``: UTF-8 decoding, lw_font_load, lw_font_text and measuring.

Kept beside ``codegen`` (which writes them into the header) because they are C, not a table of
constants. Fonts draw in the guest as SPRITES records with the atlas as texture (see ``abi.FONT_FILE``),
so no host or renderer needs a font path of its own and every renderer draws the same texels.
"""

from __future__ import annotations

from layerw import abi

DEFINES = (
    f"#define LW_FONT_MAGIC 0x{abi.FONT_MAGIC:08X}u",
    f"#define LW_FONT_VERSION {abi.FONT_VERSION}",
    "#define LW_UTF8_INVALID 0xFFFFFFFFu  /* lw_utf8_next: a malformed sequence (one byte skipped) */",
)

FONT_C = """/* --- fonts from assets: [assets] fonts = ["ui.ttf:16"] in layerw.toml; `layerw build` rasterises
   each into the preloaded assets NAME.png and NAME.font (NAME: "ui-16"). Text is UTF-8; a code point
   the font lacks draws its replacement glyph (the sprite's `reserved` says which, for dev checks). */
typedef struct lw_font {
    int32_t texture;                 /* the atlas image asset, NAME.png */
    uint32_t count, replacement;     /* glyphs; index of the glyph drawn for a missing code point */
    int32_t line_height, ascent;     /* pixels */
    const lw_glyph_rec *glyphs;      /* sorted by code point; allocated once by lw_font_load */
} lw_font;

/* The code point at *s, advancing *s past it; LW_UTF8_INVALID (advancing one byte) when malformed. */
static inline uint32_t lw_utf8_next(const char **s) {
    const uint8_t *p = (const uint8_t *)*s;
    uint32_t c = p[0], n, least;
    if (c < 0x80u) { *s += 1; return c; }
    if ((c & 0xE0u) == 0xC0u) { n = 1; c &= 0x1Fu; least = 0x80u; }
    else if ((c & 0xF0u) == 0xE0u) { n = 2; c &= 0x0Fu; least = 0x800u; }
    else if ((c & 0xF8u) == 0xF0u) { n = 3; c &= 0x07u; least = 0x10000u; }
    else { *s += 1; return LW_UTF8_INVALID; }
    for (uint32_t i = 1; i <= n; i++) {  /* a NUL is no continuation byte, so this stops at the end */
        if ((p[i] & 0xC0u) != 0x80u) { *s += 1; return LW_UTF8_INVALID; }
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    if (c < least || c > 0x10FFFFu || (c >= 0xD800u && c <= 0xDFFFu)) { *s += 1; return LW_UTF8_INVALID; }
    *s += n + 1;
    return c;
}

/* Load font `name` (its NAME.font and NAME.png assets) into *font: 0, or -1 when either asset is
   missing or not ready, or NAME.font is no font table of this LW_FONT_VERSION. Call it once, from
   lw_game_init: it allocates the glyph table (game state, like any heap memory). */
static inline int32_t lw_font_load(lw_font *font, const char *name) {
    char path[256];
    uint32_t n = (uint32_t)__builtin_strlen(name);
    if (n + sizeof(".font") > sizeof path) return -1;
    __builtin_memcpy(path, name, n);
    __builtin_memcpy(path + n, ".font", sizeof(".font"));
    int32_t table = lw_asset(path);
    __builtin_memcpy(path + n, ".png", sizeof(".png"));
    int32_t texture = lw_asset(path);
    lw_font_file head;
    int32_t size = table > 0 ? lw_asset_size(table) : -1;
    if (texture <= 0 || size < (int32_t)sizeof head
        || lw_asset_read(table, 0, &head, (int32_t)sizeof head) != (int32_t)sizeof head) return -1;
    uint32_t bytes = head.glyph_count * (uint32_t)sizeof(lw_glyph_rec);
    if (head.magic != LW_FONT_MAGIC || head.version != LW_FONT_VERSION || head.replacement >= head.glyph_count
        || head.glyph_count > (1u << 21) || (uint32_t)size != sizeof head + bytes) return -1;
    lw_glyph_rec *glyphs = (lw_glyph_rec *)__builtin_malloc(bytes);
    if (!glyphs) return -1;
    if (lw_asset_read(table, (int32_t)sizeof head, glyphs, (int32_t)bytes) != (int32_t)bytes) {
        __builtin_free(glyphs);
        return -1;
    }
    font->texture = texture; font->count = head.glyph_count; font->replacement = head.replacement;
    font->line_height = head.line_height; font->ascent = head.ascent; font->glyphs = glyphs;
    return 0;
}

/* The glyph of code point c, or NULL when the font lacks it. */
static inline const lw_glyph_rec *lw_font_glyph(const lw_font *font, uint32_t c) {
    uint32_t lo = 0, hi = font->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (font->glyphs[mid].codepoint < c) lo = mid + 1; else hi = mid;
    }
    return lo < font->count && font->glyphs[lo].codepoint == c ? &font->glyphs[lo] : (const lw_glyph_rec *)0;
}

/* UTF-8 text `s` in `font` with its first line's top-left at (x, y), in one colour; each '\\n' starts a
   line font->line_height lower. Glyphs are sprites of the atlas at their rasterised size: crisp at
   whole-pixel positions. */
static inline void lw_font_text(lw_frame *f, const lw_font *font, float x, float y, uint32_t color, const char *s) {
    float pen = x;
    while (*s) {
        uint32_t c = lw_utf8_next(&s);
        if (c == '\\n') { pen = x; y += (float)font->line_height; continue; }
        const lw_glyph_rec *g = lw_font_glyph(font, c);
        uint32_t missing = g ? 0u : c;
        if (!g) g = &font->glyphs[font->replacement];
        if (g->sw && g->sh) {
            lw_sprite_rec *r = lw_sprites_reserve(f, (uint32_t)font->texture, 1);
            if (r) {
                r->x = pen + (float)g->dx; r->y = y + (float)g->dy; r->w = (float)g->sw; r->h = (float)g->sh;
                r->sx = (float)g->sx; r->sy = (float)g->sy; r->sw = (float)g->sw; r->sh = (float)g->sh;
                r->rotation = 0; r->tint = color; r->flags = 0; r->reserved = missing;
            }
        }
        pen += (float)g->advance;
    }
}

/* Width of the widest line and height of all lines of `s` in `font`, in pixels (as lw_font_text draws). */
static inline float lw_font_width(const lw_font *font, const char *s) {
    int32_t widest = 0, line = 0;
    while (*s) {
        uint32_t c = lw_utf8_next(&s);
        if (c == '\\n') { line = 0; continue; }
        const lw_glyph_rec *g = lw_font_glyph(font, c);
        line += (g ? g : &font->glyphs[font->replacement])->advance;
        if (line > widest) widest = line;
    }
    return (float)widest;
}
static inline float lw_font_height(const lw_font *font, const char *s) {
    int32_t lines = 1;
    for (; *s; s++) lines += *s == '\\n';
    return (float)(lines * font->line_height);
}"""
