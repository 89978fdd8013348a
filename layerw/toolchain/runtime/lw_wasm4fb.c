// lw_wasm4fb.c: WASM-4's drawing functions (blit, blitSub, line, hline, vline, rect, oval, text)
// as one wasm module that imports the cart's own memory, so every host links a cart's env imports
// straight to these exports and a draw never leaves wasm. Pixel for pixel what
// layerw/runtime/wasm4/framebuffer.py draws (the test oracle): the same clipping and the same
// exact integer arithmetic (128-bit products where a cart's u32 sizes overflow 64 bits; never a
// 128-bit division or a libcall, whose results would go through a stack).
// Spec: https://wasm4.org/docs/reference/functions (drawing).
//
// The module owns no memory: it has no data (the font is code, lw_wasm4font.h) and no stack (every
// value is a local), so it never writes a byte of the cart's 64 KiB but the framebuffer's. Every
// read is bounded by the 64 KiB, so nothing here traps. Two rare cases go to the host's
// own implementation (imports host.blit and host.text), which reads the whole source before it
// draws and reports bad pointers: a sprite that reads past the end of memory or overlaps the
// framebuffer, and a string that overlaps the framebuffer.
#include <stdint.h>

#include "lw_wasm4font.h"

#define MEMORY_SIZE 65536
#define SCREEN 160
#define FRAMEBUFFER 0xA0
#define FRAMEBUFFER_END (FRAMEBUFFER + SCREEN * SCREEN / 4)
#define DRAW_COLORS 0x14
#define TRANSPARENT (-1)
#define BLIT_2BPP 1
#define BLIT_FLIP_X 2
#define BLIT_FLIP_Y 4
#define BLIT_ROTATE 8

#define EXPORT(name) __attribute__((export_name(#name)))
#define IMPORT(name) __attribute__((import_module("host"), import_name(#name)))

#define INLINE static inline __attribute__((always_inline))

typedef unsigned __int128 u128;  // only added, compared and shifted by constants: clang keeps those inline

IMPORT(blit) void host_blit(uint32_t ptr, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t src_x,
                            uint32_t src_y, uint32_t stride, uint32_t flags);
IMPORT(text) void host_text(uint32_t ptr, int32_t x, int32_t y);

static uint8_t *const RAM = (uint8_t *)0;  // the cart's memory, from address 0 (-fno-delete-null-pointer-checks)

INLINE int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
INLINE int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
INLINE int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return min64(max64(v, lo), hi); }

/** a * b, exactly (a 64 x 64 bit product by 32-bit halves: no __multi3). */
INLINE u128 mul64(uint64_t a, uint64_t b) {
  uint64_t ah = a >> 32, al = a & 0xFFFFFFFFu, bh = b >> 32, bl = b & 0xFFFFFFFFu;
  return ((u128)(ah * bh) << 64) + ((u128)(ah * bl) << 32) + ((u128)(al * bh) << 32) + (u128)(al * bl);
}

/** Floor division by a positive divisor, as Python's //. */
INLINE int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

INLINE uint32_t draw_colors(void) { return (uint32_t)RAM[DRAW_COLORS] | (uint32_t)RAM[DRAW_COLORS + 1] << 8; }

/** Palette index of DRAW_COLORS field `field` (0-based), or TRANSPARENT. */
INLINE int colour(uint32_t colors, uint32_t field) {
  uint32_t f = (colors >> (4 * field)) & 0xF;
  return f ? (int)((f - 1) & 3) : TRANSPARENT;
}

/** Set on-screen pixel (x, y) to palette index c. */
INLINE void pixel(int64_t x, int64_t y, int c) {
  uint8_t *p = RAM + FRAMEBUFFER + ((y * SCREEN + x) >> 2);
  int shift = (int)(x & 3) << 1;
  *p = (uint8_t)((*p & ~(3 << shift)) | (c << shift));
}

static void span_fill(int64_t x0, int64_t x1, int64_t y0, int64_t y1, int c) {
  if (c == TRANSPARENT) return;
  for (int64_t y = y0; y < y1; y++)
    for (int64_t x = x0; x < x1; x++) pixel(x, y, c);
}

EXPORT(rect) void rect(int32_t x, int32_t y, uint32_t w, uint32_t h) {
  int64_t x0 = max64(x, 0), x1 = min64((int64_t)x + w, SCREEN);
  int64_t y0 = max64(y, 0), y1 = min64((int64_t)y + h, SCREEN);
  uint32_t colors = draw_colors();
  int fill = colour(colors, 0), stroke = colour(colors, 1);
  if ((w == 0) != (h == 0)) {  // WASM-4 outlines a flat rect: its two edges, one either side of x (or y)
    for (int64_t at = (int64_t)(w ? y : x) - 1; at <= (w ? y : x); at++) {
      if (at >= 0 && at < SCREEN) {
        if (w) span_fill(x0, x1, at, at + 1, stroke);
        else span_fill(at, at + 1, y0, y1, stroke);
      }
    }
    return;
  }
  if (x0 >= x1 || y0 >= y1) return;
  int top = y0 == y, bottom = y1 == (int64_t)y + h, left = x0 == x, right = x1 == (int64_t)x + w;
  for (int64_t row = y0; row < y1; row++) {
    for (int64_t col = x0; col < x1; col++) {
      int edge = (top && row == y0) || (bottom && row == y1 - 1) || (left && col == x0) || (right && col == x1 - 1);
      int c = edge && stroke != TRANSPARENT ? stroke : fill;
      if (c != TRANSPARENT) pixel(col, row, c);
    }
  }
}

EXPORT(hline) void hline(int32_t x, int32_t y, uint32_t length) {
  if (y >= 0 && y < SCREEN) span_fill(max64(x, 0), min64((int64_t)x + length, SCREEN), y, y + 1, colour(draw_colors(), 0));
}

EXPORT(vline) void vline(int32_t x, int32_t y, uint32_t length) {
  if (x >= 0 && x < SCREEN) span_fill(x, x + 1, max64(y, 0), min64((int64_t)y + length, SCREEN), colour(draw_colors(), 0));
}

/** The steps along the major axis a (a1 to a2) that lie on screen, each with the minor coordinate
 * b = b1 + floor((2 (a - a1) db + h) / (2 da)), the nearest to the ideal line, drawn when on screen;
 * h = |da|, or |da| - 1 where db >= 0, rounds a tie toward b1 (the upper end point's, as WASM-4 does). The quotient is kept as q and remainder r over D = 2 |da|: exact
 * at the first step (shift-and-subtract: (a - a1) db may exceed 64 bits), then moved by one step's
 * 2 db at a time. */
static void line_steps(int64_t a1, int64_t b1, int64_t a2, int64_t da, int64_t db, int steep, int c) {
  int64_t lo = max64(min64(a1, a2), 0), hi = min64(max64(a1, a2), SCREEN - 1);
  if (lo > hi) return;
  if (da == 0) {  // one point (dx = dy = 0)
    if (b1 >= 0 && b1 < SCREEN) pixel(steep ? b1 : a1, steep ? a1 : b1, c);
    return;
  }
  int64_t ada = da < 0 ? -da : da, d = 2 * ada, m = 2 * (db < 0 ? -db : db);  // m <= d: |db| <= |da|
  uint64_t num = (uint64_t)(da > 0 ? lo - a1 : a1 - lo);  // < 2^33
  int64_t q = 0, r = 0;  // num * m = q * d + r
  for (int bit = 40; bit >= 0; bit--) {
    q *= 2, r *= 2;
    if (r >= d) r -= d, q++;
    if ((num >> bit) & 1) r += m;
    if (r >= d) r -= d, q++;
  }
  if (db >= 0) r += ada - 1;  // the numerator: +-(q d + r) + h
  else q = -q, r = ada - r;
  int64_t step = da > 0 ? 2 * db : -2 * db;
  for (int64_t a = lo; a <= hi; a++) {
    while (r >= d) r -= d, q++;
    while (r < 0) r += d, q--;
    int64_t b = clamp64(b1 + q, -1, SCREEN);
    int64_t px = steep ? b : a, py = steep ? a : b;
    if (px >= 0 && px < SCREEN && py >= 0 && py < SCREEN) pixel(px, py, c);
    r += step;
  }
}

EXPORT(line) void line(int32_t x1, int32_t y1, int32_t x2, int32_t y2) {
  int c = colour(draw_colors(), 0);
  if (c == TRANSPARENT) return;
  if (y1 > y2) {  // from the upper end point, as WASM-4 draws a line
    int32_t x = x1, y = y1;
    x1 = x2, y1 = y2, x2 = x, y2 = y;
  }
  int64_t dx = (int64_t)x2 - x1, dy = (int64_t)y2 - y1;
  if ((dx < 0 ? -dx : dx) >= (dy < 0 ? -dy : dy)) line_steps(x1, y1, x2, dx, dy, 0, c);
  else line_steps(y1, x1, y2, dy, dx, 1, c);
}


typedef struct { int64_t lo, hi; } Span;  // columns lo..hi of a row inside the ellipse (none when lo > hi)

/** Row r's span of the ellipse inscribed in the w x h box at (x, y), clamped to columns -2..161:
 * the half-width is k = isqrt(w^2 (h^2 - d^2) // h^2), the largest k with (k h)^2 <= w^2 (h^2 - d^2)
 * (a float estimate, then corrected with exact 128-bit products). */
INLINE Span oval_span(int64_t r, int64_t r0, int64_t r1, int64_t y, uint64_t w, uint64_t h, int64_t cx2) {
  Span none = {1, 0};
  if (r < r0 || r > r1) return none;
  int64_t d = 2 * r - (2 * y + (int64_t)h - 1);
  uint64_t ad = (uint64_t)(d < 0 ? -d : d);
  if (ad > h) return none;
  uint64_t rest = h * h - ad * ad;  // h^2 - d^2, exact: h < 2^32
  u128 area = mul64(w * w, rest);
  uint64_t k = (uint64_t)((double)w * __builtin_sqrt((double)rest) / (double)h);
  while (k > 0 && mul64(k * h, k * h) > area) k--;
  while (mul64((k + 1) * h, (k + 1) * h) <= area) k++;
  Span s = {clamp64(-floordiv((int64_t)k - cx2, 2), -2, SCREEN + 1), clamp64(floordiv(cx2 + (int64_t)k, 2), -2, SCREEN + 1)};
  return s;
}

INLINE int in_span(Span s, int64_t c) { return c >= s.lo && c <= s.hi; }

EXPORT(oval) void oval(int32_t x, int32_t y, uint32_t w, uint32_t h) {
  uint32_t colors = draw_colors();
  int fill = colour(colors, 0), stroke = colour(colors, 1);
  if (w == 0 || h == 0 || (fill == TRANSPARENT && stroke == TRANSPARENT)) return;
  int64_t r0 = max64(y, -1), r1 = min64((int64_t)y + h - 1, SCREEN);
  if (r0 > r1 || (int64_t)x + w < 0 || x >= SCREEN) return;
  int64_t cx2 = 2 * (int64_t)x + w - 1;
  int64_t top = max64(r0, 0), bottom = min64(r1, SCREEN - 1);
  Span above = oval_span(top - 1, r0, r1, y, w, h, cx2), here = oval_span(top, r0, r1, y, w, h, cx2);
  for (int64_t r = top; r <= bottom; r++) {
    Span below = oval_span(r + 1, r0, r1, y, w, h, cx2);
    for (int64_t c = max64(here.lo, 0); c <= min64(here.hi, SCREEN - 1); c++) {
      int edge = !(in_span(above, c) && in_span(below, c) && in_span(here, c - 1) && in_span(here, c + 1));
      int paint = edge && stroke != TRANSPARENT ? stroke : fill;
      if (paint != TRANSPARENT) pixel(c, r, paint);
    }
    above = here;
    here = below;
  }
}

/** The sprite pixel (sx, sy) that destination offset (u, v) shows: flipped, then rotated a quarter
 * turn anti-clockwise, as `flags` say. */
INLINE void blit_source(int64_t u, int64_t v, int64_t w, int64_t h, uint32_t flags, int64_t *sx, int64_t *sy) {
  int64_t fx = flags & BLIT_ROTATE ? (w - 1) - v : u, fy = flags & BLIT_ROTATE ? u : v;
  *sx = flags & BLIT_FLIP_X ? (w - 1) - fx : fx;
  *sy = flags & BLIT_FLIP_Y ? (h - 1) - fy : fy;
}

static void draw_blit(uint32_t ptr, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t src_x, uint32_t src_y,
                      uint32_t stride, uint32_t flags) {
  int64_t bpp = flags & BLIT_2BPP ? 2 : 1;
  int rotate = (flags & BLIT_ROTATE) != 0;
  int64_t dw = rotate ? h : w, dh = rotate ? w : h;
  int64_t tx0 = max64(x, 0), tx1 = min64((int64_t)x + dw, SCREEN), ty0 = max64(y, 0), ty1 = min64((int64_t)y + dh, SCREEN);
  if (tx0 >= tx1 || ty0 >= ty1) return;
  // the corners of the source window the clipped destination reads: sx and sy each move over a range
  int64_t sxa, sya, sxb, syb;
  blit_source(tx0 - x, ty0 - y, w, h, flags, &sxa, &sya);
  blit_source(tx1 - 1 - x, ty1 - 1 - y, w, h, flags, &sxb, &syb);
  int64_t sx_lo = min64(sxa, sxb), sx_hi = max64(sxa, sxb), sy_lo = min64(sya, syb), sy_hi = max64(sya, syb);
  int64_t limit = floordiv(((int64_t)MEMORY_SIZE - ptr) * 8, bpp);  // pixel indices inside memory: [0, limit)
  u128 last = mul64((uint64_t)src_y + (uint64_t)sy_hi, stride) + src_x + (uint64_t)sx_hi;  // every index in [first, last]
  if (limit <= 0 || last >= (u128)limit) {
    host_blit(ptr, x, y, w, h, src_x, src_y, stride, flags);  // reads past the end: the host draws the rest and says so
    return;
  }
  int64_t first = ((int64_t)src_y + sy_lo) * stride + src_x + sx_lo;
  if (ptr + ((first * bpp) >> 3) < FRAMEBUFFER_END && ptr + (((int64_t)last * bpp) >> 3) >= FRAMEBUFFER) {
    host_blit(ptr, x, y, w, h, src_x, src_y, stride, flags);  // reads the framebuffer it draws: the host reads it all first
    return;
  }
  uint32_t colors = draw_colors();
  uint32_t mask = (1u << bpp) - 1;
  for (int64_t ty = ty0; ty < ty1; ty++) {
    for (int64_t tx = tx0; tx < tx1; tx++) {
      int64_t sx, sy;
      blit_source(tx - x, ty - y, w, h, flags, &sx, &sy);
      uint32_t bits = (uint32_t)(((src_y + sy) * stride + src_x + sx) * bpp);
      uint32_t value = (RAM[ptr + (bits >> 3)] >> (8 - bpp - (bits & 7))) & mask;
      int c = colour(colors, value);
      if (c != TRANSPARENT) pixel(tx, ty, c);
    }
  }
}

EXPORT(blit) void blit(uint32_t ptr, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t flags) {
  draw_blit(ptr, x, y, w, h, 0, 0, w, flags);
}

EXPORT(blitSub) void blit_sub(uint32_t ptr, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t src_x, uint32_t src_y,
                               uint32_t stride, uint32_t flags) {
  draw_blit(ptr, x, y, w, h, src_x, src_y, stride, flags);
}

/** Character `code`'s cell at (cx, cy): ink in `ink`, the rest in `bg` (either may be TRANSPARENT). */
static void glyph(uint32_t code, int64_t cx, int64_t cy, int ink, int bg) {
  uint64_t rows = lw_glyph(code);
  for (int64_t r = 0; r < 8; r++) {
    int64_t py = cy + r;
    if (py < 0 || py >= SCREEN) continue;
    for (int64_t c = 0; c < 8; c++) {
      int64_t px = cx + c;
      int paint = (rows >> (8 * r + 7 - c)) & 1 ? ink : bg;
      if (paint != TRANSPARENT && px >= 0 && px < SCREEN) pixel(px, py, paint);
    }
  }
}

EXPORT(text) void text(uint32_t ptr, int32_t x, int32_t y) {
  if (ptr >= MEMORY_SIZE) return;
  uint32_t end = ptr;
  while (end < MEMORY_SIZE && RAM[end] != 0) end++;
  if (end > ptr && ptr < FRAMEBUFFER_END && end > FRAMEBUFFER) {
    host_text(ptr, x, y);  // the string lies in the framebuffer it draws: the host reads it all first
    return;
  }
  uint32_t colors = draw_colors();
  int ink = colour(colors, 0), bg = colour(colors, 1);
  int64_t line = 0, column = 0;
  for (uint32_t at = ptr; at < end; at++) {
    uint32_t code = RAM[at];
    if (code == 10) {
      line++;
      column = 0;
      continue;
    }
    int64_t cx = x + 8 * column, cy = y + 8 * line;
    column++;
    if (code >= 32 && cx > -8 && cx < SCREEN && cy > -8 && cy < SCREEN) glyph(code, cx, cy, ink, bg);
  }
}
