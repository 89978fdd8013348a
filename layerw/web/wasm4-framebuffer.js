// Framebuffer: WASM-4's drawing functions on the 2-bit framebuffer in a cart's memory, pixel for
// pixel as layerw/runtime/wasm4/framebuffer.py draws them (the same clipping, the same integer
// arithmetic: BigInt where a cart's u32 sizes overflow a double's 53 bits), so a cart's memory and
// state hash are the same in the browser as natively.

import { GLYPHS_BASE64 } from "./wasm4-font.js";

export const SCREEN = 160;
export const MEMORY_SIZE = 65536;
export const FRAMEBUFFER = 0xa0;
export const DRAW_COLORS = 0x14;
const TRANSPARENT = -1;

/** The 8x8 glyphs: 8 bytes a code 0..255, most significant bit leftmost. */
export const GLYPHS = Uint8Array.from(atob(GLYPHS_BASE64), (c) => c.charCodeAt(0));

/** @param {number} v @param {number} lo @param {number} hi */
const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

/** Floor division of BigInts (`b` > 0), as Python's `//`. @param {bigint} a @param {bigint} b */
function floorDiv(a, b) {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** The integer square root of a BigInt >= 0. @param {bigint} n */
function isqrt(n) {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

export class Framebuffer {
  /** @param {Uint8Array} memory the cart's 64 KiB @param {(text: string) => void} warn */
  constructor(memory, warn) {
    this.memory = memory;
    this.warn = warn;
  }

  get drawColors() { return this.memory[DRAW_COLORS] | (this.memory[DRAW_COLORS + 1] << 8); }

  /** Palette index of DRAW_COLORS field `field` (0-based), or TRANSPARENT. @param {number} field */
  colour(field) {
    const f = (this.drawColors >> (4 * field)) & 0xf;
    return f ? (f - 1) & 3 : TRANSPARENT;
  }

  clear() { this.memory.fill(0, FRAMEBUFFER, FRAMEBUFFER + SCREEN * SCREEN / 4); }

  /** @param {number} x @param {number} y @param {number} c an on-screen pixel's palette index */
  pixel(x, y, c) {
    const at = FRAMEBUFFER + ((y * SCREEN + x) >> 2);
    const shift = (x & 3) << 1;
    this.memory[at] = (this.memory[at] & ~(3 << shift)) | (c << shift);
  }

  /** The screen through PALETTE: 160x160 RGBA bytes. */
  rgba() {
    const view = new DataView(this.memory.buffer, this.memory.byteOffset);
    const out = new Uint8Array(SCREEN * SCREEN * 4);
    for (let i = 0; i < SCREEN * SCREEN; i++) {
      const c = (this.memory[FRAMEBUFFER + (i >> 2)] >> ((i & 3) << 1)) & 3;
      const word = view.getUint32(4 + 4 * c, true);
      out.set([(word >> 16) & 255, (word >> 8) & 255, word & 255, 255], 4 * i);
    }
    return out;
  }

  /** @param {number} start @param {number} size */
  static clip(start, size) { return [Math.max(start, 0), Math.min(start + size, SCREEN)]; }

  /** @param {number} x0 @param {number} x1 @param {number} y0 @param {number} y1 @param {number} c */
  fill(x0, x1, y0, y1, c) {
    if (c === TRANSPARENT) return;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.pixel(x, y, c);
  }

  rect(x, y, w, h) {
    const [x0, x1] = Framebuffer.clip(x, w);
    const [y0, y1] = Framebuffer.clip(y, h);
    if (x0 >= x1 || y0 >= y1) return;
    this.fill(x0, x1, y0, y1, this.colour(0));
    const stroke = this.colour(1);
    if (stroke === TRANSPARENT) return;
    if (y0 === y) this.fill(x0, x1, y0, y0 + 1, stroke);
    if (y1 === y + h) this.fill(x0, x1, y1 - 1, y1, stroke);
    if (x0 === x) this.fill(x0, x0 + 1, y0, y1, stroke);
    if (x1 === x + w) this.fill(x1 - 1, x1, y0, y1, stroke);
  }

  hline(x, y, len) {
    const [x0, x1] = Framebuffer.clip(x, len);
    if (y >= 0 && y < SCREEN) this.fill(x0, x1, y, y + 1, this.colour(0));
  }

  vline(x, y, len) {
    const [y0, y1] = Framebuffer.clip(y, len);
    if (x >= 0 && x < SCREEN) this.fill(x, x + 1, y0, y1, this.colour(0));
  }

  line(x1, y1, x2, y2) {
    const c = this.colour(0);
    if (c === TRANSPARENT) return;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const steep = Math.abs(dx) < Math.abs(dy);
    const [a1, b1, a2, da, db] = steep ? [y1, x1, y2, dy, dx] : [x1, y1, x2, dx, dy];
    const lo = Math.max(Math.min(a1, a2), 0);
    const hi = Math.min(Math.max(a1, a2), SCREEN - 1);
    for (let a = lo; a <= hi; a++) {
      let b = b1;
      if (da !== 0) {
        const [num, den] = da > 0 ? [BigInt(a - a1), BigInt(da)] : [BigInt(a1 - a), BigInt(-da)];
        b = b1 + Number(floorDiv(2n * num * BigInt(db) + den, 2n * den));
      } else if (a !== a1) continue;
      b = clamp(b, -1, SCREEN);
      const [px, py] = steep ? [b, a] : [a, b];
      if (px >= 0 && px < SCREEN && py >= 0 && py < SCREEN) this.pixel(px, py, c);
    }
  }

  oval(x, y, w, h) {
    const fill = this.colour(0);
    const stroke = this.colour(1);
    if (w === 0 || h === 0 || (fill === TRANSPARENT && stroke === TRANSPARENT)) return;
    const r0 = Math.max(y, -1);
    const r1 = Math.min(y + h - 1, SCREEN);
    if (r0 > r1 || x + w < 0 || x >= SCREEN) return;
    const cx2 = BigInt(2 * x + w - 1);
    const ww = BigInt(w) * BigInt(w);
    const hh = BigInt(h) * BigInt(h);
    const spans = [];
    for (let r = r0; r <= r1; r++) {
      const d = BigInt(2 * r - (2 * y + h - 1));
      if (d * d > hh) { spans.push([1, 0]); continue; }
      const k = isqrt(floorDiv(ww * (hh - d * d), hh));
      const lo = -floorDiv(k - cx2, 2n);
      const hi = floorDiv(cx2 + k, 2n);
      spans.push([clamp(Number(lo), -2, SCREEN + 1), clamp(Number(hi), -2, SCREEN + 1)]);
    }
    /** inside the ellipse: row r (r0..r1, else outside), column c (any) */
    const inside = (r, c) => r >= r0 && r <= r1 && c >= spans[r - r0][0] && c <= spans[r - r0][1];
    for (let r = Math.max(r0, 0); r <= Math.min(r1, SCREEN - 1); r++) {
      const [lo, hi] = spans[r - r0];
      for (let c = Math.max(lo, 0); c <= Math.min(hi, SCREEN - 1); c++) {
        const edge = !(inside(r - 1, c) && inside(r + 1, c) && inside(r, c - 1) && inside(r, c + 1));
        const colour = edge && stroke !== TRANSPARENT ? stroke : fill;
        if (colour !== TRANSPARENT) this.pixel(c, r, colour);
      }
    }
  }

  blit(ptr, x, y, w, h, srcX, srcY, stride, flags) {
    const bpp = flags & 1 ? 2 : 1;
    const rotate = (flags & 8) !== 0;
    const [dw, dh] = rotate ? [h, w] : [w, h];
    const [tx0, tx1] = Framebuffer.clip(x, dw);
    const [ty0, ty1] = Framebuffer.clip(y, dh);
    if (tx0 >= tx1 || ty0 >= ty1) return;
    const limit = Math.floor(((MEMORY_SIZE - ptr) * 8) / bpp);
    const table = [0, 1, 2, 3].map((v) => this.colour(v));
    const small = (srcY + h) * stride + srcX + w < Number.MAX_SAFE_INTEGER;
    /** @param {number} sy */
    const rowStart = (sy) => (small ? Math.min((srcY + sy) * stride + srcX, limit)
      : Number(BigInt(srcY + sy) * BigInt(stride) + BigInt(srcX) < BigInt(limit)
        ? BigInt(srcY + sy) * BigInt(stride) + BigInt(srcX) : BigInt(limit)));
    let outside = false;
    // the whole sprite is read before any pixel is written (a sprite overlapping the framebuffer
    // reads it as it was), as the native host's vectorised blit does
    const colours = new Int8Array((tx1 - tx0) * (ty1 - ty0));
    let i = 0;
    for (let v = ty0 - y; v < ty1 - y; v++) {
      for (let u = tx0 - x; u < tx1 - x; u++, i++) {
        const [fx, fy] = rotate ? [w - 1 - v, u] : [u, v];
        const sx = flags & 2 ? w - 1 - fx : fx;
        const sy = flags & 4 ? h - 1 - fy : fy;
        const index = rowStart(sy) + sx;
        if (!(index >= 0 && index < limit)) { outside = true; colours[i] = TRANSPARENT; continue; }
        const bits = index * bpp;
        const byte = this.memory[ptr + Math.floor(bits / 8)];
        colours[i] = table[(byte >> (8 - bpp - (bits % 8))) & ((1 << bpp) - 1)];
      }
    }
    i = 0;
    for (let ty = ty0; ty < ty1; ty++) {
      for (let tx = tx0; tx < tx1; tx++, i++) if (colours[i] !== TRANSPARENT) this.pixel(tx, ty, colours[i]);
    }
    if (outside) {
      this.warn(`blit reads past the end of memory (sprite at ${ptr}, ${w}x${h}, stride ${stride}): `
        + "those pixels are not drawn");
    }
  }

  /** @param {number[]} codes code points @param {number} x @param {number} y */
  text(codes, x, y) {
    const ink = this.colour(0);
    const bg = this.colour(1);
    let line = 0;
    let column = 0;
    for (const code of codes) {
      if (code === 10) { line += 1; column = 0; continue; }
      const cx = x + 8 * column;
      const cy = y + 8 * line;
      column += 1;
      if (code < 32 || code > 255 || cx <= -8 || cx >= SCREEN || cy <= -8 || cy >= SCREEN) continue;
      for (let r = 0; r < 8; r++) {
        const bits = GLYPHS[code * 8 + r];
        for (let c = 0; c < 8; c++) {
          const colour = (bits >> (7 - c)) & 1 ? ink : bg;
          const px = cx + c;
          const py = cy + r;
          if (colour !== TRANSPARENT && px >= 0 && px < SCREEN && py >= 0 && py < SCREEN) this.pixel(px, py, colour);
        }
      }
    }
  }
}
