// CartGame: a WASM-4 cart in the browser, a GameHost backend (game-host.js; mirrors
// layerw/runtime/wasm4/cartgame.py). The host makes the cart's one 64 KiB page, writes the default
// palette, DRAW_COLORS and the off-screen mouse, instantiates the cart with WASM-4's `env` functions (wasm4-imports.js;
// wasm4fb.wasm draws, wasm4-disk.js keeps the disk), calls _start, _initialize and start (each one it exports),
// then per tick writes GAMEPADS and MOUSE from Layer-W's input (wasm4-controls.js), clears the
// framebuffer unless SYSTEM_FLAGS preserves it, calls update, then mixes the tick's tone() calls (one TONE command each, wasm4-tone.js) as its sound
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
import { MOUSE_OFF_SCREEN, mouseSeen, registers } from "./wasm4-controls.js";
import { DISK_SIZE, Disk } from "./wasm4-disk.js";
import { DRAW_COLORS, MEMORY_SIZE } from "./wasm4-framebuffer.js";
import { CartImports, MAX_TONES_PER_TICK } from "./wasm4-imports.js";
import { COMMAND_SIZE, TONE_FIELDS, toneArgs, toneCommand } from "./wasm4-tone.js";

/** @typedef {import("./game-backend.js").GameBackend} GameBackend */
/** @typedef {import("./game-backend.js").SnapshotFields} SnapshotFields */

export const FRAME_TEXTURE = 1;
const PALETTE = 0x04;
const GAMEPADS = 0x16;
const MOUSE_X = 0x1a;
const SYSTEM_FLAGS = 0x1f;
const NETPLAY = 0x20;
const NETPLAY_SHARED = 0b100; // NETPLAY between calls in a room, on every copy (netplay.py SHARED)
const FRAMEBUFFER = 0xa0;
const FRAMEBUFFER_SIZE = 6400;
const DEFAULT_PALETTE = [0xe0f8cf, 0x86c06c, 0x306850, 0x071821];
const MAX_EVENTS = /** @type {number} */ (STRUCTS.lw_input.fields.events[2]);
// a tone event's fields as the native snapshot names them (ToneEvent.to_dict)
const NATIVE_TONE = TONE_FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

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
    /** @type {CartImports | null} the env functions of the instance */
    this.imports = null;
    this.disk = new Disk(null); // start() loads it from the save slot
    /** @type {import("./wasm4-tone.js").ToneEvent[]} the tone() calls of the last tick (and start's, with the first) */
    this.tones = [];
    // the sound block is the host's (soundBlock), not in the cart's memory: nonzero so GameHost mixes it
    this.sndPtr = MEMORY_SIZE;
    this.sndCapacity = SOUND_CAPACITY;
    this.commands = frameCommands();
    this.cmdCapacity = this.commands.length + COMMAND_SCRATCH; // the host-made command list (renderGuest)
    /** @type {string[]} the last trace lines */
    this.traces = [];
    this.frameChanged = true;
    /** @type {number | null} in a room, NETPLAY while update runs: 0b100 | the player this copy shows (playAs) */
    this.netplay = null;
  }

  /**
   * This copy runs in a room and shows `seat`'s view (null: a spectator's, player 0's): update reads
   * NETPLAY as 0b100 | its player; memory holds 0b100 between calls and the state hash reads the
   * framebuffer as zeros, so copies drawing different views keep one hash chain (netplay.py).
   * @param {number | null} seat
   */
  playAs(seat) {
    if (seat !== null && !(Number.isInteger(seat) && seat >= 0 && seat < 4)) throw new ProtocolError(`a cart has players 0..3, not ${seat}`);
    this.netplay = NETPLAY_SHARED | (seat || 0);
    if (this.ram.length) this.ram[NETPLAY] = NETPLAY_SHARED;
  }

  /** Whether the page may show its on-screen gamepad: not while SYSTEM_FLAGS has HIDE_GAMEPAD_OVERLAY (bit 1). */
  gamepadOverlay() {
    return !(this.ram[SYSTEM_FLAGS] & 2);
  }

  /** The disk from the save slot (when playing alone), a fresh instance, then the cart's entry points. */
  async start() {
    this.disk = new Disk(this.saves);
    await this.instantiate(this.rng);
    // WASM-4 calls each one the cart exports, in this order: a toolchain's WASI-style entry points, then start
    for (const name of ["_start", "_initialize", "start"]) if (typeof this.exports[name] === "function") this.call(name, () => this.exports[name]());
  }

  // --- the GameBackend hooks ----------------------------------------------------------------------

  /** A fresh instance in a fresh 64 KiB page holding the default palette and DRAW_COLORS. */
  async instantiateGuest() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    this.ram = new Uint8Array(memory.buffer);
    const view = new DataView(memory.buffer);
    DEFAULT_PALETTE.forEach((c, i) => view.setUint32(PALETTE + 4 * i, c, true));
    view.setUint16(DRAW_COLORS, 0x1203, true);
    view.setInt16(MOUSE_X, MOUSE_OFF_SCREEN, true);
    view.setInt16(MOUSE_X + 2, MOUSE_OFF_SCREEN, true);
    this.memory = memory;
    this.tones.length = 0;
    const { name, log, disk, tones, traces } = this;
    this.imports = new CartImports({ name, log, ram: this.ram, disk, tones, traces, tick: () => this.tickCount });
    const env = { memory, ...(await this.imports.functions(memory)) }; // the host's: not within the cart's deadline
    const instance = await this.instantiateModule(this.module, { env });
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
    const imports = this.live(this.imports);
    this.tones.splice(0, this.tones.length, ...this.tones.filter((t) => t.tick >= this.tickCount)); // start()'s: tick 0
    this.ram.set(registers(input, mouseSeen(this.ram)), GAMEPADS);
    if (!(this.ram[SYSTEM_FLAGS] & 1)) imports.fb.clear();
    if (typeof this.exports.update === "function") {
      if (this.netplay !== null) this.ram[NETPLAY] = this.netplay;
      try {
        this.call("update", () => this.exports.update());
      } finally {
        if (this.netplay !== null) this.ram[NETPLAY] = NETPLAY_SHARED;
      }
    }
    const { block, dropped } = this.soundBlock(this.tickCount);
    const refused = imports.tonesDropped;
    imports.tonesDropped = 0;
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

  /** A cart draws no GPU commands: a new WebGPU device lost nothing of it. */
  forgetGpu() {}

  release() {
    this.exports = {};
    this.globals = [];
    this.imports = null;
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
    if (!this.frameChanged || !this.imports) return [];
    this.frameChanged = false;
    return /** @type {any} */ ([[FRAME_TEXTURE, { width: 160, height: 160, pixels: this.imports.fb.rgba() }]]);
  }

  // --- state: the native host's (cartgame.py state_hash, snapshot, restore) -----------------------

  /** The values of the cart's mutable number globals (i64 as BigInt). */
  globalValues() {
    return this.globals.map((g) => g.value);
  }

  /** The bytes layerw/runtime/wasm4/cartgame.py state_hash hashes, in the same order (in a room, the framebuffer as zeros). */
  stateBytes() {
    const disk = this.disk.data;
    const memory = this.ram.slice();
    if (this.netplay !== null) memory.fill(0, FRAMEBUFFER, FRAMEBUFFER + FRAMEBUFFER_SIZE); // each copy draws its own view
    const parts = [memory, Uint8Array.of(disk.length & 255, disk.length >> 8), disk];
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
      host: { rng: 0n, assets: {}, disk: toBase64(this.disk.data), tones, globals: this.globalValues(), audio: this.live(this.audio).state() },
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
    if (this.netplay !== null) this.ram[NETPLAY] = NETPLAY_SHARED;
    this.disk.restore(disk);
    this.tones.splice(0, this.tones.length, ...tones);
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
