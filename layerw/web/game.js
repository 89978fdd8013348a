// Game: one running instance of a game module in the browser (mirrors layerw/runtime/game.py).
//
// Per frame the host makes at most two calls into the guest: `tick` (the tick's packed input is
// copied into the guest's input block first) and `render` (returns a zero-copy view of the command
// list). Traps become typed errors carrying the game's name and tick.

import {
  ABI_VERSION, COMMAND_SCRATCH, EXPORTS, IMPORT_MODULE, IMPORTS, IO_MAGIC, STRUCTS, WASI_IMPORTS, WASI_MODULE,
} from "./abi.js";
import { AssetTable } from "./assets.js";
import {
  GameCrashed, GameError, GameExited, GameOutOfMemory, InvalidModule, ProtocolError,
} from "./errors.js";
import { Host, SplitMix64 } from "./host.js";
import { PAGE, Snapshot } from "./snapshot.js";

const MB = 1024 * 1024;
const IO = STRUCTS.lw_io;
const IO_AT = Object.fromEntries(Object.entries(IO.fields).map(([k, v]) => [k, v[0]]));

// V8's trap messages -> wasmtime's trap codes (lower case), so both hosts name a trap alike.
const TRAP_CODES = [
  [/unreachable/i, "unreachable"],
  [/memory access out of bounds/i, "memory_out_of_bounds"],
  [/(divide|remainder) by zero/i, "integer_division_by_zero"],
  [/(integer overflow|divide result unrepresentable)/i, "integer_overflow"],
  [/float unrepresentable/i, "bad_conversion_to_integer"],
  [/table index is out of bounds/i, "table_out_of_bounds"],
  [/null function|signature mismatch/i, "bad_signature"],
  [/call stack size/i, "stack_overflow"],
];

export function consoleLog(level, text) {
  (console[level] || console.log)(text);
}

/** A trap (a RuntimeError from V8) as the GameCrashed both hosts raise, trap code included. */
export function crashOf(error, game, tick, call) {
  const text = String(error.message || error).split("\n")[0];
  const found = TRAP_CODES.find(([re]) => re.test(text));
  const trapCode = found ? found[1] : "unknown";
  return new GameCrashed(`${game} at tick ${tick} in ${call}: trapped: ${text}`, { game, tick, trapCode, cause: error });
}

/** Compile a module from a Response (streaming), bytes, or an already compiled Module (or a
 *  Promise of any of these: a loader's own errors pass through unchanged). */
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
    return await WebAssembly.compile(module);
  } catch (e) {
    if (e instanceof InvalidModule) throw e;
    throw new InvalidModule(`${name}: the module is not valid WebAssembly: ${e.message || e}`);
  }
}

/** Check a compiled module against the contract (like layerw/contract.py). */
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

export class Game {
  /**
   * Start a game from a source: {config: {name, tick_rate, preload, assets, memory_mb, ...},
   * module: Response | ArrayBuffer | Uint8Array | WebAssembly.Module, readAsset(name)}.
   * Preloaded assets are fetched and decoded first. `seed` is a Number or BigInt (64 bits).
   */
  static async create(source, { seed = 0, log = consoleLog, onAsset } = {}) {
    const { config } = source;
    const assets = new AssetTable(config.assets || [], config.preload || [], (n) => source.readAsset(n));
    // Compile (streaming where the module is a Response) while the first-frame assets load.
    const [module] = await Promise.all([compileModule(source.module, config.name), assets.preloadAll(onAsset)]);
    checkModule(module, config.name);
    const game = new Game(config, module, assets, BigInt.asUintN(64, BigInt(seed)), log);
    await game.start();
    return game;
  }

  constructor(config, module, assets, seed, log) {
    this.config = config;
    this.name = config.name;
    this.tickRate = config.tick_rate;
    this.memoryCap = (config.memory_mb || 64) * MB;
    this.module = module;
    this.assets = assets;
    this.seed = seed;
    this.log = log;
    this.tickCount = 0;
    this.failure = null;
    this.droppedReported = false;
    this.rng = new SplitMix64(seed);
    this.moduleSha256 = config.manifest ? config.manifest.module.sha256 : null;
  }

  async start() {
    await this.instantiate(this.rng);
    this.call("_initialize");
    const lo = Number(this.seed & 0xFFFFFFFFn) | 0;
    const hi = Number(this.seed >> 32n) | 0;
    this.readIo(this.call("lw_init", lo, hi) >>> 0);
  }

  /** A fresh instance whose WASI random stream is `rng` (start, and restore). */
  async instantiate(rng) {
    this.rng = rng;
    const host = new Host({
      game: this.name,
      assets: this.assets,
      rng: this.rng,
      tick: () => this.tickCount,
      clockNs: () => (BigInt(this.tickCount) * 1000000000n) / BigInt(this.tickRate),
      memory: () => this.memory,
      log: this.log,
    });
    let instance;
    try {
      instance = await WebAssembly.instantiate(this.module, host.imports());
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw this.translate(e, "instantiate");
      throw new InvalidModule(`${this.name} cannot be instantiated: ${e.message || e}`);
    }
    this.exports = instance.exports;
    this.memory = instance.exports.memory;
  }

  readIo(ptr) {
    const size = this.memory.buffer.byteLength;
    if (!(ptr > 0 && ptr <= size - IO.size)) {
      throw new InvalidModule(`${this.name}: lw_init returned ${ptr}, not an lw_io address`);
    }
    const v = new DataView(this.memory.buffer, ptr, IO.size);
    const get = (f) => v.getUint32(IO_AT[f], true);
    if (get("magic") !== IO_MAGIC || get("abi_version") !== ABI_VERSION) {
      throw new InvalidModule(`${this.name} speaks ABI ${get("abi_version")} (magic 0x${get("magic").toString(16)}); `
        + `this host speaks ABI ${ABI_VERSION}: rebuild the game`);
    }
    if (get("input_size") !== STRUCTS.lw_input.size) {
      throw new InvalidModule(`${this.name}: input block is ${get("input_size")} bytes, expected ${STRUCTS.lw_input.size}`);
    }
    this.ioPtr = ptr;
    this.inputPtr = get("input_ptr");
    this.cmdPtr = get("cmd_ptr");
    this.cmdCapacity = get("cmd_capacity");
    this.stateBegin = get("state_begin");
  }

  call(name, ...args) {
    if (this.failure) {
      throw new GameError(`${this.name} already failed at tick ${this.failure.tick} (${this.failure.message}); `
        + "reload the page to start it again", { game: this.name, tick: this.tickCount });
    }
    let result;
    try {
      result = this.exports[name](...args);
    } catch (e) {
      if (e instanceof GameExited) {
        e.tick = this.tickCount;
        this.failure = e;
      } else if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        this.failure = this.translate(e, name);
      }
      throw this.failure || e;
    }
    if (this.memory && this.memory.buffer.byteLength > this.memoryCap) {
      this.failure = new GameOutOfMemory(`${this.name} at tick ${this.tickCount} in ${name}: grew its memory to `
        + `${this.memory.buffer.byteLength / MB} MiB, past its cap of ${this.memoryCap / MB} MiB ([limits] memory_mb)`,
      { game: this.name, tick: this.tickCount });
      throw this.failure;
    }
    return result === undefined ? 0 : result;
  }

  translate(error, call) {
    return crashOf(error, this.name, this.tickCount, call);
  }

  // --- the frame path -------------------------------------------------------------------------

  /** True while the next tick waits for a streamed asset's fetch (see AssetTable.blocked). */
  blocked() {
    return this.assets.blocked(this.tickCount);
  }

  /** Advance one fixed tick with `inputs` (an InputState), the host's asset events due now, then
   *  `events` ([kind, player, a, b], e.g. players joining, stamped by a room). */
  tick(inputs, events = []) {
    const data = inputs.pack(this.tickCount, [...this.assets.due(this.tickCount), ...events]);
    this.lastInput = data;
    new Uint8Array(this.memory.buffer, this.inputPtr, data.length).set(data);
    this.call("lw_tick");
    this.tickCount += 1;
  }

  /** This frame's command list: a view of guest memory, valid until the next call. */
  render() {
    const n = this.call("lw_render") >>> 0;
    if (n > this.cmdCapacity - COMMAND_SCRATCH) {
      this.failure = new GameCrashed(`${this.name}: lw_render returned ${n} bytes, buffer holds ${this.cmdCapacity}`,
        { game: this.name, tick: this.tickCount, trapCode: "bad_render_length" });
      throw this.failure;
    }
    const buffer = this.memory.buffer;
    const dropped = new DataView(buffer).getUint32(this.cmdPtr + this.cmdCapacity - 4, true);
    if (dropped && !this.droppedReported) {
      this.log("warn", `[${this.name}] command buffer full: ${dropped} records dropped this frame`);
      this.droppedReported = true;
    }
    return new Uint8Array(buffer, this.cmdPtr, n);
  }

  /** Images that became ready since the last call, as [handle, ImageBitmap]. */
  takeNewTextures() {
    return this.assets.takeNewTextures();
  }

  // --- snapshots (the same state as layerw/runtime/game.py snapshot/restore) -----------------

  /** The game state now: memory above the stack minus the command buffer, plus host state. */
  snapshot() {
    const mem = new Uint8Array(this.memory.buffer);
    const head = mem.subarray(this.stateBegin, this.cmdPtr);
    const tail = mem.subarray(this.cmdPtr + this.cmdCapacity);
    const memory = new Uint8Array(head.length + tail.length);
    memory.set(head);
    memory.set(tail, head.length);
    return new Snapshot({
      moduleSha256: this.moduleSha256, tick: this.tickCount, pages: mem.length / PAGE, stateBegin: this.stateBegin,
      memory, host: { rng: this.rng.state, assets: this.assets.state() }, holeAt: this.cmdPtr, holeSize: this.cmdCapacity,
    });
  }

  /** Continue from `snap` in a fresh instance, like Game.restore: memory from state_begin (minus
   *  the command buffer), the random stream's state and the asset table (whose bytes load first). */
  async restore(snap) {
    if ((this.moduleSha256 && snap.moduleSha256 !== this.moduleSha256) || snap.stateBegin !== this.stateBegin
        || snap.holeAt !== this.cmdPtr || snap.holeSize !== this.cmdCapacity) {
      throw new ProtocolError(`the snapshot is of another module than ${this.name}'s (${String(snap.moduleSha256).slice(0, 12)}): reload the page`);
    }
    if (snap.pages * PAGE > this.memoryCap) {
      throw new ProtocolError(`the snapshot holds ${snap.pages * PAGE} bytes, above ${this.name}'s memory cap`);
    }
    await this.assets.restore(snap.host.assets);
    await this.instantiate(new SplitMix64(snap.host.rng));
    const grow = snap.pages - this.memory.buffer.byteLength / PAGE;
    if (grow < 0) throw new ProtocolError(`the snapshot has ${snap.pages} pages, fewer than the module's initial memory`);
    if (grow) this.memory.grow(grow);
    const mem = new Uint8Array(this.memory.buffer);
    const split = this.cmdPtr - this.stateBegin;
    mem.set(snap.memory.subarray(0, split), this.stateBegin);
    mem.set(snap.memory.subarray(split), this.cmdPtr + this.cmdCapacity);
    mem.fill(0, this.cmdPtr, this.cmdPtr + this.cmdCapacity);
    this.tickCount = snap.tick;
    this.failure = null;
  }

  /** SHA-256 (hex) of the game state: memory above the stack, minus the command buffer. */
  async stateHash() {
    if (!(globalThis.crypto && crypto.subtle)) {
      throw new GameError(`${this.name}: stateHash needs WebCrypto, which browsers offer only in secure contexts `
        + "(https or localhost)", { game: this.name, tick: this.tickCount });
    }
    const mem = new Uint8Array(this.memory.buffer);
    const head = mem.subarray(this.stateBegin, this.cmdPtr);
    const tail = mem.subarray(this.cmdPtr + this.cmdCapacity);
    const state = new Uint8Array(head.length + tail.length);
    state.set(head);
    state.set(tail, head.length);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", state));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
}
