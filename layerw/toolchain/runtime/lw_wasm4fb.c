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

IMPORT(blit) void host_blit(uint32_t ptr, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t src_x,
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

/** As WASM-4 draws a rect (sizes signed): the on-screen part filled with DRAW_COLORS 1, then with
 * DRAW_COLORS 2 columns x and x + w - 1 down its rows and rows y and y + h - 1 across its columns,
 * each where it lies on screen (a flat or negative-sized rect is those edges alone). */
EXPORT(rect) void rect(int32_t x, int32_t y, int32_t w, int32_t h) {
  int64_t x0 = max64(x, 0), x1 = min64((int64_t)x + w, SCREEN);
  int64_t y0 = max64(y, 0), y1 = min64((int64_t)y + h, SCREEN);
  uint32_t colors = draw_colors();
  int stroke = colour(colors, 1);
  span_fill(x0, x1, y0, y1, colour(colors, 0));
  if (stroke == TRANSPARENT) return;
  int64_t cols[2] = {x, (int64_t)x + w - 1}, rows[2] = {y, (int64_t)y + h - 1};
  for (int i = 0; i < 2; i++) {
    if (cols[i] >= 0 && cols[i] < SCREEN) span_fill(cols[i], cols[i] + 1, y0, y1, stroke);
    if (rows[i] >= 0 && rows[i] < SCREEN) span_fill(x0, x1, rows[i], rows[i] + 1, stroke);
  }
}
EXPORT(hline) void hline(int32_t x, int32_t y, int32_t length) {
  if (y >= 0 && y < SCREEN) span_fill(max64(x, 0), min64((int64_t)x + length, SCREEN), y, y + 1, colour(draw_colors(), 0));
}
EXPORT(vline) void vline(int32_t x, int32_t y, int32_t length) {
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


INLINE void point(int64_t x, int64_t y, int c) {
  if (x >= 0 && x < SCREEN && y >= 0 && y < SCREEN) pixel(x, y, c);
}
/** WASM-4's oval (sizes signed), as framebuffer.oval_walk walks it: a midpoint ellipse after
 * TIC-80's in the box [x, x + w) x [y, y + h), its decision terms doubles as in WASM-4's JavaScript
 * (the same operations in the same order, so huge sizes round alike), its cost WASM-4's: one step
 * per row or column of the outline, on the cart's fuel. DRAW_COLORS 2 of 0xF draws nothing, 0
 * outlines in palette colour 3; DRAW_COLORS 1 of 0 leaves the inside. */
EXPORT(oval) void oval(int32_t x, int32_t y, int32_t w, int32_t h) {
  uint32_t colors = draw_colors(), fill_field = colors & 0xF, stroke_field = (colors >> 4) & 0xF;
  if (stroke_field == 0xF) return;
  int stroke = (int)((stroke_field - 1) & 3), fill = fill_field ? (int)((fill_field - 1) & 3) : TRANSPARENT;
  int64_t hb = (int64_t)h - 1;
  double a = (double)((int64_t)w - 1), b = (double)hb, odd = (double)(hb % 2);  // C's % as JavaScript's: the dividend's sign
  int64_t north = (int64_t)y + floordiv(h, 2), west = x, east = (int64_t)x + w - 1, south = north - hb % 2;
  double dx = 4 * (1 - a) * b * b, dy = 4 * (odd + 1) * a * a;
  double err = dx + dy + odd * a * a;
  a = a * (8 * a);
  odd = 8 * b * b;
  do {
    point(east, north, stroke);
    point(west, north, stroke);
    point(west, south, stroke);
    point(east, south, stroke);
    if (east - (west + 1) > 0) {
      if (north >= 0 && north < SCREEN) span_fill(max64(west + 1, 0), min64(east, SCREEN), north, north + 1, fill);
      if (south >= 0 && south < SCREEN) span_fill(max64(west + 1, 0), min64(east, SCREEN), south, south + 1, fill);
    }
    double err2 = 2 * err;
    if (err2 <= dy) {
      north++, south--;
      dy += a;
      err += dy;
    }
    if (err2 >= dx || 2 * err > dy) {
      west++, east--;
      dx += odd;
      err += dx;
    }
  } while (west <= east);
  while (north - south < h) {
    point(west - 1, north, stroke);
    point(east + 1, north, stroke);
    north++;
    point(west - 1, south, stroke);
    point(east + 1, south, stroke);
    south--;
  }
}
/** The sprite pixel (sx, sy) that destination offset (u, v) shows: flipped, then rotated a quarter
 * turn anti-clockwise, as `flags` say. */
INLINE void blit_source(int64_t u, int64_t v, int64_t w, int64_t h, uint32_t flags, int64_t *sx, int64_t *sy) {
  int64_t fx = flags & BLIT_ROTATE ? (w - 1) - v : u, fy = flags & BLIT_ROTATE ? u : v;
  *sx = flags & BLIT_FLIP_X ? (w - 1) - fx : fx;
  *sy = flags & BLIT_FLIP_Y ? (h - 1) - fy : fy;
}

static void draw_blit(uint32_t ptr, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t src_x, uint32_t src_y,
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

EXPORT(blit) void blit(uint32_t ptr, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t flags) {
  draw_blit(ptr, x, y, w, h, 0, 0, (uint32_t)w, flags);
}

EXPORT(blitSub) void blit_sub(uint32_t ptr, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t src_x, uint32_t src_y,
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
