// Frame: a game's binary command list parsed into GPU-ready draw batches
// (the same rules as layerw/gfx/commands.py).
//
// The format is the contract's (abi.js OPS/STRUCTS): a 16-byte header, then `count` fixed-size
// records. Records are converted into one quad-instance layout (INSTANCE_WORDS 32-bit words, laid
// out like lw_sprite_rec: x y w h, u v uw vh, rotation, color, flags, thickness) in typed arrays
// that are reused from frame to frame: no JS object per record, no garbage per frame. GPU commands
// (abi.js GPU_OPS, in the same list) are split off in order into `frame.gpu` (gpustream.js), for
// gpucheck.js and gpureplay.js.

import { ABI_VERSION, FONT, OPS, SPRITE_FLAGS, STRUCTS } from "./abi.js";
import { CommandListError } from "./errors.js";
import { GPU_OP, GpuStream } from "./gpustream.js";

export const INSTANCE_WORDS = STRUCTS.lw_sprite_rec.size / 4;
export const VERTEX_WORDS = STRUCTS.lw_vertex_rec.size / 4;
export const TRANSFORM_WORDS = STRUCTS.lw_transform_rec.size / 4;
export const FONT_TEXTURE = -1; // batch texture key of the built-in font atlas (game handles are >= 0)
export const SHAPE_SHIFT = 8;
export const Shape = Object.freeze({ QUAD: 0, CIRCLE: 1, RING: 2, OUTLINE: 3 });
export const Pipeline = Object.freeze({ QUADS: 0, TRIANGLES: 1 });
// A batch is BATCH_WORDS numbers: pipeline, texture, transform, viewport x y w h (NaN: the whole
// target), first, count.
export const BATCH_WORDS = 9;

const HEADER = STRUCTS.lw_cmd.size;
const OP = Object.fromEntries(Object.entries(OPS).map(([name, op]) => [name, op.code]));
const RECORD_SIZE = Object.fromEntries(Object.values(OPS).map((op) => [op.code, STRUCTS[op.record].size]));
const OP_NAME = Object.fromEntries(Object.entries(OPS).map(([name, op]) => [op.code, name]));
const FLIPS = SPRITE_FLAGS.FLIP_X | SPRITE_FLAGS.FLIP_Y;
const ADVANCE = FONT.cellW / FONT.cellH;
const IDENTITY = new Float32Array([1, 0, 0, 1, 0, 0]); // set() from an array of its own type is a copy
const f32 = Math.fround;

function grow(array, need) {
  if (array.length >= need) return array;
  const bigger = new array.constructor(Math.max(need, array.length * 2));
  bigger.set(array);
  return bigger;
}

export class Frame {
  constructor() {
    this.instances = new Float32Array(INSTANCE_WORDS * 1024);
    this.vertices = new Float32Array(VERTEX_WORDS * 1024);
    this.transforms = new Float32Array(TRANSFORM_WORDS * 16);
    this.batches = new Float64Array(BATCH_WORDS * 64);
    this.aligned = new Uint8Array(0); // a copy of command lists that do not start 4-byte aligned
    this.gpu = new GpuStream(); // the frame's GPU commands, drawn before its 2D batches
    // The list's words as u32 and f32, kept while a frame's list is the same memory as the last's
    // (a game's list is a view of its memory at one place): two typed arrays fewer per frame
    this.listBits = new Uint32Array(0);
    this.listWords = new Float32Array(0);
    this.reset();
  }

  reset() {
    this.clear = null; // u32 colour of the last CLEAR, or null
    this.quadCount = 0;
    this.vertexCount = 0;
    this.transformCount = 1;
    this.transforms.set(IDENTITY);
    this.batchCount = 0;
  }

  /** The instance array as u32 words (colour and flags). */
  get instanceBits() {
    if (this._bits === undefined || this._bits.buffer !== this.instances.buffer) this._bits = new Uint32Array(this.instances.buffer);
    return this._bits;
  }

  /** Parse the first `length` bytes of `bytes` (a Uint8Array, e.g. a view of guest memory). */
  parse(bytes, length = bytes.length) {
    if (length > bytes.length || length < 0) {
      throw new CommandListError(`command list length ${length} exceeds its buffer of ${bytes.length} bytes`);
    }
    if (bytes.byteOffset % 4) {
      this.aligned = grow(this.aligned, length);
      this.aligned.set(bytes.subarray(0, length));
      bytes = this.aligned;
    }
    let bits = this.listBits;
    let words = this.listWords;
    if (bits.buffer !== bytes.buffer || bits.byteOffset !== bytes.byteOffset || bits.length !== length >> 2) { // else the last frame's
      words = this.listWords = new Float32Array(bytes.buffer, bytes.byteOffset, length >> 2);
      bits = this.listBits = new Uint32Array(bytes.buffer, bytes.byteOffset, length >> 2);
    }
    this.reset();
    this.gpu.reset(bytes, bits, words);
    this.viewport = [NaN, NaN, NaN, NaN];
    this.transform = 0;
    const end = length;
    let at = 0;
    while (at < end) {
      if (at + HEADER > end) throw new CommandListError(`truncated command header at byte ${at} of ${end}`);
      const h = at >> 2;
      const code = bits[h];
      const count = bits[h + 1];
      const arg = bits[h + 2];
      if (GPU_OP[code] !== undefined) {
        at += this.gpu.add(at, code, count, arg, end);
        continue;
      }
      const record = RECORD_SIZE[code];
      if (record === undefined) {
        throw new CommandListError(`unknown op ${code} at byte ${at}; is the game built for ABI version ${ABI_VERSION}?`);
      }
      const body = at + HEADER;
      let size;
      if (code === OP.TEXT) {
        if (count !== 1) throw new CommandListError(`TEXT command at byte ${at} has count ${count}, expected 1`);
        size = record + ((arg + 3) & ~3);
      } else {
        size = record * count;
      }
      if (body + size > end) {
        throw new CommandListError(`${OP_NAME[code]} command at byte ${at} (${count} records, ${size} bytes) `
          + `overruns the command list of ${end} bytes`);
      }
      const start = at;
      at = body + size;
      if (count === 0) continue;
      const w = body >> 2;
      switch (code) {
        case OP.RECTS: this.quads(0, count, () => this.rects(words, bits, w, count)); break;
        case OP.LINES: this.quads(0, count, () => this.lines(words, bits, w, count)); break;
        case OP.CIRCLES: this.quads(0, count, () => this.circles(words, bits, w, count)); break;
        case OP.SPRITES: this.quads(arg, count, () => this.sprites(words, w, count)); break;
        case OP.TEXT: {
          const n = this.text(words, bits, w, bytes.subarray(body + record, body + record + arg));
          if (n) this.emit(Pipeline.QUADS, FONT_TEXTURE, this.quadCount, n);
          this.quadCount += n;
          break;
        }
        case OP.TRIANGLES: {
          const whole = count - (count % 3); // an unfinished triangle is dropped
          if (whole) {
            this.vertices = grow(this.vertices, (this.vertexCount + whole) * VERTEX_WORDS);
            this.vertices.set(words.subarray(w, w + whole * VERTEX_WORDS), this.vertexCount * VERTEX_WORDS);
            this.emit(Pipeline.TRIANGLES, arg, this.vertexCount, whole);
            this.vertexCount += whole;
          }
          break;
        }
        case OP.CLEAR:
          this.clear = bits[w + count - 1];
          this.batchCount = 0; // the clear covers everything drawn before it
          break;
        case OP.VIEWPORT: {
          const v = w + (count - 1) * 4;
          const [x, y, vw, vh] = [words[v], words[v + 1], words[v + 2], words[v + 3]];
          if (![x, y, vw, vh].every(Number.isFinite)) throw new CommandListError(`VIEWPORT at byte ${start} is not finite`);
          this.viewport = vw === 0 ? [NaN, NaN, NaN, NaN] : [x, y, vw, vh];
          break;
        }
        default: { // TRANSFORM
          const t = w + (count - 1) * TRANSFORM_WORDS;
          const cur = this.transform * TRANSFORM_WORDS;
          let same = true;
          for (let i = 0; i < TRANSFORM_WORDS; i++) same = same && words[t + i] === this.transforms[cur + i];
          if (!same) {
            this.transforms = grow(this.transforms, (this.transformCount + 1) * TRANSFORM_WORDS);
            this.transforms.set(words.subarray(t, t + TRANSFORM_WORDS), this.transformCount * TRANSFORM_WORDS);
            this.transform = this.transformCount++;
          }
        }
      }
    }
    return this;
  }

  /** Reserve `count` instances, let `fill` write them at quadCount, then batch them. */
  quads(texture, count, fill) {
    this.instances = grow(this.instances, (this.quadCount + count) * INSTANCE_WORDS);
    fill();
    this.emit(Pipeline.QUADS, texture, this.quadCount, count);
    this.quadCount += count;
  }

  emit(pipeline, texture, first, count) {
    const b = this.batches;
    const [vx, vy, vw, vh] = this.viewport;
    if (this.batchCount) {
      const l = (this.batchCount - 1) * BATCH_WORDS;
      const sameViewport = Number.isNaN(vx) ? Number.isNaN(b[l + 3])
        : b[l + 3] === vx && b[l + 4] === vy && b[l + 5] === vw && b[l + 6] === vh;
      if (b[l] === pipeline && b[l + 1] === texture && b[l + 2] === this.transform && sameViewport
          && b[l + 7] + b[l + 8] === first) {
        b[l + 8] += count;
        return;
      }
    }
    this.batches = grow(this.batches, (this.batchCount + 1) * BATCH_WORDS);
    this.batches.set([pipeline, texture, this.transform, vx, vy, vw, vh, first, count], this.batchCount * BATCH_WORDS);
    this.batchCount++;
  }

  /** Zeroed instances with the whole 1x1 white texture as their source. */
  shapes(n) {
    const o = this.quadCount * INSTANCE_WORDS;
    const out = this.instances;
    out.fill(0, o, o + n * INSTANCE_WORDS);
    for (let i = 0; i < n; i++) {
      out[o + i * INSTANCE_WORDS + 6] = 1;
      out[o + i * INSTANCE_WORDS + 7] = 1;
    }
    return o;
  }

  rects(r, rb, w, n) {
    const o = this.shapes(n);
    const out = this.instances;
    const ob = this.instanceBits;
    const size = STRUCTS.lw_rect_rec.size / 4;
    for (let i = 0; i < n; i++) {
      const s = w + i * size;
      const d = o + i * INSTANCE_WORDS;
      out.set(r.subarray(s, s + 4), d);
      out[d + 8] = r[s + 4];
      out[d + 11] = r[s + 5];
      ob[d + 9] = rb[s + 6];
      ob[d + 10] = r[s + 5] > 0 ? Shape.OUTLINE << SHAPE_SHIFT : 0;
    }
  }

  lines(r, rb, w, n) {
    const o = this.shapes(n);
    const out = this.instances;
    const ob = this.instanceBits;
    const size = STRUCTS.lw_line_rec.size / 4;
    for (let i = 0; i < n; i++) {
      const s = w + i * size;
      const d = o + i * INSTANCE_WORDS;
      const [x0, y0, x1, y1, t] = [r[s], r[s + 1], r[s + 2], r[s + 3], r[s + 4]];
      const dx = f32(x1 - x0);
      const dy = f32(y1 - y0);
      const length = f32(Math.hypot(dx, dy));
      const thickness = t > 0 ? t : 1;
      out[d] = f32(f32(x0 + x1) - length) * 0.5;
      out[d + 1] = f32(f32(y0 + y1) - thickness) * 0.5;
      out[d + 2] = length;
      out[d + 3] = thickness;
      out[d + 8] = Math.atan2(dy, dx);
      ob[d + 9] = rb[s + 5];
    }
  }

  circles(r, rb, w, n) {
    const o = this.shapes(n);
    const out = this.instances;
    const ob = this.instanceBits;
    const size = STRUCTS.lw_circle_rec.size / 4;
    for (let i = 0; i < n; i++) {
      const s = w + i * size;
      const d = o + i * INSTANCE_WORDS;
      const radius = r[s + 2];
      out[d] = r[s] - radius;
      out[d + 1] = r[s + 1] - radius;
      out[d + 2] = out[d + 3] = radius * 2;
      out[d + 11] = r[s + 3];
      ob[d + 9] = rb[s + 4];
      ob[d + 10] = (r[s + 3] > 0 ? Shape.RING : Shape.CIRCLE) << SHAPE_SHIFT;
    }
  }

  sprites(r, w, n) {
    const o = this.quadCount * INSTANCE_WORDS;
    this.instances.set(r.subarray(w, w + n * INSTANCE_WORDS), o); // same type: a bit-exact copy
    const out = this.instances;
    const ob = this.instanceBits;
    for (let i = 0; i < n; i++) {
      const d = o + i * INSTANCE_WORDS;
      ob[d + 10] &= FLIPS;
      out[d + 11] = 0;
    }
  }

  /** One TEXT record and its ASCII bytes as glyph quads; returns how many. Glyphs advance by
   *  size * cellW / cellH; '\n' starts a new line size pixels down; space and control bytes draw
   *  nothing. */
  text(r, rb, w, chars) {
    const [x, y, size, color] = [r[w], r[w + 1], r[w + 2], rb[w + 3]];
    let n = 0;
    for (const c of chars) if (c > 32 && c < 127) n++;
    this.instances = grow(this.instances, (this.quadCount + n) * INSTANCE_WORDS);
    const o = this.shapes(n);
    const out = this.instances;
    const ob = this.instanceBits;
    const advance = size * ADVANCE;
    let line = 0;
    let column = 0;
    let k = 0;
    for (const c of chars) {
      if (c === 10) { line++; column = 0; continue; }
      if (c > 32 && c < 127) {
        const g = c - FONT.first;
        const d = o + k++ * INSTANCE_WORDS;
        out[d] = x + column * advance;
        out[d + 1] = y + line * size;
        out[d + 2] = advance;
        out[d + 3] = size;
        out[d + 4] = (g % FONT.columns) * FONT.cellW;
        out[d + 5] = Math.floor(g / FONT.columns) * FONT.cellH;
        out[d + 6] = FONT.cellW;
        out[d + 7] = FONT.cellH;
        ob[d + 9] = color;
      }
      column++;
    }
    return n;
  }
}
