// Replay: the page's side of replaying a game worker's timed-out call, to name where the time went.
//
// The page terminates a game worker past its deadline, and with it the stack (V8 cannot interrupt a
// wasm loop from another thread). The game is deterministic, so the page keeps the worker's last
// snapshot and each tick's packed input since (ReplayLog, fed by the worker's "enter" messages) and
// replays them in a fresh Worker (replay-worker.js) on the build's replay twin: the module with a poll
// at every loop head (layerw/toolchain/replaytwin.py) that throws past the replay's deadline. The
// twin's frames map back to the module's offsets (ReplayMap), which the build's symbols name, as for
// a trap. The twin comes with a development build (`layerw build --replay-twin` writes game.replay.wasm and
// game.replay.json) and with every core or WASM-4 cart version `layerw publish` stored (the manifest's `replay`,
// read as chunks by store-source.js); a version published before that has one only where the server makes it.
// A cart's call is its update (TICK_CALLS), replayed on a cart backend; its frames, which no symbols name, take
// the names of the cart's own name section (worker-client.js), as natively. A component build (and every
// component version publish stored) has a twin too, of its transpiled core module that holds the game's code
// (the map's `core` names it; a build's game.component.symbols.json names its frames): the replay worker runs
// the component's glue with the twin in that module's place.
//
//   loadReplayTwin(wasmUrl, mapUrl) -> Promise<{twin: Uint8Array, map: ReplayMap} | null>
//   new ReplayLog().entered(tick, input) / .rebase(snapshot) / .upTo(tick)
//   TICK_CALLS: the calls that run a tick (a core module's lw_tick, a cart's update, a component's tick), whose input the page logs
//   replayCall({source, twin, map, log, call, tick, seed, room, glue, coreModule}) -> Promise<{stopped: frames, deadlineMs, fromTick} |
//     {finishedMs, fromTick} | {why}>
//     frames as symbols.js wasmFrames gives them ({index, offset}, innermost first), in the module's offsets

import { errorRecord } from "./error-record.js";

const FORMAT = "layerw-replay-map";
const MAP_VERSION = 1;
export const REPLAY_FACTOR = 4; // the replayed call's deadline, in the game's deadlines (as natively: layerw/runtime/replay.py)
export const REPLAY_MIN_MS = 500; // and at least this: a wall-clock bound that a busy machine's waits must not reach
const REPLAY_BUDGET_MS = 20000; // the whole replay, start-up included
const MAX_LOGGED = 4096; // ticks kept since the last snapshot (the worker posts one a second while a twin exists)
/** The guest calls that are a tick, by backend: a core module's lw_tick, a WASM-4 cart's update (cart-game.js), a
 *  component's world function tick (component-game.js); the page logs their input. */
export const TICK_CALLS = new Set(["lw_tick", "update", "tick"]);
const RENDER_CALLS = new Set(["lw_render", "render"]);

/** Where a twin's code offsets lie in the module's (runs: [twin offset, module offset], sorted). */
export class ReplayMap {
  /** @param {any} doc the parsed game.replay.json */
  constructor(doc) {
    if (!doc || doc.format !== FORMAT || doc.version !== MAP_VERSION) throw new Error(`not a ${FORMAT} of version ${MAP_VERSION}`);
    this.runs = doc.runs;
    /** @type {string | null} a component build's: the transpiled core module the twin is of */
    this.core = typeof doc.core === "string" ? doc.core : null;
    this.starts = this.runs.map((/** @type {number[]} */ r) => r[0]);
  }

  /** @param {number} offset a code offset in the twin */
  moduleOffset(offset) {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return offset;
    const [twinAt, moduleAt] = this.runs[lo - 1];
    return moduleAt + (offset - twinAt);
  }

  /**
   * The twin's wasm frames as the module's: its poll import shifts every function index by one.
   * @param {{index: number, offset: number}[]} frames
   */
  moduleFrames(frames) {
    return frames.map(({ index, offset }) => ({ index: index - 1, offset: this.moduleOffset(offset) }));
  }
}

/**
 * The build's replay twin and its map, or null where the source serves none.
 * @param {string | URL} wasmUrl
 * @param {string | URL} mapUrl
 * @returns {Promise<{twin: Uint8Array, map: ReplayMap} | null>}
 */
export async function loadReplayTwin(wasmUrl, mapUrl) {
  try {
    const map = await fetch(mapUrl); // first: where there is none (most sources), one request says so
    if (!map.ok) return null;
    const doc = await map.json();
    const wasm = await fetch(wasmUrl);
    return wasm.ok ? { twin: new Uint8Array(await wasm.arrayBuffer()), map: new ReplayMap(doc) } : null;
  } catch {
    return null; // a timeout that names no frames is still reported
  }
}

/** The game worker's last snapshot and each tick's packed input since, to replay the ticks after it. */
export class ReplayLog {
  /** @param {{needsBase?: boolean}} [options] needsBase: never from the seed (a room's worker starts from the room's state) */
  constructor({ needsBase = false } = {}) {
    this.needsBase = needsBase;
    /** @type {any} the snapshot the entries follow; null: the game's start (its seed) */
    this.snapshot = null;
    /** @type {{tick: number, input: Uint8Array}[]} */
    this.entries = [];
    this.overflowed = false; // more ticks than MAX_LOGGED since the snapshot: they cannot be replayed
  }

  /**
   * The worker entered lw_tick at `tick` with this packed lw_input and events.
   * @param {number} tick
   * @param {Uint8Array} input
   */
  entered(tick, input) {
    while (this.entries.length && this.entries[this.entries.length - 1].tick >= tick) this.entries.pop(); // a restore went back
    if (this.entries.length >= MAX_LOGGED) {
      this.overflowed = true;
      return;
    }
    this.entries.push({ tick, input });
  }

  /** @param {any} snapshot a snapshot the worker posted: the ticks before it are not needed */
  rebase(snapshot) {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((e) => e.tick >= snapshot.tick);
    this.overflowed = false;
  }

  /** A fresh worker starts from `snapshot` (or its seed, null). @param {any} snapshot */
  restart(snapshot) {
    this.snapshot = snapshot;
    this.entries = [];
    this.overflowed = false;
  }

  /**
   * The entries from the snapshot through tick `last`, or why they cannot be replayed.
   * @param {number} last
   * @returns {{entries: {tick: number, input: Uint8Array}[]} | {why: string}}
   */
  upTo(last) {
    const first = this.snapshot ? this.snapshot.tick : 0;
    if (!this.snapshot && this.needsBase) return { why: "no confirmed state of the room had reached the page" };
    if (this.overflowed) return { why: `more than ${MAX_LOGGED} ticks passed since the last snapshot` };
    const entries = this.entries.filter((e) => e.tick <= last);
    if (entries.length !== last + 1 - first || entries.some((e, i) => e.tick !== first + i)) {
      return { why: `the page heard ${entries.length} of the ${last + 1 - first} ticks since tick ${first}` };
    }
    return { entries };
  }
}

/**
 * Replay the call `call` at `tick` in a fresh Worker on the twin; what it found. A component build's (map.core) also
 * takes its transpiled glue (the source text's bytes) and `coreModule(name)`, its other core modules, compiled. `room`:
 * in a room, the seat whose view the page's copy showed (null: a spectator's, player 0's), which a cart's update
 * reads (NETPLAY), so a view's own hang replays too; null playing alone.
 * @param {{source: any, twin: Uint8Array, map: ReplayMap, log: ReplayLog, call: string, tick: number, seed: number,
 *   room?: {seat: number | null} | null, glue?: Uint8Array | null, coreModule?: (name: string) => Promise<WebAssembly.Module>}} options
 * @returns {Promise<{stopped: {index: number, offset: number}[], deadlineMs: number, fromTick: number}
 *   | {finishedMs: number, fromTick: number} | {why: string}>}
 */
export function replayCall({ source, twin, map, log, call, tick, seed, room = null, glue = null, coreModule }) {
  const { config } = source;
  const deadlineMs = Math.max(REPLAY_MIN_MS, REPLAY_FACTOR * (config.tick_ms || 100));
  const ticked = TICK_CALLS.has(call);
  const upTo = log.upTo(ticked ? tick : tick - 1);
  if ("why" in upTo) return Promise.resolve({ why: upTo.why });
  if (!ticked && !RENDER_CALLS.has(call)) return Promise.resolve({ why: `${call} is not replayed` });
  if (map.core && !(glue && coreModule)) return Promise.resolve({ why: "the component's glue was not at hand" });
  const fromTick = log.snapshot ? log.snapshot.tick : 0;
  const worker = new Worker(new URL("./replay-worker.js", import.meta.url), { type: "module", name: `${config.name} replay` });
  return new Promise((resolve) => {
    const done = (/** @type {any} */ outcome) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ why: `the replay took more than ${REPLAY_BUDGET_MS / 1000} s` }), REPLAY_BUDGET_MS);
    worker.onerror = (event) => done({ why: `the replay worker failed: ${event.message}` });
    worker.onmessage = ({ data: m }) => {
      if (m.type === "read") {
        const read = m.core ? /** @type {(name: string) => Promise<any>} */ (coreModule)(m.name) : source.readAsset(m.name);
        read.then((/** @type {ArrayBuffer | WebAssembly.Module} */ bytes) => worker.postMessage({ type: "asset", id: m.id, bytes }),
          (/** @type {Error} */ e) => worker.postMessage({ type: "asset", id: m.id, error: errorRecord(e) }));
      } else if (m.type === "stopped") {
        done({ stopped: map.moduleFrames(m.frames), deadlineMs, fromTick });
      } else if (m.type === "finished") {
        done({ finishedMs: m.ms, fromTick });
      } else if (m.type === "unreplayed") {
        done({ why: m.why });
      }
    };
    worker.postMessage({
      type: "replay", config, twin, seed, snapshot: log.snapshot, inputs: upTo.entries.map((e) => e.input),
      call: ticked ? "lw_tick" : "lw_render", deadlineMs, room,
      core: map.core, glue: map.core ? glue : null,
    });
  });
}
