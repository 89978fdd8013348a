// The game worker: a dedicated module Worker that runs one game (its wasm, the host, the Loop) and
// draws on the page's canvas through an OffscreenCanvas, so a game stuck in a call freezes this
// worker, never the page. The page's side is WorkerClient (worker-client.js): it forwards input,
// answers asset reads, and keeps each call's deadline from the CallBeat messages posted here
// (Watchdog, watchdog.js); on expiry it terminates this worker.
//
// Page -> worker: {type: "start", canvas, config, module (null for a component build), glue (a component
//   build's transpiled glue, its source text's bytes), seed, renderer, ticks, fast, recording,
//   players, saves, online (the page's URL: keep the saves on its server too), restore, snapshotEvery, sound, dev (the dev checks),
//   adopt (hot reload, dev-reload.js: once loaded, post "prepared" and restore the snapshot the page answers with, of another
//   build where the state layout fits), room (a room to join instead: {base, room, spectate, window, lead, token})};
//   {type: "input", bytes}; {type: "asset", id, bytes | error};
//   {type: "ask", id, what, args} (a probe, probe.js); {type: "canvas", canvas}
//   (a fresh OffscreenCanvas, asked for by {type: "canvas"}); {type: "snapshot", id} (post the game's snapshot now);
//   {type: "adopt", snap | error} (the snapshot an adopting start restores, answering "prepared").
// Worker -> page: {type: "enter", call, tick, input} before each call into the guest (input: a tick call's (lw_tick's, a cart's update's, a component's tick's) packed
//   lw_input and events, which the page keeps to replay a timed-out call, replay.js) and {type: "idle", tick}
//   once it returns; {type: "ready", renderer}; {type: "stopped", tick};
//   {type: "failed", error}; {type: "snapshot", snap, id, seat} (id 0: snapshotEvery's, in a room a confirmed state's,
//   with the seat whose view this copy shows; else the page's request's, or with error instead of snap); {type: "prepared"} (an adopting start waits for its snapshot); {type: "read", id, name, core} (an asset, or with core a component's core module); {type: "answer", id,
//   value | error}; {type: "status", text}; {type: "problem", problem} (a dev check's, devchecks.js);
//   {type: "timing", parts} each frame's parts in ms (the page's FrameTiming overlay, timing.js);
//   {type: "renderer", renderer} when what draws changed; {type: "overlay", shown} when the game's gamepadOverlay() changed; {type: "canvas"} (a WebGL2 fallback needs a fresh one); {type: "samples", samples} (the mix, for the page's speaker);
//   in a room {type: "session", stats, token} every SESSION_EVERY_MS and at the end, {type: "reconnecting",
//   attempt, of, code}, {type: "reconnected"}.

import { errorRecord, reviveError } from "./error-record.js";
import { LayerWError, SnapshotError } from "./errors.js";
import { InputState, Recording } from "./input.js";
import { Loop, LoopState } from "./loop.js";
import { checkContract, openGame } from "./main.js";
import { probe } from "./probe.js";
import { TICK_CALLS } from "./replay.js";
import { createRenderer } from "./renderer.js";
import { OnlineSaves } from "./online-saves.js";
import { PlayerKey } from "./player-key.js";
import { SaveStore } from "./saves.js";
import { Session } from "./session.js";
import { importBytes } from "./source.js";

const SESSION_EVERY_MS = 250;

/** Tells the page of each call into the guest and, once it returns (or, for an instantiation, once
 *  it has settled), that the guest is idle: the renderer's time between calls is not the guest's
 *  (a CallWatch, game-backend.js). */
class CallBeat {
  /**
   * @param {(message: object) => void} post
   * @param {() => Uint8Array | null} input the packed input of the tick being entered (the game's lastInput)
   */
  constructor(post, input) {
    this.post = post;
    this.input = input;
    this.spans = 0; // instantiations in progress: the worker is busy until they end
    this.tick = 0;
  }

  /**
   * @param {string} call
   * @param {number} tick
   */
  enter(call, tick) {
    this.tick = tick;
    const input = TICK_CALLS.has(call) ? this.input() : null;
    this.post(input ? { type: "enter", call, tick, input: input.slice() } : { type: "enter", call, tick });
  }

  leave() {
    if (!this.spans) this.post({ type: "idle", tick: this.tick });
  }

  /**
   * @param {string} call
   * @param {number} tick
   */
  begin(call, tick) {
    this.spans += 1;
    this.tick = tick;
    this.post({ type: "enter", call, tick });
  }

  end() {
    this.spans -= 1;
    if (!this.spans) this.post({ type: "idle", tick: this.tick });
  }
}

/** One game run in this worker: its game, renderer, input and loop, and the page's pending asset reads. */
class WorkerGame {
  constructor() {
    /** @type {any} */
    this.game = null;
    /** @type {any} */
    this.renderer = null;
    /** @type {Loop | null} */
    this.loop = null;
    /** @type {InputState | null} */
    this.inputs = null;
    /** @type {Map<number, {resolve: (b: any) => void, reject: (e: Error) => void}>} */
    this.reads = new Map();
    this.nextRead = 1;
    this.beat = new CallBeat((m) => postMessage(m), () => (this.game && this.game.lastInput) || null);
    this.snapshotEvery = 0; // ticks between the snapshots posted to the page (0: none; ?restore=1 playing alone)
    this.lastSnapshot = 0;
    this.sound = false; // post the mix to the page's speaker
    /** @type {Session | null} */
    this.session = null;
    this.sessionTimer = 0;
    /** @type {((canvas: OffscreenCanvas) => void) | null} waits for the page's fresh canvas (requestCanvas) */
    this.canvasWaiter = null;
    this.rendererPosted = ""; // the renderer as last posted (postRenderer)
    this.overlayPosted = true; // whether the game lets the on-screen gamepad show, as last posted (postOverlay)
    /** @type {OnlineSaves | null} the saves kept in step with the server's (start's online: the page's URL) */
    this.online = null;
    /** @type {{resolve: (snap: any) => void, reject: (e: Error) => void} | null} an adopting start's wait for its snapshot */
    this.adoption = null;
  }

  /**
   * An asset's bytes, or with `core` a component build's core module (compiled), read by the page's source.
   * @param {string} name
   * @param {boolean} [core]
   * @returns {Promise<any>}
   */
  readAsset(name, core = false) {
    const id = this.nextRead++;
    return new Promise((resolve, reject) => {
      this.reads.set(id, { resolve, reject });
      postMessage({ type: "read", id, name, core });
    });
  }

  /** @param {{id: number, bytes?: ArrayBuffer, error?: any}} m */
  answered(m) {
    const read = this.reads.get(m.id);
    if (!read) return;
    this.reads.delete(m.id);
    if (m.error) read.reject(reviveError(m.error)); // the source's typed error (AssetNotFound, ChunkCorrupt…)
    else read.resolve(/** @type {ArrayBuffer} */ (m.bytes));
  }

  /** @param {any} m the start message */
  async start(m) {
    const { config } = m;
    const log = (/** @type {string} */ level, /** @type {string} */ text) => postMessage({ type: "log", level, text });
    const status = (/** @type {string} */ text) => postMessage({ type: "status", text });
    const saves = m.saves ? await SaveStore.open(config.name, {
      slotBytes: config.save_slot_bytes, totalBytes: config.save_total_bytes, onError: status,
    }) : null;
    if (saves && m.online) { // served by `layerw serve`: its /saves too (online-saves.js), as on the page
      this.online = new OnlineSaves(saves, await PlayerKey.loadOrCreate(), { base: m.online, onMessage: status });
      await this.online.pull();
    }
    this.renderer = await createRenderer(m.canvas, {
      prefer: m.renderer, width: config.width, height: config.height, filter: config.filter || "nearest",
    });
    const glue = m.glue ? importBytes(m.glue) : null;
    if (glue) glue.catch(() => {}); // reported when the game awaits it
    const source = {
      config, module: m.module, readAsset: (/** @type {string} */ n) => this.readAsset(n),
      component: glue && { glue, coreModule: (/** @type {string} */ n) => this.readAsset(n, true) },
    };
    this.game = await openGame(source, { seed: m.seed, log, saves, watch: this.beat });
    if (m.dev) checkContract(this.game, (problem) => postMessage({ type: "problem", problem }));
    this.renderer.onGpuLost = () => { this.game.forgetGpu(); return this.game.render(); };
    if (this.renderer.recovery) this.renderer.recovery.requestCanvas = () => this.requestCanvas();
    if (m.room) {
      await this.join(m);
      return;
    }
    if (m.adopt) await this.game.restore(await this.adopted(), { allowOtherBuild: true }); // hot reload: a layout moved throws
    else if (m.restore) await this.game.restore(m.restore);
    this.inputs = new InputState(m.players);
    const recording = m.recording ? Recording.parse(m.recording.text, m.recording.url) : null;
    this.snapshotEvery = m.snapshotEvery;
    this.lastSnapshot = this.game.tickCount;
    this.sound = !!m.sound;
    this.loop = new Loop({
      game: this.game, renderer: this.renderer, inputs: this.inputs, recording, stopAt: m.ticks, fast: m.fast,
      timing: /** @type {any} */ ({ frame: (/** @type {object} */ parts) => postMessage({ type: "timing", parts }) }),
      onStop: () => postMessage({ type: "stopped", tick: this.game.tickCount }),
      onError: (e) => postMessage({ type: "failed", error: errorRecord(e) }),
      onFrame: () => this.framed(),
    });
    postMessage({ type: "ready", renderer: { name: this.renderer.name, glRenderer: this.renderer.glRenderer, recovery: null },
      tick: this.game.tickCount });
    this.loop.start();
  }

  /**
   * The snapshot the page answers "prepared" with: the running build's, taken once this one has loaded (hot reload).
   * @returns {Promise<any>}
   */
  adopted() {
    return new Promise((resolve, reject) => {
      this.adoption = { resolve, reject };
      postMessage({ type: "prepared" });
    });
  }

  /** @param {{snap?: any, error?: any}} m the page's answer to "prepared" */
  adopt(m) {
    const adoption = this.adoption;
    this.adoption = null;
    if (!adoption) return;
    if (m.error) adoption.reject(reviveError(m.error));
    else adoption.resolve(m.snap);
  }

  /**
   * Post the game's snapshot now: `id` 0 for snapshotEvery's, else the page's request's (hot reload).
   * @param {number} id
   */
  postSnapshot(id) {
    if (!this.game) throw new LayerWError("no game runs in this worker yet: nothing to snapshot");
    postMessage({ type: "snapshot", id, snap: { ...this.game.snapshot() } });
  }

  /**
   * A fresh OffscreenCanvas from the page, for WebGL2 after WebGPU kept losing its device (device-recovery.js).
   * @returns {Promise<OffscreenCanvas>}
   */
  requestCanvas() {
    return new Promise((resolve) => {
      this.canvasWaiter = resolve;
      postMessage({ type: "canvas" });
    });
  }

  /** Tell the page what draws now, when that changed (a WebGPU renderer that lost its device). */
  postRenderer() {
    const r = this.renderer;
    const recovery = r.recovery ? r.recovery.stats : null;
    const now = { name: r.name, glRenderer: r.glRenderer, recovery };
    const text = JSON.stringify(now);
    if (text === this.rendererPosted) return;
    this.rendererPosted = text;
    postMessage({ type: "renderer", renderer: now });
  }

  /** Tell the page whether the game lets its on-screen gamepad show, when that changed (a WASM-4 cart's SYSTEM_FLAGS). */
  postOverlay() {
    const shown = this.game.gamepadOverlay();
    if (shown === this.overlayPosted) return;
    this.overlayPosted = shown;
    postMessage({ type: "overlay", shown });
  }

  /** After each frame the Loop drew: post the mix for the page's speaker, and a snapshot when one is due. */
  framed() {
    this.postRenderer();
    this.postOverlay();
    if (this.sound) {
      const samples = this.game.takeSamples();
      if (samples.length) postMessage({ type: "samples", samples }, { transfer: [samples.buffer] });
    }
    if (this.snapshotEvery && this.game.tickCount - this.lastSnapshot >= this.snapshotEvery) {
      this.lastSnapshot = this.game.tickCount;
      try {
        this.postSnapshot(0);
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        // a state no snapshot holds (a cart's v128 globals) fails no game: a timeout is then replayed from the seed, if at all
        this.snapshotEvery = 0;
        postMessage({ type: "log", level: "warn", text: `[${this.game.name}] ${e.message}; a timeout is not restored from a snapshot` });
      }
    }
  }

  /**
   * Join the room `m.room` names, with the seat's token where the page rejoins after a timeout.
   * @param {any} m the start message
   */
  async join(m) {
    const { base, room, spectate, window, lead, token } = m.room;
    const session = new Session({
      game: this.game, renderer: this.renderer, devices: null, base, room, spectate, stopAt: m.ticks, window, lead,
      onStop: () => {
        clearInterval(this.sessionTimer);
        this.postSession();
        postMessage({ type: "stopped", tick: this.game.tickCount });
      },
      onError: (e) => postMessage({ type: "failed", error: errorRecord(e) }),
      onReconnecting: ({ attempt, of, code }) => postMessage({ type: "reconnecting", attempt, of, code }),
      onReconnected: () => postMessage({ type: "reconnected" }),
      // the page replays a timed-out call (replay.js) from the latest confirmed state posted and the ticks since, as
      // the seat whose view this copy shows (a cart's NETPLAY)
      onBase: m.snapshotEvery ? (snap) => postMessage({ type: "snapshot", id: 0, snap: { ...snap }, seat: session.seat }) : null,
      baseEvery: m.snapshotEvery,
    });
    if (token) session.token = Uint8Array.from(token);
    this.session = session;
    this.inputs = session.local; // the page's devices, forwarded
    this.sessionTimer = setInterval(() => this.postSession(), SESSION_EVERY_MS);
    await session.start();
    this.postSession();
    postMessage({ type: "ready", renderer: { name: this.renderer.name, glRenderer: this.renderer.glRenderer },
      tick: this.game.tickCount });
  }

  /** Tell the page the room's stats, and the seat's token for a rejoin. */
  postSession() {
    const session = /** @type {Session} */ (this.session);
    this.postRenderer();
    this.postOverlay();
    postMessage({ type: "session", stats: { ...session.stats }, token: session.token.slice(), tick: this.game.tickCount });
  }

  /**
   * Answer the page's question (a probe, probe.js).
   * @param {string} what
   * @param {any} args
   */
  ask(what, args) {
    return probe({ game: this.game, renderer: this.renderer, loop: this.session || this.loop, online: this.online }, what, args);
  }
}

const run = new WorkerGame();

onmessage = (/** @type {MessageEvent} */ event) => {
  const m = event.data;
  if (m.type === "start") {
    run.start(m).catch((e) => postMessage({ type: "failed", error: errorRecord(e) }));
  } else if (m.type === "input") {
    if (run.inputs && !(run.loop && (run.loop.state !== LoopState.RUNNING || run.loop.recording))) run.inputs.bytes.set(m.bytes);
  } else if (m.type === "asset") {
    run.answered(m);
  } else if (m.type === "canvas") {
    if (run.canvasWaiter) run.canvasWaiter(m.canvas);
    run.canvasWaiter = null;
  } else if (m.type === "snapshot") {
    try {
      run.postSnapshot(m.id);
    } catch (e) {
      postMessage({ type: "snapshot", id: m.id, error: errorRecord(e) });
    }
  } else if (m.type === "adopt") {
    run.adopt(m);
  } else if (m.type === "ask") {
    run.ask(m.what, m.args).then((value) => postMessage({ type: "answer", id: m.id, value }),
      (e) => postMessage({ type: "answer", id: m.id, error: errorRecord(e) }));
  }
};
