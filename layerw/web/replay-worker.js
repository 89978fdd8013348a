// The replay worker: runs a game worker's timed-out call again on the build's replay twin (replay.js
// has the why), from the snapshot the page kept and each tick's packed input since, and tells the page
// where the call was when the replay's deadline passed, or that it finished. A core module's twin runs as a
// Game (ReplayGame), a WASM-4 cart's as a CartGame (ReplayCart), told apart by the twin's imports as the game
// worker tells the module's (main.js openGame, cart.js isCart: a cart's twin imports from `env` and the poll).
// A component build (config.component) runs as the game worker runs it (ComponentGame: its transpiled glue
// instantiates its core modules), with the twin in place of the core module it is of (`core`) and the poll
// added to that module's imports.
//
// Page -> worker: {type: "replay", config, twin (bytes), seed, snapshot (or null: from the seed), inputs
//   (each tick's packed lw_input and events, from the snapshot's tick on), call (a tick call, replay.js TICK_CALLS:
//   lw_tick, a cart's update, a component's tick: the last input's tick is the call; a render call, lw_render or a
//   component's render: a render after the inputs), deadlineMs, core (a component build's: the transpiled core
//   module the twin is of, else null), glue (a component build's transpiled glue, its source text's bytes, else
//   null), room (in a room {seat}: the player the page's copy showed, null for a spectator, which a cart reads as
//   NETPLAY; else null)};
//   {type: "asset", id, bytes | error} (with a read's core: a WebAssembly.Module).
// Worker -> page: {type: "read", id, name, core} (an asset, or with core a component's other core module);
//   {type: "stopped", frames} (the twin's wasm frames, innermost first, at the twin's code offsets: a cart's as the
//   twin's bytes hold them, before exportGlobals moved its code); {type: "finished", ms}; {type: "unreplayed", why}.

import { CartGame } from "./cart-game.js";
import { codeAt, exportGlobals, isCart } from "./cart.js";
import { ComponentGame } from "./component-game.js";
import { reviveError } from "./error-record.js";
import { compileModule, Game } from "./game.js";
import { TICK_CALLS } from "./replay.js";
import { importBytes } from "./source.js";
import { wasmFrames } from "./symbols.js";

/** @type {any} */ (Error).stackTraceLimit = 64; // V8's (10 by default): the frames of a deep call, as natively

/** Thrown by the twin's poll past the deadline: its stack holds the guest's frames. */
class ReplayDeadline extends Error {}

/** The replay's clock: each call into the guest (the host's watch) gets the deadline; the poll checks it. */
class ReplayClock {
  /** @param {number} deadlineMs */
  constructor(deadlineMs) {
    this.deadlineMs = deadlineMs;
    this.until = Infinity;
  }

  enter() { this.until = performance.now() + this.deadlineMs; }
  leave() { this.until = Infinity; }
  begin() { this.enter(); }
  end() { this.leave(); }

  poll() {
    if (performance.now() > this.until) throw new ReplayDeadline(`past the replay's deadline of ${this.deadlineMs} ms`);
  }
}

/** A Game on the replay twin: its module has one import more (the poll), so it skips the contract's import check. */
class ReplayGame extends Game {
  /** @param {any} source */
  static async load(source) {
    return compileModule(source.module, source.config.name);
  }

  /** @param {any} host */
  async instantiateGuest(host) {
    const clock = /** @type {ReplayClock} */ (this.watch);
    const imports = { ...host.imports(), layerw_replay: { poll: () => clock.poll() } };
    const instance = await this.instantiateModule(this.module, imports);
    this.exports = /** @type {any} */ (instance.exports);
    this.memory = /** @type {any} */ (this.exports).memory;
  }
}

/** A ComponentGame whose glue got the twin for one core module: that module imports the poll too. */
class ReplayComponentGame extends ComponentGame {
  /**
   * @param {WebAssembly.Module | Promise<WebAssembly.Module>} module
   * @param {WebAssembly.Imports} imports
   */
  async instantiateModule(module, imports) {
    const compiled = await module;
    if (!WebAssembly.Module.imports(compiled).some((i) => i.module === "layerw_replay")) return super.instantiateModule(compiled, imports);
    const clock = /** @type {ReplayClock} */ (this.watch);
    return super.instantiateModule(compiled, { ...imports, layerw_replay: { poll: () => clock.poll() } });
  }
}

/** A CartGame on a cart's replay twin: the poll is imported beside WASM-4's `env` (so it skips the cart check), and
 *  exportGlobals (its snapshots' globals) moves the twin's code, so its frames move back by as much. */
class ReplayCart extends CartGame {
  /** @param {any} source */
  static async load(source) {
    const rewritten = exportGlobals(source.module);
    const module = await compileModule(rewritten.wasm, source.config.name);
    return { module, rewritten, moved: codeAt(rewritten.wasm) - codeAt(source.module) };
  }

  /**
   * @param {any} config @param {any} assets @param {bigint} seed @param {any} log
   * @param {{module: WebAssembly.Module, rewritten: ReturnType<typeof exportGlobals>, moved: number}} code
   */
  constructor(config, assets, seed, log, code) {
    super(config, assets, seed, log, code);
    this.moved = code.moved;
  }

  /** @param {WebAssembly.Module | Promise<WebAssembly.Module>} module @param {WebAssembly.Imports} imports */
  instantiateModule(module, imports) {
    const clock = /** @type {ReplayClock} */ (this.watch);
    return super.instantiateModule(module, { ...imports, layerw_replay: { poll: () => clock.poll() } });
  }

  /** @param {{index: number, offset: number}[]} frames V8's, at the rewritten twin's offsets */
  twinFrames(frames) {
    return frames.map(({ index, offset }) => ({ index, offset: offset - this.moved }));
  }
}

const reads = new Map();
let nextRead = 1;

/**
 * An asset's bytes, or with `core` a component's core module (compiled), read by the page's source.
 * @param {string} name
 * @param {boolean} [core]
 * @returns {Promise<any>}
 */
function readAsset(name, core = false) {
  const id = nextRead++;
  return new Promise((resolve, reject) => {
    reads.set(id, { resolve, reject });
    postMessage({ type: "read", id, name, core });
  });
}

/**
 * The game the replay runs: a core game or a cart on the twin, or a component whose glue gets the twin for `m.core`.
 * @param {any} m the replay message
 * @param {ReplayClock} clock
 */
function replayGame(m, clock) {
  const options = { seed: m.seed, log: () => {}, watch: clock };
  const source = { config: m.config, module: m.twin, readAsset };
  if (!m.core) return isCart(m.twin) ? ReplayCart.create(source, options) : ReplayGame.create(source, options);
  const coreModule = (/** @type {string} */ name) => (name === m.core ? m.twin : readAsset(name, true));
  return ReplayComponentGame.create({ config: m.config, module: null, readAsset,
    component: { glue: importBytes(m.glue), coreModule } }, options);
}

/** @param {any} m the replay message */
async function replay(m) {
  const clock = new ReplayClock(m.deadlineMs);
  const game = await replayGame(m, clock);
  if (m.room) game.playAs(m.room.seat); // the player the page's copy showed: a cart's update reads it (NETPLAY)
  if (m.snapshot) await game.restore(m.snapshot, { allowOtherBuild: true }); // the twin's hash is not the module's
  const calls = m.inputs.map((/** @type {Uint8Array} */ input) => () => game.tick({ pack: () => input }));
  if (!TICK_CALLS.has(m.call)) calls.push(() => game.render()); // replayCall sends only tick and render calls
  for (let i = 0; i < calls.length; i++) {
    const last = i === calls.length - 1;
    const t0 = performance.now();
    try {
      calls[i]();
    } catch (e) {
      if (!(e instanceof ReplayDeadline)) throw e;
      if (!last) return { type: "unreplayed", why: `an earlier tick (${game.tickCount}) ran past ${m.deadlineMs} ms when replayed` };
      const frames = wasmFrames(e.stack);
      return { type: "stopped", frames: game instanceof ReplayCart ? game.twinFrames(frames) : frames };
    }
    if (last) return { type: "finished", ms: performance.now() - t0 };
  }
  return { type: "unreplayed", why: "there was no call to replay" };
}

onmessage = (/** @type {MessageEvent} */ event) => {
  const m = event.data;
  if (m.type === "replay") {
    replay(m).then((answer) => postMessage(answer),
      (e) => postMessage({ type: "unreplayed", why: `the replay failed: ${e && e.message ? e.message : e}` }));
  } else if (m.type === "asset") {
    const read = reads.get(m.id);
    reads.delete(m.id);
    if (read) (m.error ? read.reject(reviveError(m.error)) : read.resolve(m.bytes));
  }
};
