// The browser client's entry points.
//
//   boot(canvas, source, options) -> Promise<Client>
//       Start a game from a source (see source.js: {config, module, readAsset}) on a canvas and
//       run it. Options: seed (Number|BigInt, default 0), renderer ("auto"|"webgl2"|"webgpu"),
//       ticks (stop ticking at this tick), fast (tick as fast as possible), recording (a
//       Recording that replaces live input), players (1..4), overlay (true|false|"auto"),
//       fontUrl, shadersUrl, log(level, text), saves (a SaveStore, saves.js; none: the game's save
//       calls answer LW_SAVE_UNAVAILABLE), onProblem (turns on the dev checks, devchecks.js, and
//       hears each problem they find), prepare(game) (awaited before the first tick: hot reload's restore).
//   join(canvas, source, options) -> Promise<Client>
//       The same game in a multiplayer room (session.js): options room, base (server URL),
//       spectate, ticks (stop at this tick), window (ticks a player predicts at most, default 8, 0:
//       none), lead (a fixed lead instead of the measured one), renderer, overlay, onStop, onError,
//       onReconnecting, onReconnected. Resolves once the room's state is loaded; a player then runs
//       ahead of the room's confirmed frames (a spectator follows them), and rejoins its seat by
//       itself when the connection drops.
//   play(page) — the play.html page. Served by `layerw serve` at /play/GAME (the page carries a
//       `layerw-game` meta) it loads GAME from the store (store-source.js; ?channel= ?version=);
//       otherwise ?src= names a build directory (?debug: its game.debug.wasm, DWARF for DevTools). ?room=ID joins a room instead of playing alone.
//       Served by `layerw dev --serve` (a `layerw-dev` meta: its event stream and newest build) it plays that build
//       with the dev overlay and hot-reloads each new one keeping the state, in a game worker or on the page
//       (dev-reload.js; window.layerw.devReload).
//       ?delta=auto|always|never picks when a module delta is used. Also ?renderer= ?ticks=
//       ?inputs= ?seed= ?fast ?spectate ?window=N ?lead=N ?dev=1 (the dev checks, listed on
//       the page by dev-overlay.js, each once with its tick and, for one found in a host call, the game's
//       source line; dismissable). The game runs in a game worker (worker-client.js; alone or in a room)
//       unless ?worker=0 or the browser or the build cannot (the page's host line says why): a call past
//       [limits] tick_ms fails it with GameTimedOut, or with ?restore=1 it goes on in a fresh worker (alone:
//       from its last snapshot; in a room: rejoining its seat). The probes of window.layerw (probe.js) answer
//       Promises in both modes; client() is the page's Client or WorkerClient. Playing alone, the game's saves live in
//       IndexedDB (?saves=0: none), and when `layerw serve` served the page also on that server under
//       this browser's player key (online-saves.js, player-key.js; ?online=0: this browser only); a room keeps none. Shows a progress bar while loading and a clear message
//       on failure ("reconnecting…" while a room connection is retried), and exposes
//       window.layerw = {tick, host ("worker" | "page"), hostNote, config, timeouts, the probes (Promises, probe.js:
//       stateHash(), audioHash(), readPixels(), lastInput(), kind(), traces(), memory(), snapshotInfo(), reported(),
//       saved(), slot(name)), renderer: {name, glRenderer, recovery (WebGPU's lost devices or
//       WebGL2's lost contexts: {losses, recoveries, fellBack, failure}, device-recovery.js)}, status, error,
//       errorName (the failure's class, as natively: GameTimedOut, GameCrashed…), errorFrames (a crash's wasm frames, innermost first: {offset, function, file, line}, named from
//       the build's game.symbols.json where the page may read it), load (loader stats), session (room
//       stats), devProblems (?dev=1: {kind, tick, message, frames, source: "FILE:LINE" once named}), firstFrameMs (since navigation start), timing() (the F3 timing
//       overlay: {shown, ms: {tick, render, present, sound}}, running means; null in a room)}. Served by
//       `layerw serve`, it reports its load timings (on the first frame) and any failure to the
//       server's /telemetry (telemetry.js); ?telemetry=0 turns that off. The mix plays through
//       a Speaker (speaker.js) with the page's sound controls (sound-panel.js, window.layerw.sound);
//       ?sound=0: none; ?latency=MS bounds its backlog; ?audiotap keeps what it played (tests).

import { isCart } from "./cart.js";
import { CartGame, moduleBytes } from "./cart-game.js";
import { ComponentGame } from "./component-game.js";
import { Devices } from "./devices.js";
import { LayerWError } from "./errors.js";
import { Game } from "./game.js";
import { OnlineSaves } from "./online-saves.js";
import { PlayerKey } from "./player-key.js";
import { SaveStore } from "./saves.js";
import { SoundPanel } from "./sound-panel.js";
import { InputState, Recording } from "./input.js";
import { Loop, LoopState } from "./loop.js";
import { probe } from "./probe.js";
import { createRenderer } from "./renderer.js";
import { Session } from "./session.js";
import { WorkerClient } from "./worker-client.js";
import { dirSource } from "./source.js";
import { storeSource } from "./store-source.js";
import { describe, sourceFrames, wasmFrames } from "./symbols.js";
import { DevOverlay } from "./dev-overlay.js";
import { DevReload, hotSwap } from "./dev-reload.js";
import { Telemetry } from "./telemetry.js";
import { FrameTiming, PARTS } from "./timing.js";

const MAX_REPORTED_FRAMES = 16; // a crash report stays far below the server's size cap (telemetry.py)

/** A running game: its Game, renderer, input state, devices and loop. */
export class Client {
  /** @param {{game: any, renderer: any, inputs: InputState, devices: Devices | null,
   *          loop: {stop: () => void, stats?: object, timing?: {close(): void} | null, failure?: Error | null}}} parts  the loop is
   *   a Loop, or a Session in a room */
  constructor({ game, renderer, inputs, devices, loop }) {
    this.game = game;
    this.renderer = renderer;
    this.inputs = inputs;
    this.devices = devices;
    this.loop = loop;
    /** @type {OnlineSaves | null} the saves kept on the server too (play() sets it) */
    this.online = null;
  }

  get tick() { return this.game.tickCount; }
  /** The error that stopped the game (a trap mid-tick: its memory is no state to keep), or null while it can hand
   *  its state over (hot reload, dev-reload.js; a room's Session has none). */
  get failure() { return this.loop.failure || null; }
  /** The game's snapshot now (hot reload, dev-reload.js; a WorkerClient's answers from its worker). */
  snapshotNow() { return this.game.snapshot(); }
  stateHash() { return this.game.stateHash(); }
  audioHash() { return this.game.audioHash(); }
  readPixels() { return this.renderer.readPixels(); }

  /**
   * Answer a probe (probe.js) as a WorkerClient does: the page's API asks both alike.
   * @param {string} what
   * @param {any} [args]
   */
  ask(what, args) { return probe(this, what, args); }

  close() {
    this.loop.stop();
    if (this.loop.timing) this.loop.timing.close();
    if (this.devices) this.devices.close();
    this.renderer.close();
    this.game.close();
  }
}

/**
 * The game of a source: the one place that picks a GameHost backend (game-host.js), its core
 * module (Game) or, for a component build, its transpiled component (ComponentGame), from the
 * config (the manifest's game.component); a WASM-4 cart (a module importing WASM-4's memory or functions from `env`,
 * cart.js) runs on CartGame.
 * @param {import("./game-backend.js").GameSource} source
 * @param {import("./game-backend.js").GameOptions} [options]
 * @returns {Promise<any>}
 */
export async function openGame(source, options) {
  if (source.config.component) return ComponentGame.create(source, options);
  const module = await source.module;
  const bytes = await moduleBytes(module);
  if (bytes && isCart(bytes)) return CartGame.create({ ...source, module: bytes }, options);
  return Game.create({ ...source, module }, options);
}

/**
 * Turn on the dev checks (devchecks.js) of a game: each problem goes to `onProblem`.
 * @param {any} game
 * @param {(p: import("./devchecks.js").Problem) => void} onProblem
 */
export function checkContract(game, onProblem) {
  if (!game.enableChecks) throw new LayerWError(`${game.name} is a WASM-4 cart: dev checks cover the Layer-W contract`);
  game.enableChecks(onProblem);
}

export async function boot(canvas, source, options = {}) {
  const {
    seed = 0, renderer: prefer = "auto", ticks = null, fast = false, recording = null, players = 1,
    overlay = "auto", fontUrl, shadersUrl, log, onStop, onError, saves = null, onProblem = null, prepare = null,
  } = options;
  const { config } = source;
  const renderer = await createRenderer(canvas, {
    prefer, width: config.width, height: config.height, filter: filterOf(config), fontUrl, shadersUrl,
  });
  let game = null;
  try {
    game = await openGame(source, { seed, log, saves });
    if (prepare) await prepare(game); // before the first tick (hot reload restores its state here)
  } catch (e) {
    if (game) game.close();
    renderer.close();
    throw e;
  }
  if (onProblem) checkContract(game, onProblem);
  renderer.onGpuLost = () => { game.forgetGpu(); return game.render(); };
  const inputs = new InputState(players);
  const devices = recording ? null : new Devices(canvas, { width: config.width, height: config.height, overlay });
  if (devices) devices.overlayWanted = () => game.gamepadOverlay();
  const timing = new FrameTiming(canvas);
  const loop = new Loop({ game, renderer, inputs, devices, recording, stopAt: ticks, fast, timing, onStop, onError });
  const client = new Client({ game, renderer, inputs, devices, loop });
  loop.start();
  return client;
}

export async function join(canvas, source, options = {}) {
  const {
    room, base = location.origin, spectate = false, renderer: prefer = "auto", ticks = null, overlay = "auto",
    window: predictWindow, lead = null, fontUrl, shadersUrl, log, onStop, onError, onReconnecting, onReconnected,
  } = options;
  const { config } = source;
  const renderer = await createRenderer(canvas, {
    prefer, width: config.width, height: config.height, filter: filterOf(config), fontUrl, shadersUrl,
  });
  let game;
  try {
    game = await openGame(source, { seed: 0, log });
  } catch (e) {
    renderer.close();
    throw e;
  }
  renderer.onGpuLost = () => { game.forgetGpu(); return game.render(); };
  const devices = spectate ? null : new Devices(canvas, { width: config.width, height: config.height, overlay });
  if (devices) devices.overlayWanted = () => game.gamepadOverlay();
  const session = new Session({
    game, renderer, devices, base, room, spectate, stopAt: ticks, window: predictWindow, lead, onStop, onError,
    onReconnecting, onReconnected,
  });
  const client = new Client({ game, renderer, inputs: session.inputs, devices, loop: session });
  try {
    await session.start();
  } catch (e) {
    client.close();
    throw e;
  }
  return client;
}

/** The game's texture filter: "nearest" (the default, for pixel art) or "linear". */
export function filterOf(config) {
  return config.filter || "nearest";
}

/** Size the canvas to fill `box` keeping the game's aspect (letterboxed), in whole device pixels.
 *  A "nearest" game scales by whole numbers from 2x up, with nearest sampling, so pixel art stays
 *  even; a "linear" game fills the box and is smoothed. */
export function fit(canvas, width, height, box = { width: innerWidth, height: innerHeight }, filter = "nearest") {
  const dpr = window.devicePixelRatio || 1;
  let scale = Math.min((box.width * dpr) / width, (box.height * dpr) / height);
  if (scale >= 2 && filter === "nearest") scale = Math.floor(scale);
  canvas.style.imageRendering = filter === "nearest" ? "pixelated" : "auto";
  canvas.style.width = `${Math.round(width * scale) / dpr}px`;
  canvas.style.height = `${Math.round(height * scale) / dpr}px`;
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** What the server learns about this page's load (telemetry.js). */
function loadReport(api, params) {
  const load = api.load || {};
  return {
    game: api.name, channel: params.get("channel") || undefined, version: params.get("version") || undefined,
    renderer: api.renderer.name, module_from: load.moduleFrom || undefined,
    chunks_fetched: load.chunksFetched, chunks_cached: load.chunksCached, bytes_fetched: load.bytesFetched,
    ms: { manifest: load.manifestMs, module: load.moduleMs, first_frame: api.firstFrameMs },
  };
}

/** Run the play page: `page` holds the canvas, progress, error and (optional) status, sound and host elements
 *  (host: the line that says why the game runs on the page where a game worker could not take it). */
export async function play({ canvas, progress, progressText, error, status = null, sound = null, host: hostNote = null }) {
  const params = new URLSearchParams(location.search);
  let client = null;
  const api = {
    status: "loading",
    error: null,
    name: null,
    renderer: { name: null, glRenderer: null },
    host: null, // where the game runs: "worker" (the default) or "page" (?worker=0, or hostNote says why)
    hostNote: null, // why the page hosts the game where it had to (a component build, no OffscreenCanvas…)
    config: null, // the game's config (layerw.toml as the source gives it)
    get tick() { return client ? client.tick : 0; },
    // probes (probe.js): Promises wherever the game runs
    stateHash: () => ask("stateHash"),
    audioHash: () => ask("audioHash"),
    readPixels: async () => base64(await ask("readPixels")),
    lastInput: async () => { const bytes = await ask("lastInput"); return bytes ? base64(bytes) : null; },
    kind: () => ask("kind"),
    traces: () => ask("traces"),
    memory: async (offset = 0, length = 0) => {
      const { size, bytes } = await ask("memory", { offset, length });
      return { size, bytes: base64(bytes) };
    },
    snapshotInfo: () => ask("snapshotInfo"),
    reported: () => ask("reported"),
    saved: () => ask("saved"),
    slot: async (/** @type {string} */ name) => {
      const slot = await ask("slot", { name });
      return slot && { version: slot.version, data: Array.from(slot.data) };
    },
    get timeouts() { return api.worker ? api.worker.timeouts : []; },
    client: () => client,
    timing: () => {
      const timing = client && (client.loop ? client.loop.timing : client.timing); // a WorkerClient's overlay is its own
      return timing ? { shown: timing.shown, ms: Object.fromEntries(PARTS.map((p) => [p, timing.meanMs(p)])) } : null;
    },
    load: null,
    saves: null, // the SaveStore when playing alone
    online: null, // its OnlineSaves when the page came from `layerw serve` (online-saves.js)
    saveError: null, // the last save IndexedDB refused (also shown on the page)
    session: null,
    firstFrameMs: null,
    sound: null, // the SoundPanel (its speaker plays the mix; ?sound=0: none)
    worker: null, // ?worker=1: the WorkerClient (worker-client.js: timeouts, restores)
  };
  /** @type {any} */ (window).layerw = api;
  const ask = (/** @type {string} */ what, /** @type {any} */ args) => (client ? client.ask(what, args)
    : Promise.reject(new LayerWError(`${api.name || "the game"} has not started`)));
  const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="layerw-game"]'));
  const telemetry = meta && params.get("telemetry") !== "0" ? new Telemetry(new URL("/telemetry", location.href).href) : null;
  let source = null;
  let symbols = null; // the build's symbols, read once for the dev overlay's source lines
  const fail = (e) => {
    const tick = client ? client.tick : 0;
    const name = api.name || "game";
    const message = e instanceof LayerWError ? e.message : `${name} failed at tick ${tick}: ${e.message || e}`;
    // a trap's wasm frames (V8's stack of the RuntimeError it wraps), named from the build's symbols
    // (a game worker's timeout: the frames its replay was stopped in, replay.js)
    const wasm = e && e.replayFrames ? e.replayFrames : wasmFrames(e && e.cause instanceof Error ? e.cause.stack : e && e.stack);
    const show = (frames) => {
      const text = message + describe(frames);
      api.status = LoopState.FAILED;
      api.error = text;
      api.errorFrames = frames;
      api.errorName = (e && e.name) || "Error";
      if (status) status.hidden = true;
      error.textContent = text;
      error.hidden = false;
      progress.hidden = true;
      console.error(`[${name}] tick ${tick}: ${text}`);
      if (telemetry) {
        telemetry.error({ game: name, version: source ? source.config.version : undefined, tick, error: message,
          error_class: (e && e.name) || "Error", frames: frames.length ? frames.slice(0, MAX_REPORTED_FRAMES) : undefined });
      }
    };
    if (wasm.length && source && source.readSymbols) {
      source.readSymbols().then((symbols) => show(sourceFrames(wasm, symbols)));
    } else {
      show(sourceFrames(wasm, null));
    }
  };
  const devMeta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="layerw-dev"]'));
  try {
    const src = params.get("src") || (devMeta && devMeta.dataset.src) || null;
    const onProgress = (unit) => ({ bytes, total, items, itemsTotal }) => {
      progress.max = Math.max(total, 1);
      progress.value = bytes;
      progressText.textContent = `${(bytes / 1024).toFixed(0)} / ${(total / 1024).toFixed(0)} kB · ${items}/${itemsTotal} ${unit}`;
    };
    if (meta && !src) {
      api.name = meta.content;
      source = await storeSource(meta.content, {
        channel: params.get("channel"), version: params.get("version"), delta: params.get("delta") || "auto",
        onProgress: onProgress("chunks"),
      });
      api.load = source.stats;
    } else if (src) {
      source = await dirSource(src.endsWith("/") ? src : `${src}/`, { onProgress: onProgress("files"), debug: params.has("debug") });
    } else {
      throw new LayerWError("no game given: open /play/GAME on a `layerw serve` server, or this page with ?src=URL of a game's build directory");
    }
    api.name = source.config.name;
    api.config = source.config;
    document.title = `${source.config.name} · Layer-W`;
    const inputsUrl = params.get("inputs");
    const inputsText = inputsUrl ? await (await fetch(inputsUrl)).text() : null;
    const recording = inputsUrl && inputsText !== null ? Recording.parse(inputsText, inputsUrl) : null;
    const ticks = params.has("ticks") ? Number(params.get("ticks")) : null;
    let refitTo = () => canvas; // a game worker's canvas is replaced by a fresh one when it restores
    const refit = () => fit(refitTo(), source.config.width, source.config.height, undefined, filterOf(source.config));
    refit();
    addEventListener("resize", refit);
    const common = {
      renderer: params.get("renderer") || "auto",
      ticks,
      overlay: params.has("overlay") ? params.get("overlay") !== "0" : "auto",
      onStop: () => { api.status = LoopState.STOPPED; },
      onError: fail,
    };
    const showStatus = (text) => {
      if (!status) return;
      status.textContent = text || "";
      status.hidden = !text;
    };
    const roomOptions = {
      window: params.has("window") ? Number(params.get("window")) : undefined,
      lead: params.has("lead") ? Number(params.get("lead")) : null,
      onReconnecting: ({ attempt, of, code }) => {
        api.status = "reconnecting";
        showStatus(`reconnecting… (try ${attempt} of ${of})`);
        console.warn(`[${api.name}] tick ${client ? client.tick : 0}: connection lost (code ${code}); reconnecting, try ${attempt} of ${of}`);
      },
      onReconnected: () => {
        if (api.status === "reconnecting") api.status = LoopState.RUNNING;
        showStatus(null);
      },
    };
    api.devProblems = [];
    const overlay = params.get("dev") === "1" || devMeta ? new DevOverlay(document.body) : null;
    const onProblem = overlay ? (problem) => {
      api.devProblems.push(problem);
      console.warn(`[${api.name}] dev check ${problem.kind} at tick ${problem.tick}: ${problem.message}`);
      const entry = overlay.add(problem);
      if (problem.frames && problem.frames.length && source.readSymbols) {
        symbols = symbols || source.readSymbols();
        symbols.then((table) => entry.locate(sourceFrames(problem.frames, table)));
      }
    } : null;
    // the game runs in a game worker unless ?worker=0 or the browser cannot (the page says why)
    const noWorker = params.get("worker") === "0" ? null : WorkerClient.unavailable(source);
    if (noWorker && params.has("worker")) throw new LayerWError(`${api.name} cannot run in a game worker: ${noWorker}`);
    api.hostNote = noWorker;
    if (noWorker && hostNote) {
      hostNote.textContent = noWorker;
      hostNote.hidden = false;
    }
    /** @type {((canvas: HTMLCanvasElement, source: any, take: (() => Promise<any>) | null) => Promise<any>) | null} */
    let restart = null; // hot reload's start of a new build in place of the running one (playing alone; dev-reload.js hotSwap)
    if (params.get("worker") !== "0" && !noWorker) {
      const options = {
        room: params.get("room"), spectate: params.has("spectate"), ...roomOptions,
        ...common, seed: params.has("room") ? 0n : BigInt(params.get("seed") || 0), fast: params.has("fast"), players: 1,
        recording: inputsUrl ? { text: inputsText, url: inputsUrl } : null,
        saves: !params.has("room") && params.get("saves") !== "0", online: !!meta && !src && params.get("online") !== "0",
        restore: params.get("restore") === "1",
        sound: !!sound && params.get("sound") !== "0", onStatus: showStatus, onProblem,
      };
      client = await WorkerClient.start(canvas, source, options);
      api.worker = client;
      if (params.has("room")) api.session = client.session;
      else restart = (fresh, s, take) => WorkerClient.start(fresh, s, { ...options, adopt: take });
      refitTo = () => client.canvas;
    } else if (params.has("room")) {
      client = await join(canvas, source, {
        ...common, room: params.get("room"), spectate: params.has("spectate"), ...roomOptions,
      });
      api.session = client.loop.stats;
    } else {
      const { config } = source;
      const saveMessage = (text) => { showStatus(text); api.saveError = text; };
      const saves = params.get("saves") === "0" ? null : await SaveStore.open(config.name, {
        slotBytes: config.save_slot_bytes, totalBytes: config.save_total_bytes, onError: saveMessage,
      });
      api.saves = saves;
      if (saves && meta && !src && params.get("online") !== "0") { // served by `layerw serve`: its /saves too
        api.online = new OnlineSaves(saves, await PlayerKey.loadOrCreate(), { onMessage: saveMessage });
        await api.online.pull();
      }
      const options = { ...common, seed: BigInt(params.get("seed") || 0), fast: params.has("fast"), recording, saves, onProblem };
      client = await boot(canvas, source, options);
      client.online = api.online;
      restart = (fresh, s, take) => boot(fresh, s, {
        ...options, prepare: take && (async (/** @type {any} */ game) => game.restore(await take(), { allowOtherBuild: true })),
      });
    }
    if (devMeta && overlay && restart) { // `layerw dev --serve`: each new build swaps in, keeping the state
      const startBuild = restart;
      api.devReload = new DevReload({
        url: devMeta.content, build: Number(devMeta.dataset.build), overlay, tick: () => client.tick,
        swap: async (load) => {
          const swapped = await hotSwap(client, refitTo(), load, startBuild);
          ({ client, canvas, source } = swapped);
          if (api.worker) api.worker = client;
          else client.online = api.online;
          if (api.sound && api.sound.speaker) api.sound.speaker.game = client.game; // the mix of the build that runs
          if (api.status === LoopState.FAILED) { // the old build had stopped (the overlay says why): the new one runs
            Object.assign(api, { status: LoopState.RUNNING, error: null, errorName: null, errorFrames: null });
            error.hidden = true;
          }
          refit();
          refitTo().focus();
          return swapped;
        },
      });
    }
    // before any await: a fast run may stop while the sound panel opens, and the page says its renderer by then
    // getters: a renderer that lost its WebGPU device may fall back to WebGL2 (device-recovery.js)
    api.host = api.worker ? "worker" : "page";
    // and the client they read is the one running now: a hot reload swaps in another (dev-reload.js)
    api.renderer = {
      get name() { return client.renderer.name; },
      get glRenderer() { return client.renderer.glRenderer; },
      get recovery() { // a WorkerClient's renderer is what the worker posted: its recovery is stats already
        const { recovery } = client.renderer;
        return recovery ? recovery.stats || recovery : null;
      },
    };
    // the loop's first animation frame was requested first, so this runs right after it drew
    requestAnimationFrame(() => {
      api.firstFrameMs = performance.now();
      if (telemetry) telemetry.load(loadReport(api, params));
    });
    if (sound && params.get("sound") !== "0") {
      api.sound = await SoundPanel.open(sound, client.game, {
        latencyMs: params.has("latency") ? Number(params.get("latency")) : undefined, tap: params.has("audiotap"),
      });
    }
    if (api.status === "loading") api.status = LoopState.RUNNING;
    progress.hidden = true;
    progressText.hidden = true;
    canvas.focus();
  } catch (e) {
    fail(e);
  }
}
