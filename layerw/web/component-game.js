// ComponentGame: a game *component* in the browser (mirrors layerw/runtime/component_game.py).
//
// Browsers run core modules only, so a component build reaches them transpiled by jco (`layerw
// build --component` runs `jco transpile`): an ES module of canonical-ABI glue whose
// `instantiate(getCoreModule, imports, instantiateCore)` links the component's core modules with
// the world's `host` imports (host.js, lifted). The source (source.js) hands over that glue and
// the core modules, fetched and verified by its loader.
//
// Same interface as Game (game.js). Per frame the host still makes two calls: `tick` (the input
// record's bytes as list<u8>) and `render` (the command list back as list<u8>: one copy out of
// guest memory, where the core path views it in place). The state hash comes from the world's
// `state.hash` (the guest hashes exactly the bytes the core host hashes, so a component build's
// hash equals its core build's); snapshots read and write memory through `state`, in the same
// format as the core path's, so rooms and replicas mix both.

import { ABI_VERSION, IO_MAGIC, STRUCTS, WIT_PACKAGE, WIT_STATE } from "./abi.js";
import { AssetTable } from "./assets.js";
import { GameError, GameOutOfMemory, InvalidModule, ProtocolError } from "./errors.js";
import { compileModule, consoleLog, crashOf } from "./game.js";
import { Host, SplitMix64 } from "./host.js";
import { PAGE, Snapshot } from "./snapshot.js";

const MB = 1024 * 1024;
const CHUNK = 1 << 20; // bytes per state read/write call (each lands in the guest's command buffer)
const STATE = `${WIT_PACKAGE.split("@")[0]}/${WIT_STATE}@${WIT_PACKAGE.split("@")[1]}`;

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class ComponentGame {
  /**
   * Start a component game from a source whose `component` is {glue: Promise<the transpiled ES
   * module>, coreModule(name) -> Promise<Response | bytes | WebAssembly.Module>} (see source.js).
   */
  static async create(source, { seed = 0, log = consoleLog, onAsset } = {}) {
    const { config } = source;
    if (!source.component) {
      throw new InvalidModule(`${config.name} is a component build without its browser form (jco transpile output); `
        + "rebuild it with `layerw build --component` and publish it again");
    }
    const assets = new AssetTable(config.assets || [], config.preload || [], (n) => source.readAsset(n));
    let glue;
    try {
      [glue] = await Promise.all([source.component.glue, assets.preloadAll(onAsset)]);
    } catch (e) {
      if (!(e && e.name === "SyntaxError")) throw e;
      throw new InvalidModule(`${config.name}: the transpiled component is not a valid ES module: ${e.message}`);
    }
    if (typeof glue.instantiate !== "function") {
      throw new InvalidModule(`${config.name}: the transpiled component exports no instantiate(): transpile it with `
        + "`jco transpile --instantiation async` (layerw build --component does)");
    }
    const game = new ComponentGame(config, glue, source.component, assets, BigInt.asUintN(64, BigInt(seed)), log);
    await game.start();
    return game;
  }

  constructor(config, glue, transpiled, assets, seed, log) {
    this.config = config;
    this.name = config.name;
    this.tickRate = config.tick_rate;
    this.memoryCap = (config.memory_mb || 64) * MB;
    this.glue = glue;
    this.transpiled = transpiled;
    this.coreModules = new Map(); // name -> Promise<WebAssembly.Module>, compiled once for every instance
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
    this.readIo(this.call("init", () => this.exports.init(this.seed)));
  }

  coreModule(name) {
    if (!this.coreModules.has(name)) {
      this.coreModules.set(name, compileModule(this.transpiled.coreModule(name), `${this.name}'s ${name}`));
    }
    return this.coreModules.get(name);
  }

  /** A fresh instance (start, and restore); `rng` is kept for snapshots' host state only: a
   *  component game's world has no WASI, so nothing draws from it. */
  async instantiate(rng) {
    this.rng = rng;
    const host = new Host({
      game: this.name, assets: this.assets, rng, tick: () => this.tickCount, clockNs: () => 0n, memory: () => null, log: this.log,
    });
    this.memory = null;
    const instantiateCore = async (module, imports) => {
      const instance = await WebAssembly.instantiate(module, imports);
      // the game's linear memory, watched for its cap as Game watches it (natively: store limits)
      if (instance.exports.memory instanceof WebAssembly.Memory) this.memory = instance.exports.memory;
      return instance;
    };
    let exports;
    try {
      exports = await this.glue.instantiate((name) => this.coreModule(name), host.componentImports(), instantiateCore);
    } catch (e) {
      if (e instanceof InvalidModule) throw e;
      if (e instanceof WebAssembly.RuntimeError) throw crashOf(e, this.name, this.tickCount, "instantiate");
      throw new InvalidModule(`${this.name} cannot be instantiated: ${e.message || e}`
        + (this.config.plugins && this.config.plugins.length ? " (browsers do not link plugins yet)" : ""));
    }
    const state = exports[STATE] || exports.state;
    const missing = ["init", "tick", "render"].filter((f) => typeof exports[f] !== "function");
    if (!state) missing.push(STATE);
    if (missing.length) throw new InvalidModule(`${this.name} is not a layerw:game component: it does not export ${missing.join(", ")}`);
    this.exports = exports;
    this.state = state;
  }

  readIo(io) {
    if (io.magic !== IO_MAGIC || io.abiVersion !== ABI_VERSION) {
      throw new InvalidModule(`${this.name} speaks ABI ${io.abiVersion} (magic 0x${(io.magic >>> 0).toString(16)}); `
        + `this host speaks ABI ${ABI_VERSION}: rebuild the game`);
    }
    if (io.inputSize !== STRUCTS.lw_input.size) {
      throw new InvalidModule(`${this.name}: input block is ${io.inputSize} bytes, expected ${STRUCTS.lw_input.size}`);
    }
    this.cmdPtr = io.cmdPtr;
    this.cmdCapacity = io.cmdCapacity;
    this.stateBegin = io.stateBegin;
  }

  /** Run `fn` (one call into the component, named `name` in errors) with Game.call's checks. */
  call(name, fn) {
    if (this.failure) {
      throw new GameError(`${this.name} already failed at tick ${this.failure.tick} (${this.failure.message}); `
        + "reload the page to start it again", { game: this.name, tick: this.tickCount });
    }
    let result;
    try {
      result = fn();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) this.failure = crashOf(e, this.name, this.tickCount, name);
      throw this.failure || e;
    }
    if (this.memory && this.memory.buffer.byteLength > this.memoryCap) {
      this.failure = new GameOutOfMemory(`${this.name} at tick ${this.tickCount} in ${name}: grew its memory to `
        + `${this.memory.buffer.byteLength / MB} MiB, past its cap of ${this.memoryCap / MB} MiB ([limits] memory_mb)`,
      { game: this.name, tick: this.tickCount });
      throw this.failure;
    }
    return result;
  }

  // --- the frame path -------------------------------------------------------------------------

  blocked() {
    return this.assets.blocked(this.tickCount);
  }

  tick(inputs, events = []) {
    const data = inputs.pack(this.tickCount, [...this.assets.due(this.tickCount), ...events]);
    this.lastInput = data;
    this.call("tick", () => this.exports.tick(data));
    this.tickCount += 1;
  }

  /** This frame's command list (a copy out of the component's memory). */
  render() {
    const frame = this.call("render", () => this.exports.render());
    if (frame.dropped && !this.droppedReported) {
      this.log("warn", `[${this.name}] command buffer full: ${frame.dropped} records dropped this frame`);
      this.droppedReported = true;
    }
    return frame.commands;
  }

  takeNewTextures() {
    return this.assets.takeNewTextures();
  }

  /** SHA-256 (hex) of the game state, computed in the guest (`state.hash`). */
  async stateHash() {
    return hex(this.call("hash", () => this.state.hash()));
  }

  // --- snapshots (the same state as Game's, read and written through `state`) ---------------

  read(begin, end, into, at) {
    for (let from = begin; from < end; from += CHUNK) {
      const part = this.call("read", () => this.state.read(from, Math.min(CHUNK, end - from)));
      into.set(part, at + from - begin);
    }
  }

  snapshot() {
    const pages = this.call("pages", () => this.state.pages());
    const cmdEnd = this.cmdPtr + this.cmdCapacity;
    const head = this.cmdPtr - this.stateBegin;
    const memory = new Uint8Array(head + pages * PAGE - cmdEnd);
    this.read(this.stateBegin, this.cmdPtr, memory, 0);
    this.read(cmdEnd, pages * PAGE, memory, head);
    return new Snapshot({
      moduleSha256: this.moduleSha256, tick: this.tickCount, pages, stateBegin: this.stateBegin, memory,
      host: { rng: this.rng.state, assets: this.assets.state() }, holeAt: this.cmdPtr, holeSize: this.cmdCapacity,
    });
  }

  /** Continue from `snap` in a fresh instance (also after a crash), like ComponentGame.restore. */
  async restore(snap) {
    if ((this.moduleSha256 && snap.moduleSha256 !== this.moduleSha256) || snap.stateBegin !== this.stateBegin
        || snap.holeAt !== this.cmdPtr || snap.holeSize !== this.cmdCapacity) {
      throw new ProtocolError(`the snapshot is of another module than ${this.name}'s (${String(snap.moduleSha256).slice(0, 12)}): reload the page`);
    }
    if (snap.pages * PAGE > this.memoryCap) {
      throw new ProtocolError(`the snapshot holds ${snap.pages * PAGE} bytes, above ${this.name}'s memory cap`);
    }
    await this.assets.restore(snap.host.assets);
    this.failure = null;
    await this.instantiate(new SplitMix64(snap.host.rng));
    const grow = snap.pages - this.call("pages", () => this.state.pages());
    if (grow < 0) throw new ProtocolError(`the snapshot has ${snap.pages} pages, fewer than the module's initial memory`);
    if (grow && this.call("grow", () => this.state.grow(grow)) < 0) {
      throw new ProtocolError(`${this.name} cannot grow to the snapshot's ${snap.pages} pages`);
    }
    const split = this.cmdPtr - this.stateBegin;
    const write = (lo, hi, base) => {
      for (let at = lo; at < hi; at += CHUNK) {
        const part = snap.memory.subarray(at, Math.min(at + CHUNK, hi));
        this.call("write", () => this.state.write(base + at - lo, part));
      }
    };
    write(0, split, this.stateBegin);
    write(split, snap.memory.length, this.cmdPtr + this.cmdCapacity);
    this.tickCount = snap.tick;
  }
}
