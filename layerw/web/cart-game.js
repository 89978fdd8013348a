// CartGame: a WASM-4 cart in the browser, a GameHost backend (game-host.js; mirrors
// layerw/runtime/wasm4/cartgame.py). The host makes the cart's one 64 KiB page, writes the default
// palette and DRAW_COLORS, instantiates the cart with WASM-4's `env` functions (wasm4-framebuffer.js
// draws), calls _initialize or _start and start, then per tick writes GAMEPADS and MOUSE from
// Layer-W's input (wasm4-controls.js), clears the framebuffer unless SYSTEM_FLAGS preserves it, calls
// update, then mixes the tick's tone() calls (one TONE command each, wasm4-tone.js) as its sound
// block through GameHost's Audio, so audioHash() equals the native audio-hash. The frame is one
// 160x160 texture drawn by a one-sprite command list. GameHost keeps the failure latch, the sound
// and close; the cart's state (and so its state hash, snapshots and restore) is its own: the whole
// 64 KiB, the disk, the last tick's tone events and its mutable globals, in the native host's layout,
// so a browser cart plays in a room beside native carts and restores their snapshots.

import { COMMAND_SCRATCH, OPS, SOUND_CAPACITY, STRUCTS } from "./abi.js";
import { checkCart, exportGlobals } from "./cart.js";
import { InputError, InvalidModule, ProtocolError, SnapshotError } from "./errors.js";
import { GameHost } from "./game-host.js";
import { SplitMix64 } from "./host.js";
import { Snapshot } from "./snapshot.js";
import { MODULE_BYTES } from "./source.js";
import { registers } from "./wasm4-controls.js";
import { DRAW_COLORS, Framebuffer, MEMORY_SIZE } from "./wasm4-framebuffer.js";
import { COMMAND_SIZE, TONE_FIELDS, decodeTone, toneArgs, toneCommand } from "./wasm4-tone.js";

/** @typedef {import("./game-backend.js").GameBackend} GameBackend */
/** @typedef {import("./game-backend.js").SnapshotFields} SnapshotFields */

export const FRAME_TEXTURE = 1;
const DISK_SLOT = new TextEncoder().encode("disk"); // the save slot a cart's disk lasts in (as natively)
const PALETTE = 0x04;
const GAMEPADS = 0x16;
const SYSTEM_FLAGS = 0x1f;
const DEFAULT_PALETTE = [0xe0f8cf, 0x86c06c, 0x306850, 0x071821];
const DISK_SIZE = 1024;
const MAX_TONES_PER_TICK = 1024;
const MAX_WARNINGS = 16;
const MAX_EVENTS = /** @type {number} */ (STRUCTS.lw_input.fields.events[2]);
// a tone event's fields as the native snapshot names them (ToneEvent.to_dict)
const NATIVE_TONE = TONE_FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");
const utf16 = new TextDecoder("utf-16le");

/** The command list of every cart frame: the framebuffer texture over the whole screen. */
function frameCommands() {
  const bytes = new Uint8Array(16 + STRUCTS.lw_sprite_rec.size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, OPS.SPRITES.code, true);
  view.setUint32(4, 1, true);
  view.setUint32(8, FRAME_TEXTURE, true);
  const f = STRUCTS.lw_sprite_rec.fields;
  /** @param {string} name */
  const at = (name) => 16 + /** @type {number} */ (f[name][0]);
  for (const name of ["w", "h", "sw", "sh"]) view.setFloat32(at(name), 160, true);
  view.setUint32(at("tint"), 0xffffffff, true);
  return bytes;
}

/**
 * The bytes of a source's module (awaited), or null where they cannot be had: a Response is read
 * from a clone (the original still streams into a compiler), a compiled Module by its loader's
 * record (source.js MODULE_BYTES).
 * @param {any} module
 * @returns {Promise<Uint8Array | null>}
 */
export async function moduleBytes(module) {
  if (module instanceof Uint8Array) return module;
  if (module instanceof ArrayBuffer) return new Uint8Array(module);
  if (typeof Response !== "undefined" && module instanceof Response) {
    return module.ok ? new Uint8Array(await module.clone().arrayBuffer()) : null;
  }
  if (module instanceof WebAssembly.Module) return MODULE_BYTES.get(module) || null;
  return null;
}

/**
 * @implements {GameBackend}
 */
export class CartGame extends GameHost {
  /**
   * Check and compile a cart (GameHost.create calls it): its mutable globals exported for the state.
   * @param {import("./game-backend.js").GameSource} source a source whose module is a cart's bytes (main.js openGame)
   * @returns {Promise<{module: WebAssembly.Module, rewritten: ReturnType<typeof exportGlobals>}>}
   */
  static async load(source) {
    const bytes = source.module;
    if (!(bytes instanceof Uint8Array)) throw new InvalidModule(`${source.config.name}: a cart's source hands over its bytes`);
    checkCart(bytes, source.config.name);
    const rewritten = exportGlobals(bytes);
    const module = await WebAssembly.compile(/** @type {BufferSource} */ (rewritten.wasm)).catch((e) => {
      throw new InvalidModule(`${source.config.name}: the cart is not valid WebAssembly: ${e.message || e}`);
    });
    return { module, rewritten };
  }

  /**
   * @param {any} config
   * @param {import("./assets.js").AssetTable} assets
   * @param {bigint} seed
   * @param {import("./game-backend.js").LogFn} log
   * @param {{module: WebAssembly.Module, rewritten: ReturnType<typeof exportGlobals>}} code
   */
  constructor(config, assets, seed, log, { module, rewritten }) {
    super(config, assets, seed, log);
    this.tickRate = config.tick_rate || 60;
    this.module = module;
    this.globalNames = rewritten.names;
    this.globalTypes = rewritten.types;
    this.unsavedGlobals = rewritten.unsaved;
    /** @type {Record<string, any>} */
    this.exports = {};
    /** @type {WebAssembly.Global[]} */
    this.globals = [];
    this.ram = new Uint8Array(0);
    /** @type {Framebuffer | null} */
    this.fb = null;
    this.disk = new Uint8Array(0);
    /** @type {import("./wasm4-tone.js").ToneEvent[]} the tone() calls of the last tick (and start's, with the first) */
    this.tones = [];
    this.tonesDropped = 0; // tone() calls refused since the last tick's sound block
    // the sound block is the host's (soundBlock), not in the cart's memory: nonzero so GameHost mixes it
    this.sndPtr = MEMORY_SIZE;
    this.sndCapacity = SOUND_CAPACITY;
    this.commands = frameCommands();
    this.cmdCapacity = this.commands.length + COMMAND_SCRATCH; // the host-made command list (renderGuest)
    /** @type {string[]} */
    this.traces = [];
    this.warnings = 0;
    this.frameChanged = true;
  }

  /** The disk from the save slot (when playing alone), a fresh instance, then the cart's entry points. */
  async start() {
    const slot = this.saves ? this.saves.slot(DISK_SLOT) : null;
    if (slot && typeof slot !== "number") this.disk = slot.data.slice(0, DISK_SIZE);
    await this.instantiate(this.rng);
    const init = this.exports._initialize ? "_initialize" : "_start";
    for (const name of [init, "start"]) if (this.exports[name]) this.call(name, () => this.exports[name]());
  }

  // --- the GameBackend hooks ----------------------------------------------------------------------

  /** A fresh instance in a fresh 64 KiB page holding the default palette and DRAW_COLORS. */
  async instantiateGuest() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    this.ram = new Uint8Array(memory.buffer);
    const view = new DataView(memory.buffer);
    DEFAULT_PALETTE.forEach((c, i) => view.setUint32(PALETTE + 4 * i, c, true));
    view.setUint16(DRAW_COLORS, 0x1203, true);
    this.fb = new Framebuffer(this.ram, (text) => this.warn(text));
    this.memory = memory;
    this.tones = [];
    this.tonesDropped = 0;
    const instance = await WebAssembly.instantiate(this.module, { env: { memory, ...this.functions() } });
    this.exports = instance.exports;
    this.globals = this.globalNames.map((n) => /** @type {WebAssembly.Global} */ (this.exports[n]));
  }

  /**
   * A cart has no lw_io record (start never asks for one): asking is a host bug.
   * @returns {import("./game-backend.js").IoBlock}
   */
  initGuest() {
    throw new TypeError(`${this.name} is a WASM-4 cart: it has no lw_io record`);
  }

  /** @param {Uint8Array} input one packed lw_input */
  tickGuest(input) {
    this.tones = this.tones.filter((t) => t.tick >= this.tickCount); // start()'s belong to tick 0
    this.ram.set(registers(input), GAMEPADS);
    if (!(this.ram[SYSTEM_FLAGS] & 1)) /** @type {Framebuffer} */ (this.fb).clear();
    if (this.exports.update) this.call("update", () => this.exports.update());
    const { block, dropped } = this.soundBlock(this.tickCount);
    const refused = this.tonesDropped;
    this.tonesDropped = 0;
    return { block, dropped: dropped + refused };
  }

  /** The frame's command list is the host's, the same every frame (behind the failure latch). */
  renderGuest() {
    return this.call("render", () => this.commands.length);
  }

  /** @param {number} size */
  frame(size) {
    return { commands: this.commands.subarray(0, size), dropped: 0 };
  }

  pages() { return 1; }

  grow() { return -1; } // a cart's memory never grows

  /** @param {number} begin @param {number} end @param {Uint8Array} into @param {number} at */
  read(begin, end, into, at) { into.set(this.ram.subarray(begin, end), at); }

  /** @param {number} at @param {Uint8Array} data */
  write(at, data) { this.ram.set(data, at); }

  release() {
    this.exports = {};
    this.globals = [];
  }

  // --- WASM-4's env functions ---------------------------------------------------------------------

  /** @param {string} text */
  warn(text) {
    this.warnings += 1;
    if (this.warnings <= MAX_WARNINGS) this.log("warn", `[${this.name}] ${text}`);
  }

  /** @param {string} text */
  trace(text) {
    this.traces.push(text);
    if (this.traces.length > 256) this.traces.shift();
    this.log("info", `[${this.name}] ${text}`);
  }

  /** The NUL-terminated bytes at `ptr` (cut at the end of memory). @param {number} ptr */
  cstring(ptr) {
    if (!(ptr >= 0 && ptr < MEMORY_SIZE)) return new Uint8Array(0);
    const end = this.ram.indexOf(0, ptr);
    return this.ram.subarray(ptr, end < 0 ? MEMORY_SIZE : end);
  }

  /** @param {number} ptr @param {number} len */
  span(ptr, len) {
    if (!(ptr >= 0 && ptr < MEMORY_SIZE) || len <= 0) return new Uint8Array(0);
    return this.ram.subarray(ptr, ptr + Math.min(len, MEMORY_SIZE - ptr));
  }

  /** WASM-4's env functions (u32 arguments read with >>> 0, as the native host reads them). */
  functions() {
    const fb = () => this.fb;
    const codes = (text) => Array.from(text, (c) => /** @type {number} */ (c.codePointAt(0)));
    return {
      blit: (p, x, y, w, h, f) => fb().blit(p >>> 0, x, y, w >>> 0, h >>> 0, 0, 0, w >>> 0, f >>> 0),
      blitSub: (p, x, y, w, h, sx, sy, stride, f) => fb().blit(p >>> 0, x, y, w >>> 0, h >>> 0, sx >>> 0, sy >>> 0, stride >>> 0, f >>> 0),
      line: (x1, y1, x2, y2) => fb().line(x1, y1, x2, y2),
      hline: (x, y, len) => fb().hline(x, y, len >>> 0),
      vline: (x, y, len) => fb().vline(x, y, len >>> 0),
      oval: (x, y, w, h) => fb().oval(x, y, w >>> 0, h >>> 0),
      rect: (x, y, w, h) => fb().rect(x, y, w >>> 0, h >>> 0),
      text: (p, x, y) => fb().text(Array.from(this.cstring(p >>> 0)), x, y),
      textUtf8: (p, len, x, y) => fb().text(codes(utf8.decode(this.span(p >>> 0, len >>> 0))), x, y),
      textUtf16: (p, len, x, y) => fb().text(codes(utf16.decode(this.span(p >>> 0, (len >>> 0) & ~1))), x, y),
      tone: (freq, dur, vol, flags) => this.tone(freq >>> 0, dur >>> 0, vol >>> 0, flags >>> 0),
      diskr: (p, size) => {
        p >>>= 0;
        if (p >= MEMORY_SIZE) return 0;
        const data = this.disk.subarray(0, Math.min(size >>> 0, MEMORY_SIZE - p));
        this.ram.set(data, p);
        return data.length;
      },
      diskw: (p, size) => {
        this.disk = this.span(p >>> 0, size >>> 0).slice(0, DISK_SIZE);
        if (this.saves) this.saves.write(DISK_SLOT, this.disk, 0);
        return this.disk.length;
      },
      trace: (p) => this.trace(utf8.decode(this.cstring(p >>> 0))),
      traceUtf8: (p, len) => this.trace(utf8.decode(this.span(p >>> 0, len >>> 0))),
      traceUtf16: (p, len) => this.trace(utf16.decode(this.span(p >>> 0, (len >>> 0) & ~1))),
      tracef: (fmt, args) => this.trace(this.tracef(fmt >>> 0, args >>> 0)),
    };
  }

  tone(frequency, duration, volume, flags) {
    const kept = this.tones.filter((t) => t.tick === this.tickCount).length;
    if (kept >= MAX_TONES_PER_TICK) {
      this.warn(`more than ${MAX_TONES_PER_TICK} tone() calls in tick ${this.tickCount}: the rest are dropped`);
      this.tonesDropped += 1;
      return;
    }
    this.tones.push(decodeTone(this.tickCount, frequency, duration, volume, flags));
  }

  /** tracef's documented subset (%c %d %x %s %f %%), as layerw/runtime/wasm4/trace.py formats it. */
  tracef(fmtPtr, argsPtr) {
    const fmt = latin1.decode(this.cstring(fmtPtr));
    const view = new DataView(this.memory.buffer);
    let at = argsPtr;
    let out = "";
    for (let i = 0; i < fmt.length; i++) {
      if (fmt[i] !== "%" || i + 1 >= fmt.length) { out += fmt[i]; continue; }
      const conv = fmt[++i];
      if (conv === "%") { out += "%"; continue; }
      if ("cdxs".includes(conv)) {
        const ok = at >= 0 && at <= MEMORY_SIZE - 4;
        const v = ok ? view.getInt32(at, true) : 0;
        at += 4;
        if (!ok) out += "<?>";
        else if (conv === "c") out += String.fromCharCode(v & 0xff);
        else if (conv === "d") out += String(v);
        else if (conv === "x") out += (v >>> 0).toString(16);
        else out += (v >>> 0) < MEMORY_SIZE ? latin1.decode(this.cstring(v >>> 0)) : "<?>";
      } else if (conv === "f") {
        at = Math.ceil(at / 8) * 8;
        out += at <= MEMORY_SIZE - 8 ? view.getFloat64(at, true).toFixed(6) : "<?>";
        at += 8;
      } else out += `%${conv}`;
    }
    return out;
  }


  // --- the frame path -----------------------------------------------------------------------------

  /**
   * One tick (GameHost.tick), then the framebuffer's texture is new.
   * @param {import("./game-backend.js").Inputs} inputs
   * @param {number[][]} [events]
   */
  tick(inputs, events = []) {
    if (events.length > MAX_EVENTS) throw new InputError(`${events.length} events in one tick; the contract allows ${MAX_EVENTS}`);
    super.tick(inputs, events);
    this.frameChanged = true;
  }

  /**
   * The sound block of `tick` (cartgame.py _sound_block): a TONE command per tone() call of the tick,
   * in call order, as many as the block holds; `dropped` counts the rest.
   * @param {number} tick
   */
  soundBlock(tick) {
    const tones = this.tones.filter((t) => t.tick === tick);
    const fits = Math.floor(this.sndCapacity / COMMAND_SIZE);
    const block = new Uint8Array(Math.min(tones.length, fits) * COMMAND_SIZE);
    tones.slice(0, fits).forEach((t, i) => block.set(toneCommand(...toneArgs(t), this.tickRate), i * COMMAND_SIZE));
    return { block, dropped: Math.max(tones.length - fits, 0) };
  }

  /** The framebuffer as a texture when a tick (or a restore) may have changed it since the last call. */
  takeNewTextures() {
    if (!this.frameChanged || !this.fb) return [];
    this.frameChanged = false;
    return /** @type {any} */ ([[FRAME_TEXTURE, { width: 160, height: 160, pixels: this.fb.rgba() }]]);
  }

  // --- state: the native host's (cartgame.py state_hash, snapshot, restore) -----------------------

  /** The values of the cart's mutable number globals (i64 as BigInt). */
  globalValues() {
    return this.globals.map((g) => g.value);
  }

  /** The bytes layerw/runtime/wasm4/cartgame.py state_hash hashes, in the same order. */
  stateBytes() {
    const parts = [this.ram.slice(), Uint8Array.of(this.disk.length & 255, this.disk.length >> 8), this.disk];
    for (const t of this.tones) {
      const b = new DataView(new ArrayBuffer(4 * TONE_FIELDS.length));
      TONE_FIELDS.forEach((f, i) => b.setUint32(4 * i, Number(t[f]), true));
      parts.push(new Uint8Array(b.buffer));
    }
    this.globalValues().forEach((value, i) => {
      const type = this.globalTypes[i];
      const b = new DataView(new ArrayBuffer(type === "i32" || type === "f32" ? 4 : 8));
      if (type === "i32") b.setInt32(0, value, true);
      else if (type === "i64") b.setBigInt64(0, BigInt(value), true);
      else if (Number.isNaN(value)) { // the canonical quiet NaN (as natively): JS cannot see a NaN's sign or payload
        if (type === "f32") b.setUint32(0, 0x7fc00000, true);
        else b.setBigUint64(0, 0x7ff8000000000000n, true);
      } else if (type === "f32") b.setFloat32(0, value, true);
      else b.setFloat64(0, value, true);
      parts.push(new Uint8Array(b.buffer));
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /**
   * The cart's state now, in the native snapshot's layout: the whole page (no hole), and as host
   * state the disk, the tone events, the globals and the mixer's voices.
   * @returns {Snapshot}
   */
  snapshot() {
    this.assertOpen();
    if (this.unsavedGlobals) {
      throw new SnapshotError(`${this.name} keeps state in ${this.unsavedGlobals} mutable wasm globals of a type a snapshot `
        + "cannot hold (v128 or references): it cannot be snapshotted");
    }
    const tones = this.tones.map((t) => Object.fromEntries(TONE_FIELDS.map((f, i) => [NATIVE_TONE[i], f === "noteMode" ? Boolean(t[f]) : t[f]])));
    return new Snapshot({
      moduleSha256: /** @type {string} */ (this.moduleSha256), tick: this.tickCount, pages: 1, stateBegin: 0,
      memory: this.ram.slice(),
      host: { rng: 0n, assets: {}, disk: toBase64(this.disk), tones, globals: this.globalValues(), audio: this.live(this.audio).state() },
    });
  }

  /**
   * Continue from `snap` (a cart's, native or from this page) in a fresh instance, also after a failure.
   * @param {SnapshotFields} snap
   */
  async restore(snap) {
    if ((this.moduleSha256 && snap.moduleSha256 !== this.moduleSha256) || snap.pages !== 1 || snap.stateBegin !== 0
        || snap.holeSize !== 0 || snap.memory.length !== MEMORY_SIZE) {
      throw new ProtocolError(`the snapshot is not of ${this.name}, a WASM-4 cart (${String(snap.moduleSha256).slice(0, 12)}): reload the page`);
    }
    const host = /** @type {any} */ (snap.host);
    let disk;
    let tones;
    let values;
    try {
      disk = Uint8Array.from(atob(host.disk), (c) => c.charCodeAt(0));
      tones = host.tones.map((/** @type {any} */ t) => Object.fromEntries(TONE_FIELDS.map((f, i) => [f, Number(t[NATIVE_TONE[i]])])));
      values = host.globals.map((/** @type {any} */ v, /** @type {number} */ i) => globalValue(this.globalTypes[i], v));
    } catch (e) {
      throw new ProtocolError(`the snapshot's host state is not a cart's: ${e.message || e}`);
    }
    if (disk.length > DISK_SIZE || tones.length > MAX_TONES_PER_TICK || values.length !== this.globalNames.length) {
      throw new ProtocolError(`the snapshot does not fit ${this.name}: a cart has ${DISK_SIZE} bytes of disk, at most `
        + `${MAX_TONES_PER_TICK} tones a tick and ${this.globalNames.length} globals`);
    }
    this.assertOpen();
    this.live(this.audio).restore(host.audio, this.assets.takeReadySounds());
    this.failure = null;
    await this.instantiate(new SplitMix64(0n));
    this.ram.set(snap.memory);
    this.disk = disk;
    this.tones = tones;
    this.globals.forEach((g, i) => { g.value = values[i]; });
    this.tickCount = snap.tick;
    this.frameChanged = true;
  }
}

/**
 * A global's value as a snapshot holds it: a number, or for a NaN or infinite float the hex of its
 * little-endian bits (cartgame.py _host_state: JSON has no such numbers).
 * @param {string} type @param {number | bigint | string} held
 */
function globalValue(type, held) {
  if (type === "i64") return BigInt(held);
  if (typeof held !== "string") return Number(held);
  const bytes = Uint8Array.from(held.match(/../g) || [], (h) => parseInt(h, 16));
  if (bytes.length !== (type === "f32" ? 4 : 8)) throw new TypeError(`${held} is not the bits of an ${type}`);
  const view = new DataView(bytes.buffer);
  return type === "f32" ? view.getFloat32(0, true) : view.getFloat64(0, true);
}

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes)); // at most DISK_SIZE bytes
}
