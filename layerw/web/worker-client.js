// WorkerClient: the page's side of a game run in a game worker (game-worker.js). The page keeps the
// canvas element (its OffscreenCanvas is the worker's), the devices (input is polled here on each
// animation frame and posted when it changes), the source (the worker reads assets through it) and a
// Watchdog (watchdog.js) over each call into the guest. A call past its deadline terminates the
// worker: the game fails with GameTimedOut, the same typed error as natively, or, where the page
// allows (?restore=1), a fresh worker on a fresh canvas goes on: playing alone from the last snapshot
// the worker posted (one a second), in a room by rejoining its seat (the room's state is the snapshot; the
// replay, below, comes first).
// A timed-out call is replayed first where the source serves the build's replay twin (a build directory, a
// published version, replay.js): in a fresh Worker from the last snapshot and each tick's input since (the
// worker then posts a snapshot a second; in a room a confirmed state a second, session.js onBase), so the
// GameTimedOut names the guest frames where the time went (replayFrames, which the page names from the
// build's symbols; a WASM-4 cart's, which has none, from its own name section, as natively), or says the call
// finished when replayed (the machine, not the game).
// Hot reload (`layerw dev --serve`, dev-reload.js) asks the running worker for its snapshot now
// (snapshotNow) and starts the new build in a fresh worker that adopts it (start's adopt).
//
// What runs in the worker: the guest's wasm (a core module, a cart, or a component build's transpiled
// glue with its core modules), the whole host (GameHost, its assets and sound mix), the Loop, the saves
// (IndexedDB, and online) and the renderer (WebGL2 or WebGPU on the OffscreenCanvas). What stays on the
// page: devices, the speaker (the worker posts its mix), the source's fetches (and compiling a
// component's core modules, once for every worker), the messages.

import { moduleBytes } from "./cart-game.js";
import { functionNames, isCart } from "./cart.js";
import { Devices } from "./devices.js";
import { errorRecord, reviveError } from "./error-record.js";
import { GameTimedOut, LayerWError } from "./errors.js";
import { compileModule } from "./game.js";
import { consoleLog } from "./game-host.js";
import { InputState } from "./input.js";
import { ReplayLog, replayCall } from "./replay.js";
import { SampleQueue } from "./sample-queue.js";
import { Watchdog } from "./watchdog.js";
import { FrameTiming } from "./timing.js";
import { NO_SEAT, RETRY_DELAYS_MS } from "./wire.js";

export const MAX_RESTORES = 3;
const DEFAULT_DEADLINE_MS = 100; // layerw.toml [limits] tick_ms's default (config.py)

export class WorkerClient {
  /**
   * Why `config`'s game cannot run in a game worker in this browser, or null where it can: the page
   * then hosts it and says so (main.js), never silently.
   * @param {import("./game-backend.js").GameSource} source
   * @returns {string | null}
   */
  static unavailable(source) {
    if (source.component && !source.component.glueBytes) {
      return "this source cannot hand a game worker its component's transpiled glue (no glueBytes)";
    }
    if (typeof OffscreenCanvas !== "function" || !("transferControlToOffscreen" in HTMLCanvasElement.prototype)) {
      return "this browser has no OffscreenCanvas, so the game runs on the page, where a runaway call can freeze it";
    }
    if (!moduleWorkers()) return "this browser has no module Workers, so the game runs on the page, where a runaway call can freeze it";
    return null;
  }

  /**
   * Start `source`'s game in a worker drawing on `canvas`; resolves once its first frame is due.
   * Options: as boot's (main.js) seed, renderer, ticks, fast, recording ({text, url}), players, overlay,
   * saves (true: IndexedDB slots in the worker), online (true: those slots kept on the server too, online-saves.js), restore (restore the last snapshot after a timeout),
   * sound (true: the worker posts its mix for the page's speaker),
   * room (join this room instead: with base, spectate, window, lead as join's), onStop, onError, onStatus(text),
   * onReconnecting, onReconnected, onProblem (turns on the dev checks, devchecks.js), log,
   * adopt (hot reload: `() => Promise<snapshot>`, the running build's snapshot, asked for once this build has
   * loaded and restored into it where the state layout fits; a layout that moved rejects with ProtocolError).
   * A failure before the first frame rejects, and only that: onError hears the failures after it.
   * @param {HTMLCanvasElement} canvas
   * @param {import("./game-backend.js").GameSource} source
   * @param {any} options
   */
  static async start(canvas, source, options) {
    const { config } = source;
    const why = WorkerClient.unavailable(source);
    if (why) throw new LayerWError(`${config.name} cannot run in a game worker: ${why}; open it with ?worker=0`);
    /** @type {Uint8Array | WebAssembly.Module | null} */
    let module = null;
    /** @type {Uint8Array | null} a component build's transpiled glue (its core modules are read as the worker asks) */
    let glue = null;
    if (config.component) {
      glue = source.component && source.component.glueBytes ? await source.component.glueBytes() : null;
    } else {
      module = await source.module;
      const bytes = await moduleBytes(module);
      if (bytes) module = bytes;
      else if (!(module instanceof WebAssembly.Module)) module = await compileModule(module, config.name); // its typed error
    }
    const client = new WorkerClient(canvas, source, module, options);
    client.glue = glue;
    if (source.readReplayTwin) { // a component build's is of its core module that holds the game's code (replay.js)
      if (source.replayTwinListed) { // a published version's: read on a timeout only, so a player downloads it only then
        let read = null;
        client.readReplayTwin = () => (read = read || source.readReplayTwin());
      } else { // a build's or a debug server's: asked now, so the worker posts snapshots only where a twin exists
        const twin = await source.readReplayTwin();
        if (twin) client.readReplayTwin = () => Promise.resolve(twin);
      }
    }
    try {
      await client.launch(null, !!options.adopt);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import("./game-backend.js").GameSource} source
   * @param {Uint8Array | WebAssembly.Module | null} module  null for a component build
   * @param {any} options
   */
  constructor(canvas, source, module, options) {
    this.canvas = canvas;
    this.source = source;
    this.config = source.config;
    this.module = module;
    /** @type {Uint8Array | null} a component build's transpiled glue */
    this.glue = null;
    /** @type {Map<string, Promise<WebAssembly.Module>>} a component's core modules, compiled once for every worker */
    this.coreModules = new Map();
    this.options = options;
    this.deadlineMs = this.config.tick_ms || DEFAULT_DEADLINE_MS;
    this.tick = 0;
    /** @type {{name: string | null, glRenderer: string | null, recovery: object | null}} what draws in the worker */
    this.renderer = { name: null, glRenderer: null, recovery: null };
    this.restores = 0;
    this.overlayShown = true; // whether the game lets the on-screen gamepad show, as the worker last posted
    /** @type {Array<{call: string, tick: number, ms: number, restoredAt: number | null, rejoined: boolean, replay: string}>} every
     *  call that ran past its deadline, whether the game went on from a snapshot (restoredAt) or by rejoining its room, and
     *  its GameTimedOut's message (with what its replay found) */
    this.timeouts = [];
    /** @type {any} the last snapshot the worker posted (restore) */
    this.snapshot = null;
    /** @type {(() => Promise<{twin: Uint8Array, map: import("./replay.js").ReplayMap} | null>) | null} reads the build's
     *  replay twin, where its source serves one */
    this.readReplayTwin = null;
    // the last snapshot and each tick's input since, to replay a timed-out call (in a room: from a confirmed state only)
    this.replayLog = new ReplayLog({ needsBase: !!options.room });
    this.samples = new SampleQueue();
    /** @type {Worker | null} */
    this.worker = null;
    /** @type {Watchdog | null} */
    this.watchdog = null;
    /** @type {Devices | null} */
    this.devices = null;
    this.inputs = new InputState(options.players || 1);
    this.sent = new Uint8Array(0);
    this.asks = new Map();
    this.nextAsk = 1;
    this.closed = false;
    this.request = 0;
    /** @type {Record<string, any>} a room's Session stats (session.js), as the worker last posted them */
    this.session = {};
    /** @type {number | null} in a room, the seat whose view the worker's copy showed (a cart's NETPLAY; null: a
     *  spectator's, player 0's), posted with each confirmed state */
    this.baseSeat = null;
    /** @type {number[] | null} a room's seat token, to rejoin the same seat after a timeout */
    this.token = null;
    /** @type {FrameTiming | null} the F3 overlay, fed by the worker's Loop (playing alone) */
    this.timing = options.room ? null : new FrameTiming(canvas);
    this.rejoinTries = 0; // a rejoin's failed joins (the room holds the seat until its old connection is silent)
    this.ready = false; // the worker in play has posted "ready"
    /** @type {Error | null} the error that ended the game (a trap, a timeout with no restore, a worker that failed):
     *  its worker is gone with its state (hot reload then starts the new build from its seed, dev-reload.js) */
    this.failure = null;
    /** @type {{resolve: (c: WorkerClient) => void, reject: (e: Error) => void}} the launch in progress */
    this.started = { resolve: () => {}, reject: () => {} };
  }

  /**
   * A fresh worker on the canvas, started from the beginning, from `restore`, or (`adopt`) from the snapshot
   * options.adopt answers once the worker has loaded; resolves when it is ready.
   * @param {any} restore a snapshot the worker posted, or null
   * @param {boolean} [adopt]
   */
  launch(restore, adopt = false) {
    const { options, config } = this;
    const worker = new Worker(new URL("./game-worker.js", import.meta.url), { type: "module", name: `${config.name} game` });
    this.worker = worker;
    const offscreen = this.canvas.transferControlToOffscreen();
    this.watchdog = new Watchdog({ deadlineMs: this.deadlineMs, onExpired: (call, tick, ms) => this.expired(call, tick, ms) });
    this.sent = new Uint8Array(0); // a fresh worker hears the input at once
    this.replayLog.restart(restore);
    this.overlayShown = true; // until the fresh worker's game says otherwise
    this.devices = options.recording || options.spectate ? null : new Devices(this.canvas, { width: config.width, height: config.height, overlay: options.overlay });
    if (this.devices) this.devices.overlayWanted = () => this.overlayShown;
    const ready = new Promise((resolve, reject) => { this.started = { resolve, reject }; });
    worker.onmessage = (event) => this.receive(worker, event.data);
    worker.onerror = (event) => this.failed(new LayerWError(`${config.name}'s game worker failed: ${event.message}`));
    worker.postMessage({
      type: "start", canvas: offscreen, config, module: this.module, glue: this.glue, seed: options.seed || 0, renderer: options.renderer || "auto",
      ticks: options.ticks ?? null, fast: !!options.fast, recording: options.recording || null, players: options.players || 1,
      saves: !!options.saves, online: options.saves && options.online ? location.href : null, restore,
      // a snapshot a second: to restore (playing alone) and to replay a timeout from (in a room: a confirmed state, session.js onBase)
      snapshotEvery: (options.restore && !options.room) || this.readReplayTwin ? config.tick_rate : 0, sound: !!options.sound,
      dev: !!options.onProblem, adopt,
      room: options.room ? { base: options.base || location.origin, room: options.room, spectate: !!options.spectate,
        window: options.window, lead: options.lead ?? null, token: this.token } : null,
    }, [offscreen]);
    this.request = requestAnimationFrame(() => this.forwardInput());
    return ready;
  }

  /** Poll the devices and post the input when it changed (every animation frame of the page). */
  forwardInput() {
    if (this.closed || !this.worker) return;
    if (this.devices) {
      this.devices.poll(this.inputs);
      const bytes = this.inputs.bytes;
      if (!sameBytes(bytes, this.sent)) {
        this.sent = bytes.slice();
        this.worker.postMessage({ type: "input", bytes: this.sent });
      }
    }
    this.request = requestAnimationFrame(() => this.forwardInput());
  }

  /**
   * @param {Worker} worker
   * @param {any} m
   */
  receive(worker, m) {
    if (worker !== this.worker) return; // a terminated worker's last messages
    const watchdog = /** @type {Watchdog} */ (this.watchdog);
    if (m.type === "enter") {
      this.tick = m.tick;
      if (m.input) this.replayLog.entered(m.tick, m.input);
      watchdog.enter(m.call, m.tick);
    } else if (m.type === "idle") {
      this.tick = m.tick;
      watchdog.idle();
    } else if (m.type === "ready") {
      this.ready = true;
      this.rejoinTries = 0;
      this.renderer = m.renderer;
      this.tick = m.tick;
      this.started.resolve(this);
    } else if (m.type === "samples") {
      this.samples.push(m.samples);
    } else if (m.type === "snapshot") {
      if (m.snap) {
        this.snapshot = m.snap;
        this.replayLog.rebase(m.snap);
        if (typeof m.seat === "number") this.baseSeat = m.seat === NO_SEAT ? null : m.seat; // a room's state, played as this seat
      }
      if (m.id) this.answer(m.id, m.error, m.snap);
    } else if (m.type === "prepared") {
      this.options.adopt().then((/** @type {any} */ snap) => worker.postMessage({ type: "adopt", snap }),
        (/** @type {any} */ e) => worker.postMessage({ type: "adopt", error: errorRecord(e) }));
    } else if (m.type === "read") {
      (m.core ? this.coreModule(m.name) : this.source.readAsset(m.name)).then((bytes) => worker.postMessage({ type: "asset", id: m.id, bytes }),
        (e) => worker.postMessage({ type: "asset", id: m.id, error: errorRecord(e) }));
    } else if (m.type === "answer") {
      this.answer(m.id, m.error, m.value);
    } else if (m.type === "stopped") {
      this.tick = m.tick;
      watchdog.idle();
      if (this.options.onStop) this.options.onStop();
    } else if (m.type === "failed") {
      this.failed(reviveError(m.error));
    } else if (m.type === "session") {
      Object.assign(this.session, m.stats);
      this.token = Array.from(m.token);
      this.tick = m.tick;
    } else if (m.type === "reconnecting") {
      if (this.options.onReconnecting) this.options.onReconnecting(m);
    } else if (m.type === "reconnected") {
      if (this.options.onReconnected) this.options.onReconnected();
    } else if (m.type === "renderer") {
      this.renderer = m.renderer;
    } else if (m.type === "overlay") {
      this.overlayShown = m.shown;
    } else if (m.type === "canvas") {
      this.handOverCanvas(worker);
    } else if (m.type === "timing") {
      if (this.timing) this.timing.frame(m.parts);
    } else if (m.type === "problem") {
      if (this.options.onProblem) this.options.onProblem(m.problem);
    } else if (m.type === "status") {
      if (this.options.onStatus) this.options.onStatus(m.text);
    } else if (m.type === "log") {
      (this.options.log || consoleLog)(m.level, m.text); // the console method of its level, as on the page
    }
  }

  /**
   * Settle the question `id` (an ask or a snapshot request) with the worker's answer.
   * @param {number} id
   * @param {any} error an error record (error-record.js), or undefined
   * @param {any} value
   */
  answer(id, error, value) {
    const ask = this.asks.get(id);
    this.asks.delete(id);
    if (ask) (error ? ask.reject(reviveError(error)) : ask.resolve(value));
  }

  /**
   * A component build's core module, compiled here once (a WebAssembly.Module crosses to the worker).
   * @param {string} name
   * @returns {Promise<WebAssembly.Module>}
   */
  coreModule(name) {
    let module = this.coreModules.get(name);
    if (!module) {
      const component = /** @type {import("./game-backend.js").ComponentSource} */ (this.source.component);
      module = compileModule(component.coreModule(name), `${this.config.name}'s ${name}`);
      this.coreModules.set(name, module);
    }
    return module;
  }

  /** @param {Error} error */
  failed(error) {
    this.stopWorker();
    if (this.restores && this.options.room && !this.ready && this.rejoinTries < RETRY_DELAYS_MS.length) {
      // a rejoin after a timeout that the room refused, like a reconnect (session.js): its seat's old
      // connection is live to the room until it has been silent a while; try again after the same backoff
      const delay = RETRY_DELAYS_MS[this.rejoinTries++];
      if (this.options.onStatus) this.options.onStatus(`${error.message}; rejoining again in ${delay} ms`);
      setTimeout(() => this.relaunch(null), delay);
      return;
    }
    this.failure = error;
    this.started.reject(error); // before ready: start() rejects; after: nothing
    const starting = !this.ready && !this.restores; // start()'s promise carries it (a hot reload's new build keeps it off the page)
    if (this.options.onError && !starting) this.options.onError(error);
  }

  /**
   * A call ran past its deadline: terminate the worker, replay the call where the build's twin is served
   * (replay.js), then restore the last snapshot into a fresh worker (where allowed, at most MAX_RESTORES
   * times) or fail with GameTimedOut.
   * @param {string} call
   * @param {number} tick
   * @param {number} ms
   */
  expired(call, tick, ms) {
    this.stopWorker();
    const { readReplayTwin } = this;
    const log = this.replayLog;
    const replayed = readReplayTwin
      ? readReplayTwin().then((twin) => (twin
        ? replayCall({ source: this.source, twin: twin.twin, map: twin.map, log, call, tick, seed: this.options.seed || 0,
          room: this.options.room ? { seat: this.baseSeat } : null, glue: this.glue,
          coreModule: (/** @type {string} */ name) => this.coreModule(name) })
        : { why: "its replay twin could not be read" }), (/** @type {Error} */ e) => ({ why: `its replay twin could not be read: ${e.message}` }))
      : Promise.resolve(null);
    replayed.then((outcome) => { if (!this.closed) this.timedOut(call, tick, ms, outcome); });
  }

  /**
   * The GameTimedOut of a call past its deadline, with what its replay found (null: not replayed).
   * @param {string} call
   * @param {number} tick
   * @param {any} outcome replayCall's
   */
  timeoutError(call, tick, outcome) {
    const { name } = this.config;
    let text = `${name} at tick ${tick} in ${call}: ran past its CPU deadline of ${this.deadlineMs} ms ([limits] tick_ms)`;
    const since = outcome && "fromTick" in outcome ? ` from tick ${outcome.fromTick}` : "";
    if (outcome && outcome.stopped) text += `; replayed in a fresh worker${since}, it ran past ${outcome.deadlineMs} ms too`;
    else if (outcome && "finishedMs" in outcome) {
      text += `; the call finished in ${Math.round(outcome.finishedMs)} ms when replayed in a fresh worker${since}: `
        + "the timeout came from the machine, not the game";
    } else if (outcome) text += `; it could not be replayed: ${outcome.why}`;
    const error = new GameTimedOut(text, { game: name, tick });
    /** @type {any} */ (error).replayFrames = outcome && outcome.stopped ? this.cartNamed(outcome.stopped) : null; // module offsets (main.js names them)
    return error;
  }

  /**
   * A cart's frames with the names its name section gives their functions (a cart has no symbols; natively
   * wasmtime names its frames so); other modules' frames as they are.
   * @param {{index: number, offset: number}[]} frames
   */
  cartNamed(frames) {
    const bytes = this.module;
    if (!(bytes instanceof Uint8Array) || !isCart(bytes)) return frames;
    const names = functionNames(bytes);
    return frames.map((f) => (names.has(f.index) ? { ...f, name: names.get(f.index) } : f));
  }

  /**
   * After a timeout (and its replay): restore the last snapshot or fail.
   * @param {string} call
   * @param {number} tick
   * @param {number} ms
   * @param {any} outcome
   */
  timedOut(call, tick, ms, outcome) {
    const error = this.timeoutError(call, tick, outcome);
    const room = !!this.options.room;
    const again = this.options.restore && this.restores < MAX_RESTORES && (room || this.snapshot);
    const restore = again && !room ? this.snapshot : null;
    this.timeouts.push({ call, tick, ms: Math.round(ms), restoredAt: restore ? restore.tick : null, rejoined: again && room,
      replay: error.message });
    if (!again) {
      this.failed(error);
      return;
    }
    this.restores += 1;
    if (this.options.onStatus) {
      const how = room ? "rejoining the room" : `restored from tick ${restore.tick}`;
      this.options.onStatus(`${error.message}; ${how} (${this.restores} of ${MAX_RESTORES})`);
    }
    this.relaunch(restore);
  }

  /**
   * A fresh worker on a fresh canvas (a canvas hands over its context once), from `restore` or joining the room again.
   * @param {any} restore
   */
  relaunch(restore) {
    if (this.closed) return;
    const fresh = /** @type {HTMLCanvasElement} */ (this.canvas.cloneNode(false));
    this.canvas.replaceWith(fresh);
    this.canvas = fresh;
    this.ready = false;
    this.launch(restore).catch(() => {}); // its failures reach failed() (and onError) through its messages
  }

  /**
   * A fresh canvas in place of the page's, its OffscreenCanvas posted to the worker (whose renderer falls
   * back to WebGL2: the old canvas keeps its WebGPU context), with the devices on it.
   * @param {Worker} worker
   */
  handOverCanvas(worker) {
    const fresh = /** @type {HTMLCanvasElement} */ (this.canvas.cloneNode(false));
    this.canvas.replaceWith(fresh);
    this.canvas = fresh;
    if (this.devices) {
      this.devices.close();
      this.devices = new Devices(fresh, { width: this.config.width, height: this.config.height, overlay: this.options.overlay });
    }
    const offscreen = fresh.transferControlToOffscreen();
    worker.postMessage({ type: "canvas", canvas: offscreen }, [offscreen]);
  }

  /** End the worker and what serves it (its devices, watchdog and pending questions). */
  stopWorker() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    cancelAnimationFrame(this.request);
    if (this.watchdog) this.watchdog.close();
    if (this.devices) this.devices.close();
    this.devices = null;
    for (const ask of this.asks.values()) ask.reject(new LayerWError(`${this.config.name}'s game worker has ended`));
    this.asks.clear();
  }

  /**
   * Ask the worker a probe (probe.js): "stateHash", "audioHash", "readPixels", "lastInput", "traces"…
   * @param {string} what
   * @param {any} [args]
   * @returns {Promise<any>}
   */
  ask(what, args) {
    return this.question({ type: "ask", what, args });
  }

  /**
   * The game's snapshot now (a Snapshot's fields, snapshot.js), as the worker posts it (hot reload, dev-reload.js).
   * @returns {Promise<any>}
   */
  snapshotNow() {
    return this.question({ type: "snapshot" });
  }

  /**
   * Post `message` with a fresh id; the worker's answer with that id settles it (answer).
   * @param {object} message
   * @returns {Promise<any>}
   */
  question(message) {
    const worker = this.worker;
    if (!worker) return Promise.reject(new LayerWError(`${this.config.name}'s game worker has ended`));
    const id = this.nextAsk++;
    return new Promise((resolve, reject) => {
      this.asks.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  /** The game's face on the page, for the speaker (speaker.js) and the page's API: the mix the worker posted. */
  get game() {
    return { name: this.config.name, tickRate: this.config.tick_rate, takeSamples: () => this.samples.takeSamples() };
  }

  stateHash() { return this.ask("stateHash"); }
  audioHash() { return this.ask("audioHash"); }
  readPixels() { return this.ask("readPixels"); }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.stopWorker();
    if (this.timing) this.timing.close();
  }
}

/** Whether `new Worker(url, {type: "module"})` is understood (a browser that ignores `type` never reads it). */
function moduleWorkers() {
  let read = false;
  const probe = { get type() { read = true; return "module"; } };
  try {
    new Worker("data:text/javascript,", /** @type {WorkerOptions} */ (probe)).terminate();
  } catch (e) {
    // the options were read before any failure to start it
  }
  return read;
}

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
