// ComponentGame: the GameHost backend for a game *component* (mirrors
// layerw/runtime/component_game.py).
//
// Browsers run core modules only, so a component build reaches them transpiled by jco (`layerw
// build --component` runs `jco transpile`): an ES module of canonical-ABI glue whose
// `instantiate(getCoreModule, imports, instantiateCore)` links the component's core modules with
// the world's `host` imports (host.js, lifted). The source (source.js) hands over that glue and
// the core modules, fetched and verified by its loader.
//
// Only what is component-specific lives here; everything else is GameHost's (game-host.js). Per
// frame the host still makes two calls: `tick` (the input record's bytes as list<u8>) and `render`
// (the command list back as list<u8>: one copy out of guest memory, where the core path views it in
// place). The state hash comes from the world's `state.hash` (the guest hashes exactly the bytes
// the core host hashes, so a component build's hash equals its core build's); snapshots read and
// write memory through `state`, in the same format as the core path's, so rooms and replicas mix
// both.

import { WIT_PACKAGE, WIT_STATE } from "./abi.js";
import { InvalidModule } from "./errors.js";
import { compileModule } from "./game.js";
import { GameHost, hex } from "./game-host.js";

/** @typedef {import("./game-backend.js").GameBackend} GameBackend */
/** @typedef {import("./game-backend.js").GameConfig} GameConfig */
/** @typedef {import("./game-backend.js").GameSource} GameSource */
/** @typedef {import("./game-backend.js").ComponentSource} ComponentSource */
/** @typedef {import("./game-backend.js").IoBlock} IoBlock */
/** @typedef {import("./game-backend.js").Frame} Frame */
/** @typedef {import("./game-backend.js").TickSound} TickSound */
/** @typedef {import("./game-backend.js").LogFn} LogFn */
/** @typedef {import("./assets.js").AssetTable} AssetTable */
/** @typedef {import("./host.js").Host} Host */

/**
 * The world's `state` interface, as jco exports it.
 * @typedef {object} StateExports
 * @property {() => Uint8Array} hash
 * @property {() => number} pages
 * @property {(delta: number) => number} grow
 * @property {(offset: number, len: number) => Uint8Array} read
 * @property {(offset: number, data: Uint8Array) => void} write
 */

/**
 * The world's exports, as jco exports them.
 * @typedef {object} ComponentExports
 * @property {(seed: bigint) => IoBlock} init
 * @property {(input: Uint8Array) => Uint8Array} tick
 * @property {() => Frame} render
 */

/**
 * What `ComponentGame.load` hands the constructor: jco's glue module and where its core modules are.
 * @typedef {object} Transpiled
 * @property {{instantiate: Function}} glue
 * @property {ComponentSource} source
 */

const CHUNK = 1 << 20; // bytes per state read/write call (each lands in the guest's command buffer)
const STATE = `${WIT_PACKAGE.split("@")[0]}/${WIT_STATE}@${WIT_PACKAGE.split("@")[1]}`;

/** @implements {GameBackend} */
export class ComponentGame extends GameHost {
  /**
   * The source's transpiled component: its glue module, imported (its core modules compile on
   * instantiation).
   * @param {GameSource} source
   * @returns {Promise<Transpiled>}
   */
  static async load(source) {
    const { config, component } = source;
    if (!component) {
      throw new InvalidModule(`${config.name} is a component build without its browser form (jco transpile output); `
        + "rebuild it with `layerw build --component` and publish it again");
    }
    let glue;
    try {
      glue = await component.glue;
    } catch (e) {
      if (!(e && e.name === "SyntaxError")) throw e;
      throw new InvalidModule(`${config.name}: the transpiled component is not a valid ES module: ${e.message}`);
    }
    if (typeof glue.instantiate !== "function") {
      throw new InvalidModule(`${config.name}: the transpiled component exports no instantiate(): transpile it with `
        + "`jco transpile --instantiation async` (layerw build --component does)");
    }
    return { glue, source: component };
  }

  /**
   * @param {GameConfig} config
   * @param {AssetTable} assets
   * @param {bigint} seed
   * @param {LogFn} log
   * @param {Transpiled} transpiled
   */
  constructor(config, assets, seed, log, transpiled) {
    super(config, assets, seed, log);
    this.glue = transpiled.glue;
    this.transpiled = transpiled.source;
    /** @type {Map<string, Promise<WebAssembly.Module>>} compiled once for every instance */
    this.coreModules = new Map();
    /** @type {ComponentExports | null} */
    this.exports = null;
    /** @type {StateExports | null} */
    this.state = null;
    /** @type {Frame | null} the frame the last render returned */
    this.lastFrame = null;
  }

  /**
   * @param {string} name
   * @returns {Promise<WebAssembly.Module>}
   */
  coreModule(name) {
    let module = this.coreModules.get(name);
    if (!module) {
      module = compileModule(this.transpiled.coreModule(name), `${this.name}'s ${name}`);
      this.coreModules.set(name, module);
    }
    return module;
  }

  /** @returns {ComponentExports} */
  get guest() {
    return this.live(this.exports);
  }

  /** @returns {StateExports} */
  get guestState() {
    return this.live(this.state);
  }

  /** @param {Host} host */
  async instantiateGuest(host) {
    this.memory = null;
    /**
     * @param {WebAssembly.Module} module
     * @param {WebAssembly.Imports} imports
     */
    const instantiateCore = async (module, imports) => {
      const instance = await this.instantiateModule(module, imports);
      // the game's linear memory, watched for its cap as Game's is (natively: store limits)
      if (instance.exports.memory instanceof WebAssembly.Memory) this.memory = instance.exports.memory;
      return instance;
    };
    const exports = await this.glue.instantiate((/** @type {string} */ name) => this.coreModule(name),
      host.componentImports(), instantiateCore);
    const state = exports[STATE] || exports.state;
    const missing = ["init", "tick", "render"].filter((f) => typeof exports[f] !== "function");
    if (!state) missing.push(STATE);
    if (missing.length) throw new InvalidModule(`${this.name} is not a layerw:game component: it does not export ${missing.join(", ")}`);
    this.exports = exports;
    this.state = state;
  }

  /**
   * @param {bigint} seed
   * @returns {IoBlock}
   */
  initGuest(seed) {
    return this.call("init", () => this.guest.init(seed));
  }

  /**
   * `tick` returns the sound block it wrote (a copy out of the component's memory).
   * @param {Uint8Array} input
   * @returns {TickSound}
   */
  tickGuest(input) {
    return { block: this.call("tick", () => this.guest.tick(input)), dropped: 0 };
  }

  /** @returns {number} */
  renderGuest() {
    this.lastFrame = this.call("render", () => this.guest.render());
    return this.lastFrame.commands.length;
  }

  /**
   * The frame `render` returned (a copy out of the component's memory).
   * @param {number} _size
   * @returns {Frame}
   */
  frame(_size) {
    if (!this.lastFrame) throw new TypeError(`${this.name} has not rendered`);
    return this.lastFrame;
  }

  /** @returns {number} */
  pages() {
    return this.call("pages", () => this.guestState.pages());
  }

  /**
   * @param {number} delta
   * @returns {number}
   */
  grow(delta) {
    return this.call("grow", () => this.guestState.grow(delta));
  }

  /**
   * Memory through `state.read`, CHUNK bytes a call.
   * @param {number} begin
   * @param {number} end
   * @param {Uint8Array} into
   * @param {number} at
   */
  read(begin, end, into, at) {
    for (let from = begin; from < end; from += CHUNK) {
      const part = this.call("read", () => this.guestState.read(from, Math.min(CHUNK, end - from)));
      into.set(part, at + from - begin);
    }
  }

  /**
   * Memory through `state.write`, CHUNK bytes a call.
   * @param {number} at
   * @param {Uint8Array} data
   */
  write(at, data) {
    for (let from = 0; from < data.length; from += CHUNK) {
      const part = data.subarray(from, Math.min(from + CHUNK, data.length));
      this.call("write", () => this.guestState.write(at + from, part));
    }
  }

  /**
   * SHA-256 (hex) of the game state, computed in the guest (`state.hash`) over the bytes GameHost
   * hashes.
   * @returns {Promise<string>}
   */
  async stateHash() {
    return hex(this.call("hash", () => this.guestState.hash()));
  }

  release() {
    this.exports = null;
    this.state = null;
    this.lastFrame = null;
  }
}
