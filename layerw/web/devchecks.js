// DevChecks: the contract checked as a game runs in the page (?dev=1), as layerw/runtime/devchecks.py
// does natively: each problem once, with its tick, to the console and `window.layerw.devProblems`.
// Kinds: render-state (lw_render changed the game state), missing-asset, host-call (a host function
// refused a call, and why), unknown-texture, source-rect (a sprite's source rect outside its
// texture), guard-write (the low guard bytes of memory written: a NULL write or a stack overflow),
// missing-glyph (lw_font_text drew a font's replacement glyph: the sprite's `reserved` names the code point).
// Nothing here runs unless the page asks: GameHost calls in only while `checks` is set.

import { NO_TEXTURE, OPS, STRUCTS } from "./abi.js";
import { wasmFrames } from "./symbols.js";

export const GUARD_BYTES = 1024;
const MAX_PROBLEMS = 256;
const HEADER = STRUCTS.lw_cmd.size;
const BY_CODE = new Map(Object.entries(OPS).map(([name, op]) => [op.code, { name, ...op }]));
const SPRITE = STRUCTS.lw_sprite_rec;
const SX = /** @type {number} */ (SPRITE.fields.sx[0]);
const RESERVED = /** @type {number} */ (SPRITE.fields.reserved[0]);

/**
 * `frames`: the guest's wasm frames when the problem was found inside a host call (innermost first;
 * symbols.js names them), else empty: a problem found after lw_tick or lw_render has no call site.
 * @typedef {{kind: string, tick: number, message: string, frames: {index: number, offset: number}[]}} Problem
 */

export class DevChecks {
  /**
   * @param {any} game a GameHost (game-host.js)
   * @param {(p: Problem) => void} report
   */
  constructor(game, report) {
    this.game = game;
    this.report = report;
    /** @type {Problem[]} */
    this.problems = [];
    this.seen = new Set();
    this.guarded = game.stateBegin >= GUARD_BYTES && this.guard().every((b) => b === 0);
  }

  /** Report `message` unless a problem of this kind and key was reported before. */
  problem(kind, key, message) {
    const id = `${kind}\u0000${key}`;
    if (this.seen.has(id) || this.seen.size >= MAX_PROBLEMS) return;
    this.seen.add(id);
    const v8 = /** @type {any} */ (Error); // V8's stackTraceLimit (10 by default)
    const limit = v8.stackTraceLimit;
    v8.stackTraceLimit = 64; // the host's own frames come first, the guest's below them
    const stack = new Error().stack;
    v8.stackTraceLimit = limit;
    const found = { kind, tick: this.game.tickCount, message, frames: wasmFrames(stack) };
    this.problems.push(found);
    this.report(found);
  }

  hostCall(func, reason) {
    if (func === "asset_request" && reason.startsWith("no asset named")) this.problem("missing-asset", reason, `asset_request: ${reason}`);
    else this.problem("host-call", func, `${func} refused: ${reason}`);
  }

  guard() {
    const low = new Uint8Array(GUARD_BYTES);
    this.game.backend.read(0, GUARD_BYTES, low, 0);
    return low;
  }

  /** After lw_tick or lw_render: the guard bytes are still zero. */
  afterCall(call) {
    if (!this.guarded) return;
    const at = this.guard().findIndex((b) => b !== 0);
    if (at < 0) return;
    this.problem("guard-write", "", `${call} wrote into the low guard bytes [0, ${GUARD_BYTES}) of memory (first at `
      + `address ${at}): a write through a NULL or near-NULL pointer, or the shadow stack overflowed`);
    this.guarded = false;
  }

  /**
   * Run `render` between two copies of the state, then check its commands.
   * @param {() => Uint8Array} render
   * @returns {Uint8Array}
   */
  render(render) {
    const before = this.game.stateBytes(this.game.backend.pages());
    const frame = render();
    const after = this.game.stateBytes(this.game.backend.pages());
    if (before.length !== after.length || before.some((b, i) => b !== after[i])) {
      let changed = 0;
      for (let i = 0; i < Math.min(before.length, after.length); i++) changed += before[i] !== after[i] ? 1 : 0;
      this.problem("render-state", "", `lw_render changed the game state (${changed} bytes): render must only draw. A `
        + "heap allocation (malloc, new, std::string) or a write to a global in render desyncs rooms, whose server never renders");
    }
    this.afterCall("lw_render");
    this.commands(frame);
    return frame;
  }

  /** Each textured command names a ready image; each sprite's source rect lies inside it. */
  commands(frame) {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    for (let at = 0; at + HEADER <= frame.byteLength;) {
      const op = BY_CODE.get(view.getUint32(at, true));
      if (!op) return;
      const count = view.getUint32(at + 4, true), arg = view.getUint32(at + 8, true);
      const record = STRUCTS[op.record].size;
      const size = op.name === "TEXT" ? record + ((arg + 3) & ~3) : record * count;
      if (at + HEADER + size > frame.byteLength) return;
      if ((op.name === "SPRITES" || op.name === "TRIANGLES") && arg !== NO_TEXTURE && count) {
        this.texture(op.name, arg, op.name === "SPRITES" ? view : null, at + HEADER, count);
      }
      at += HEADER + size;
    }
  }

  texture(op, handle, view, body, count) {
    const asset = this.game.assets.get(handle);
    if (!asset || !asset.ready || !asset.image) {
      const why = !asset ? "no asset has this handle" : !asset.ready ? `asset '${asset.name}' is not ready yet`
        : `asset '${asset.name}' is not an image`;
      this.problem("unknown-texture", String(handle), `${op} draws with texture ${handle}: ${why}; it draws nothing`);
      return;
    }
    if (!view) return;
    this.glyphs(handle, asset.name, view, body, count);
    const { width: w, height: h } = asset.image;
    for (let i = 0; i < count; i++) {
      const o = body + i * SPRITE.size + SX;
      const [sx, sy, sw, sh] = [0, 4, 8, 12].map((d) => view.getFloat32(o + d, true));
      const inside = Math.min(sx, sx + sw) >= 0 && Math.min(sy, sy + sh) >= 0 && Math.max(sx, sx + sw) <= w
        && Math.max(sy, sy + sh) <= h;
      if (!inside) {
        this.problem("source-rect", String(handle), `SPRITES with texture ${handle} ('${asset.name}', ${w}x${h}): `
          + `sprite ${i} of ${count} has source rect (${sx}, ${sy}, ${sw}, ${sh}) reaching outside it`);
        return;
      }
    }
  }

  /** Sprites that are a font's replacement glyph: each missing code point once per font. */
  glyphs(handle, atlas, view, body, count) {
    for (let i = 0; i < count; i++) {
      const code = view.getUint32(body + i * SPRITE.size + RESERVED, true);
      if (code === 0) continue;
      const what = code === 0xFFFFFFFF ? "malformed UTF-8 (a byte that starts or continues no code point)"
        : code <= 0x10FFFF ? `U+${code.toString(16).toUpperCase().padStart(4, "0")} '${String.fromCodePoint(code)}', `
          + "which the font lacks (add it to the font's [assets] fonts ranges, or pick a font that has it)"
          : `the value ${code}`;
      this.problem("missing-glyph", `${handle}:${code}`,
        `lw_font_text drew the replacement glyph of the font with atlas '${atlas}' for ${what}`);
    }
  }
}
