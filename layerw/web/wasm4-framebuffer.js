// Framebuffer: the browser's part of WASM-4's drawing, the rest being web/wasm4fb.wasm's (the drawing
// module, as natively): the blits and strings it hands back (read whole before drawing) and
// textUtf8/textUtf16, pixel for pixel as layerw/runtime/wasm4/framebuffer.py draws them (BigInt where
// a sprite's u32 offsets overflow a double's 53 bits), so a cart's memory and state hash are the same
// in the browser as natively.

import { GLYPHS_BASE64 } from "./wasm4-font.js";

export const SCREEN = 160;
export const MEMORY_SIZE = 65536;
export const FRAMEBUFFER = 0xa0;
export const DRAW_COLORS = 0x14;
const TRANSPARENT = -1;

/** The 8x8 glyphs: 8 bytes a code 0..255, most significant bit leftmost. */
export const GLYPHS = Uint8Array.from(atob(GLYPHS_BASE64), (c) => c.charCodeAt(0));

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
