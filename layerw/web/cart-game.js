// CartGame: a WASM-4 cart in the browser (mirrors layerw/runtime/wasm4/cartgame.py). The host makes
// the cart's one 64 KiB page, writes the default palette and DRAW_COLORS, instantiates the cart with
// WASM-4's `env` functions (wasm4-framebuffer.js draws), calls _initialize or _start and start, then
// per tick writes GAMEPADS and MOUSE from Layer-W's input, clears the framebuffer unless
// SYSTEM_FLAGS preserves it, calls update, then mixes the tick's tone() calls (one TONE command
// each, wasm4-tone.js) as its sound block with the same mixer.wasm as every game (audio.js), so
// audioHash() equals the native audio-hash. The frame is one 160x160 texture drawn by a one-sprite
// command list; the state hash covers the bytes the native host hashes. Snapshots (and so rooms)
// are native-only for carts yet: `snapshot` and `restore` say so.

import { KEYS, OPS, PAD_BUTTONS, SOUND_CAPACITY, STRUCTS } from "./abi.js";
import { Audio } from "./audio.js";
import { checkCart, exportGlobals } from "./cart.js";
import { GameError, InputError, InvalidModule, LayerWError } from "./errors.js";
import { consoleLog, crashOf, hex } from "./game-host.js";
import { Mixer } from "./mixer.js";
import { MODULE_BYTES } from "./source.js";
import { DRAW_COLORS, Framebuffer, MEMORY_SIZE } from "./wasm4-framebuffer.js";
const DISK_SLOT = new TextEncoder().encode("disk"); // the save slot a cart's disk lasts in (as natively)
import { COMMAND_SIZE, TONE_FIELDS, decodeTone, toneArgs, toneCommand } from "./wasm4-tone.js";

export const FRAME_TEXTURE = 1;
const PALETTE = 0x04;
const GAMEPADS = 0x16;
const SYSTEM_FLAGS = 0x1f;
const DEFAULT_PALETTE = [0xe0f8cf, 0x86c06c, 0x306850, 0x071821];
const DISK_SIZE = 1024;
const MAX_TONES_PER_TICK = 1024;
const MAX_WARNINGS = 16;
const KEY_BUTTONS = { KeyX: 1, KeyV: 1, Space: 1, KeyZ: 2, KeyC: 2, KeyN: 2, ArrowLeft: 16, ArrowRight: 32, ArrowUp: 64, ArrowDown: 128 };
const PAD_BITS = { A: 1, X: 1, B: 2, Y: 2, LEFT: 16, RIGHT: 32, UP: 64, DOWN: 128 };
const PLAYER = STRUCTS.lw_player;
const PLAYERS_AT = /** @type {number} */ (STRUCTS.lw_input.fields.players[0]);
const MAX_EVENTS = /** @type {number} */ (STRUCTS.lw_input.fields.events[2]);
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

export class CartGame {
  /**
   * @param {{config: any, module: Uint8Array}} source a source whose module is a cart's bytes
   * @param {{seed?: number | bigint, log?: (level: string, text: string) => void, saves?: any}} [options]
   *   saves: the game's SaveStore (saves.js): the disk is its slot "disk", loaded now, written on diskw
   */
  static async create(source, { log = consoleLog, saves = null } = {}) {
    const { config } = source;
    checkCart(source.module, config.name);
    const rewritten = exportGlobals(source.module);
    const compiling = WebAssembly.compile(/** @type {BufferSource} */ (rewritten.wasm)).catch((e) => {
      throw new InvalidModule(`${config.name}: the cart is not valid WebAssembly: ${e.message || e}`);
    });
    const [module, mixer] = await Promise.all([compiling, Mixer.compile()]);
    const game = new CartGame(config, module, rewritten, log);
    game.saves = saves;
    const slot = saves ? saves.slot(DISK_SLOT) : null;
    if (slot && typeof slot !== "number") game.disk = slot.data.slice(0, DISK_SIZE);
    game.audio = new Audio(game.name, mixer, game.tickRate, log);
    await game.start();
    return game;
  }

  constructor(config, module, rewritten, log) {
    this.config = config;
    this.name = config.name;
    this.tickRate = config.tick_rate || 60;
    this.module = module;
    this.globalNames = rewritten.names;
    this.globalTypes = rewritten.types;
    this.log = log;
    this.tickCount = 0;
    this.failure = null;
    this.closed = false;
    this.disk = new Uint8Array(0);
    /** @type {any} the SaveStore the disk lasts in (null: in memory only, as in a room) */
    this.saves = null;
    /** @type {import("./wasm4-tone.js").ToneEvent[]} the tone() calls of the last tick (and start's, with the first) */
    this.tones = [];
    this.tonesDropped = 0; // tone() calls refused since the last tick's sound block
    this.sndCapacity = SOUND_CAPACITY;
    /** @type {Audio | null} set by create() */
    this.audio = null;
    this.traces = [];
    this.warnings = 0;
    this.frameChanged = true;
    this.commands = frameCommands();
  }

  async start() {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    this.ram = new Uint8Array(this.memory.buffer);
    const view = new DataView(this.memory.buffer);
    DEFAULT_PALETTE.forEach((c, i) => view.setUint32(PALETTE + 4 * i, c, true));
    view.setUint16(DRAW_COLORS, 0x1203, true);
    this.fb = new Framebuffer(this.ram, (text) => this.warn(text));
    let instance;
    try {
      const module = /** @type {WebAssembly.Module} */ (this.module);
      instance = await WebAssembly.instantiate(module, { env: { memory: this.memory, ...this.functions() } });
    } catch (e) {
      if (e instanceof LayerWError) throw e;
      if (e instanceof WebAssembly.RuntimeError) throw crashOf(e, this.name, 0, "instantiate");
      throw new InvalidModule(`${this.name} cannot be instantiated: ${e.message || e}`);
    }
    this.exports = instance.exports;
    this.globals = this.globalNames.map((n) => /** @type {WebAssembly.Global} */ (this.exports[n]));
    const init = this.exports._initialize ? "_initialize" : "_start";
    for (const name of [init, "start"]) if (this.exports[name]) this.call(name);
  }

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

  /** Run export `name` behind the failure latch; a trap fails the game. @param {string} name */
  call(name) {
    if (this.closed) throw new GameError(`${this.name} is closed: start it again`, { game: this.name, tick: this.tickCount });
    if (this.failure) throw this.failure;
    try {
      /** @type {() => void} */ (this.exports[name])();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        this.failure = crashOf(e, this.name, this.tickCount, name);
        throw this.failure;
      }
      throw e;
    }
  }

  blocked() { return false; }

  /** The GAMEPADS and MOUSE registers from a packed lw_input. @param {Uint8Array} input */
  registers(input) {
    const view = new DataView(input.buffer, input.byteOffset);
    const out = new Uint8Array(9);
    for (let p = 0; p < 4; p++) {
      const base = PLAYERS_AT + p * PLAYER.size;
      let byte = 0;
      for (const [key, bit] of Object.entries(KEY_BUTTONS)) {
        const code = KEYS.indexOf(key);
        if ((view.getUint32(base + 4 * (code >> 5), true) >>> (code & 31)) & 1) byte |= bit;
      }
      for (let g = 0; g < 4; g++) {
        const pad = base + /** @type {number} */ (PLAYER.fields.gamepads[0]) + g * STRUCTS.lw_gamepad.size;
        if (!view.getUint32(pad, true)) continue;
        const buttons = view.getUint32(pad + 4, true);
        for (const [name, bit] of Object.entries(PAD_BITS)) if ((buttons >>> PAD_BUTTONS.indexOf(name)) & 1) byte |= bit;
        const ax = view.getFloat32(pad + 8, true);
        const ay = view.getFloat32(pad + 12, true);
        byte |= (ax < -0.5 ? 16 : 0) | (ax > 0.5 ? 32 : 0) | (ay < -0.5 ? 64 : 0) | (ay > 0.5 ? 128 : 0);
      }
      out[p] = byte;
    }
    const pointer = PLAYERS_AT + /** @type {number} */ (PLAYER.fields.pointer[0]);
    const mouse = new DataView(out.buffer);
    for (const [i, v] of [view.getFloat32(pointer, true), view.getFloat32(pointer + 4, true)].entries()) {
      mouse.setInt16(4 + 2 * i, Number.isFinite(v) ? clampI16(Math.floor(v)) : 0, true);
    }
    out[8] = view.getUint32(pointer + 8, true) & 7;
    return out;
  }

  /** @param {{pack: (tick: number, events: number[][]) => Uint8Array}} inputs @param {number[][]} [events] */
  tick(inputs, events = []) {
    if (events.length > MAX_EVENTS) throw new InputError(`${events.length} events in one tick; the contract allows ${MAX_EVENTS}`);
    this.tones = this.tones.filter((t) => t.tick >= this.tickCount);
    this.ram.set(this.registers(inputs.pack(this.tickCount, events)), GAMEPADS);
    if (!(this.ram[SYSTEM_FLAGS] & 1)) this.fb.clear();
    if (this.exports.update) this.call("update");
    const { block, dropped } = this.soundBlock(this.tickCount);
    this.live(this.audio).mix(block, dropped + this.tonesDropped);
    this.tonesDropped = 0;
    this.tickCount += 1;
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

  /**
   * @template T
   * @param {T | null} part
   * @returns {T}
   */
  live(part) {
    if (this.closed) throw new GameError(`${this.name} is closed`, { game: this.name, tick: this.tickCount });
    if (part === null) throw new TypeError(`${this.name} has no instance yet`);
    return part;
  }

  /** The sound mixed since the last call (GameHost.takeSamples). @returns {Int16Array} */
  takeSamples() {
    return this.live(this.audio).takeSamples();
  }

  /** Drop the sound mixed so far, unheard (GameHost.skipSamples). */
  skipSamples() {
    this.live(this.audio).skip();
  }

  /** SHA-256 (hex) of every sample mixed: the native host's audio-hash for the same cart and inputs. */
  audioHash() {
    return hex(this.live(this.audio).digest());
  }

  render() {
    if (this.failure) throw this.failure;
    return this.commands;
  }

  takeNewTextures() {
    if (!this.frameChanged) return [];
    this.frameChanged = false;
    return [[FRAME_TEXTURE, { width: 160, height: 160, pixels: this.fb.rgba() }]];
  }

  /** The bytes layerw/runtime/wasm4/cartgame.py state_hash hashes, in the same order. */
  stateBytes() {
    const parts = [this.ram.slice(), Uint8Array.of(this.disk.length & 255, this.disk.length >> 8), this.disk];
    for (const t of this.tones) {
      const b = new DataView(new ArrayBuffer(4 * TONE_FIELDS.length));
      TONE_FIELDS.forEach((f, i) => b.setUint32(4 * i, t[f], true));
      parts.push(new Uint8Array(b.buffer));
    }
    this.globals.forEach((g, i) => {
      const type = this.globalTypes[i];
      const b = new DataView(new ArrayBuffer(type === "i32" || type === "f32" ? 4 : 8));
      if (type === "i32") b.setInt32(0, g.value, true);
      else if (type === "i64") b.setBigInt64(0, BigInt(g.value), true);
      else if (type === "f32") b.setFloat32(0, g.value, true);
      else b.setFloat64(0, g.value, true);
      parts.push(new Uint8Array(b.buffer));
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  async stateHash() {
    if (this.closed) throw new GameError(`${this.name} is closed`, { game: this.name, tick: this.tickCount });
    return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", this.stateBytes())));
  }

  snapshot() {
    throw new GameError(`${this.name} is a WASM-4 cart: browsers do not snapshot carts yet (rooms with carts are native-only)`,
      { game: this.name, tick: this.tickCount });
  }

  async restore() { this.snapshot(); }

  close() {
    this.closed = true;
    this.exports = null;
  }
}

/** @param {number} v */
function clampI16(v) { return Math.max(-32768, Math.min(32767, v)); }
