// Game: the GameHost backend for a core module (mirrors layerw/runtime/game.py), run by the
// browser's own WebAssembly. Only what is core-specific lives here: compiling and checking the
// module, its imports (host.js: the `layerw` namespace and a WASI subset), calling its lw_* exports,
// and its memory, which the host reads and writes in place (render returns a zero-copy view of the
// command list). Everything else is GameHost's (game-host.js).

import { EXPORTS, IMPORT_MODULE, IMPORTS, STRUCTS, WASI_IMPORTS, WASI_MODULE } from "./abi.js";
import { InvalidModule } from "./errors.js";
import { GameHost } from "./game-host.js";
import { PAGE } from "./snapshot.js";

/** @typedef {import("./game-backend.js").GameBackend} GameBackend */
/** @typedef {import("./game-backend.js").GameConfig} GameConfig */
/** @typedef {import("./game-backend.js").GameSource} GameSource */
/** @typedef {import("./game-backend.js").IoBlock} IoBlock */
/** @typedef {import("./game-backend.js").Frame} Frame */
/** @typedef {import("./game-backend.js").TickSound} TickSound */
/** @typedef {import("./game-backend.js").LogFn} LogFn */
/** @typedef {import("./game-backend.js").ModuleLike} ModuleLike */
/** @typedef {import("./assets.js").AssetTable} AssetTable */
/** @typedef {import("./host.js").Host} Host */

/**
 * A core module's exports (checked by checkModule).
 * @typedef {object} CoreExports
 * @property {WebAssembly.Memory} memory
 * @property {() => void} _initialize
 * @property {(seedLo: number, seedHi: number) => number} lw_init
 * @property {() => void} lw_tick
 * @property {() => number} lw_render
 */

const IO = STRUCTS.lw_io;
const NO_SOUND = new Uint8Array(0);
/** @type {Record<string, number>} lw_io's field offsets */
const IO_AT = Object.fromEntries(Object.entries(IO.fields).map(([k, v]) => [k, /** @type {number} */ (v[0])]));

/**
 * Compile a module from a Response (streaming), bytes, or an already compiled Module (or a Promise
 * of any of these: a loader's own errors pass through unchanged).
 * @param {ModuleLike | Promise<ModuleLike>} pending
 * @param {string} name the game (and file) in errors
 * @returns {Promise<WebAssembly.Module>}
 */
export async function compileModule(pending, name) {
  const module = await pending;
  try {
    if (module instanceof WebAssembly.Module) return module;
    if (typeof Response !== "undefined" && module instanceof Response) {
      if (!module.ok) throw new InvalidModule(`${name}: the module could not be fetched (HTTP ${module.status})`);
      const type = module.headers.get("content-type") || "";
      if (type.split(";")[0].trim() === "application/wasm") return await WebAssembly.compileStreaming(module);
      return await WebAssembly.compile(await module.arrayBuffer());
    }
    return await WebAssembly.compile(/** @type {BufferSource} */ (module));
  } catch (e) {
    if (e instanceof InvalidModule) throw e;
    throw new InvalidModule(`${name}: the module is not valid WebAssembly: ${e.message || e}`);
  }
}

/**
 * Check a compiled module against the contract (like layerw/contract.py).
 * @param {WebAssembly.Module} module
 * @param {string} name
 */
export function checkModule(module, name) {
  const problems = [];
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") problems.push("missing export: memory 'memory'");
  for (const fn of Object.keys(EXPORTS)) {
    if (exports.get(fn) !== "function") problems.push(`missing export: function '${fn}'`);
  }
  const offered = { [IMPORT_MODULE]: new Set(Object.keys(IMPORTS)), [WASI_MODULE]: new Set(WASI_IMPORTS) };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!(offered[imp.module] && offered[imp.module].has(imp.name) && imp.kind === "function")) {
      problems.push(`unknown import '${imp.module}.${imp.name}': hosts offer only '${IMPORT_MODULE}' `
        + `(${[...offered[IMPORT_MODULE]].sort().join(", ")}) and a WASI stdio/clock/random subset`);
    }
  }
  if (problems.length) {
    throw new InvalidModule(`${name} does not follow the Layer-W contract:\n  - ${problems.join("\n  - ")}`);
  }
}

/** @implements {GameBackend} */
export class Game extends GameHost {
  /**
   * Compile the source's module (streaming where it is a Response) and check it against the contract.
   * @param {GameSource} source
   * @returns {Promise<WebAssembly.Module>}
   */
  static async load(source) {
    const { name } = source.config;
    if (!source.module) throw new InvalidModule(`${name} has no module: rebuild it with \`layerw build\``);
    const module = await compileModule(source.module, name);
    checkModule(module, name);
    return module;
  }

  /**
   * @param {GameConfig} config
   * @param {AssetTable} assets
   * @param {bigint} seed
   * @param {LogFn} log
   * @param {WebAssembly.Module} module
   */
  constructor(config, assets, seed, log, module) {
    super(config, assets, seed, log);
    this.module = module;
    /** @type {CoreExports | null} */
    this.exports = null;
    this.ioPtr = 0;
  }

  /** @returns {CoreExports} */
  get guest() {
    return this.live(this.exports);
  }

  /** @returns {WebAssembly.Memory} */
  get linear() {
    return this.live(this.memory);
  }

  /** @param {Host} host */
  async instantiateGuest(host) {
    const instance = await this.instantiateModule(this.module, host.imports());
    this.exports = /** @type {CoreExports} */ (/** @type {unknown} */ (instance.exports));
    this.memory = this.exports.memory;
  }

  /**
   * `_initialize`, then `lw_init(seed)`; its lw_io block read from memory.
   * @param {bigint} seed
   * @returns {IoBlock}
   */
  initGuest(seed) {
    this.call("_initialize", () => this.guest._initialize());
    const lo = Number(seed & 0xFFFFFFFFn) | 0;
    const hi = Number(seed >> 32n) | 0;
    const ptr = this.call("lw_init", () => this.guest.lw_init(lo, hi)) >>> 0;
    if (!(ptr > 0 && ptr <= this.linear.buffer.byteLength - IO.size)) {
      throw new InvalidModule(`${this.name}: lw_init returned ${ptr}, not an lw_io address`);
    }
    this.ioPtr = ptr;
    const v = new DataView(this.linear.buffer, ptr, IO.size);
    /** @param {string} field */
    const get = (field) => v.getUint32(IO_AT[field], true);
    return {
      magic: get("magic"), abiVersion: get("abi_version"), inputPtr: get("input_ptr"), inputSize: get("input_size"),
      cmdPtr: get("cmd_ptr"), cmdCapacity: get("cmd_capacity"), stateBegin: get("state_begin"),
      sndPtr: get("snd_ptr"), sndCapacity: get("snd_capacity"),
    };
  }

  /**
   * The input is copied into the guest's input block, then `lw_tick`; the sound block it wrote is a
   * view of guest memory (lw_io's snd_len, one byte past the capacity at most for the host to see a lie).
   * @param {Uint8Array} input
   * @returns {TickSound}
   */
  tickGuest(input) {
    new Uint8Array(this.linear.buffer, this.inputPtr, input.length).set(input);
    this.call("lw_tick", () => this.guest.lw_tick());
    if (!this.sndPtr) return { block: NO_SOUND, dropped: 0 };
    const v = new DataView(this.linear.buffer, this.ioPtr + IO_AT.snd_len, 8);
    const length = Math.min(v.getUint32(0, true), this.sndCapacity + 1);
    return { block: new Uint8Array(this.linear.buffer, this.sndPtr, length), dropped: v.getUint32(4, true) };
  }

  /** @returns {number} */
  renderGuest() {
    return this.call("lw_render", () => this.guest.lw_render()) >>> 0;
  }

  /**
   * A view of the command buffer (no copy) and the dropped count in its last word.
   * @param {number} size
   * @returns {Frame}
   */
  frame(size) {
    const buffer = this.linear.buffer;
    const dropped = new DataView(buffer).getUint32(this.cmdPtr + this.cmdCapacity - 4, true);
    return { commands: new Uint8Array(buffer, this.cmdPtr, size), dropped };
  }

  /** @returns {number} */
  pages() {
    return this.linear.buffer.byteLength / PAGE;
  }

  /**
   * @param {number} delta
   * @returns {number}
   */
  grow(delta) {
    try {
      return this.linear.grow(delta);
    } catch (e) {
      if (e instanceof RangeError) return -1;
      throw e;
    }
  }

  /**
   * @param {number} begin
   * @param {number} end
   * @param {Uint8Array} into
   * @param {number} at
   */
  read(begin, end, into, at) {
    into.set(new Uint8Array(this.linear.buffer, begin, end - begin), at);
  }

  /**
   * @param {number} at
   * @param {Uint8Array} data
   */
  write(at, data) {
    new Uint8Array(this.linear.buffer).set(data, at);
  }

  /** @returns {Uint8Array} all of linear memory, writable (a core module's memory is the host's to lend) */
  liveMemory() {
    return new Uint8Array(this.linear.buffer);
  }

  release() {
    this.exports = null;
  }
}
