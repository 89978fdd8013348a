// DevReload: the page's half of `layerw dev --serve` (layerw/server/dev_app.py): hot reload that keeps
// the game's state, in every open tab.
//
//   new DevReload({url, build, overlay, swap, tick}) ; reload.close()
//
// The dev server's event stream (Server-Sent Events, dev_events.py) tells of each build that runs
// ({type: "build", build, src, warnings}) and each failed build ({type: "failed", build, error}). For
// a newer build the page fetches it (dirSource), then `swap` (main.js, through `hotSwap`) starts it on
// a fresh canvas with the running game's snapshot restored into it when the state layout allows
// (GameHost.restore with allowOtherBuild, the native rule), else from its seed, and closes the old one
// only once the new one runs: a build that fails to load leaves the old build running. The same swap
// serves a game on the page's thread (main.js boot's prepare) and one in a game worker (a fresh
// worker for the new build, WorkerClient.start's adopt, given the old worker's snapshotNow). Warnings
// (file:line), failed builds and restarts (with why: a state layout that moved, or an old build that had
// stopped, trapped or timed out, with no state to keep) go to the page's dev overlay (dev-overlay.js).

import { dirSource } from "./source.js";
import { ProtocolError } from "./errors.js";

/**
 * @typedef {{kept: boolean, tick: number, reason: string | null}} SwapOutcome  what a swap did with the state
 * @typedef {{build: number, kept: boolean, tick: number, reason: string | null, ms: number}} Reload
 */

/**
 * Start the new build (`load()` fetches it, again for a second try: a module's response is read once)
 * on a fresh copy of `canvas` with `client`'s game state, then close `client`.
 * `start(canvas, source, take)` starts a game (main.js `boot`, or `WorkerClient.start`, with the page's
 * options) and, given `take`, restores `await take()` (the running game's snapshot, taken when asked:
 * the old build runs on while the new one loads) into it before its first tick with allowOtherBuild;
 * a state layout that moved rejects with ProtocolError, and the new build then starts from its seed.
 * So does a build that arrives after the old game stopped (`client.failure`: a trap, a timeout, its
 * worker gone): a trapped game's memory is no tick's state, and a dead worker's is gone.
 * @param {{tick: number, failure: Error | null, snapshotNow(): any, close(): void}} client the running game (main.js Client or a WorkerClient)
 * @param {HTMLCanvasElement} canvas its canvas (replaced in the document by the new one)
 * @param {() => Promise<any>} load the new build's source (source.js dirSource)
 * @param {(canvas: HTMLCanvasElement, source: any, take: (() => Promise<any>) | null) => Promise<any>} start
 * @returns {Promise<{client: any, canvas: HTMLCanvasElement, source: any} & SwapOutcome>}
 */
export async function hotSwap(client, canvas, load, start) {
  let tick = client.tick;
  const take = async () => {
    if (client.failure) throw client.failure; // it stopped while the new build loaded
    const snap = await client.snapshotNow();
    tick = snap.tick;
    return snap;
  };
  const stopped = () => (client.failure
    ? `the running build had stopped at tick ${client.tick}, so it had no state to keep (${client.failure.message})` : null);
  let fresh = /** @type {HTMLCanvasElement} */ (canvas.cloneNode(false));
  let source = await load();
  let next;
  let reason = stopped();
  try {
    next = await start(fresh, source, reason === null ? take : null);
  } catch (e) {
    // the state layout moved, or the old game stopped while the new one loaded: the new build starts from its seed
    const why = reason === null && e instanceof ProtocolError ? `the state layout changed (${e.message})` : stopped();
    if (reason !== null || why === null) throw e;
    reason = why;
    fresh = /** @type {HTMLCanvasElement} */ (canvas.cloneNode(false));
    source = await load();
    next = await start(fresh, source, null);
  }
  canvas.replaceWith(fresh);
  client.close();
  return { client: next, canvas: fresh, source, kept: reason === null, tick, reason };
}

export class DevReload {
  /**
   * @param {{url: string, build: number, overlay: import("./dev-overlay.js").DevOverlay,
   *          swap: (load: () => Promise<any>) => Promise<SwapOutcome>, tick: () => number}} options
   *   url: the event stream; build: the build the page runs; swap: start a build (its source from
   *   `load()`) in place of the running one; tick: the running game's tick (for the overlay's entries)
   */
  constructor({ url, build, overlay, swap, tick }) {
    this.build = build;
    this.overlay = overlay;
    this.swap = swap;
    this.tick = tick;
    /** @type {Reload[]} each build swapped in, newest last */
    this.reloads = [];
    /** @type {{build: number, error: string}[]} each failed build heard (compile errors or a swap that failed) */
    this.failures = [];
    /** @type {any} the newest build event not yet swapped in */
    this.pending = null;
    this.busy = false;
    this.events = new EventSource(url);
    this.events.onmessage = (event) => this.receive(JSON.parse(event.data));
  }

  /** @param {any} event */
  receive(event) {
    if (event.type === "build") {
      if (event.build <= this.build) return;
      this.pending = event;
      if (!this.busy) this.next();
    } else if (event.type === "failed") {
      this.fail(event.build, `build ${event.build} failed; build ${event.running} keeps running:\n${event.error}`);
    }
  }

  /** Swap in the newest pending build, then any newer one heard meanwhile. */
  async next() {
    this.busy = true;
    while (this.pending) {
      const event = this.pending;
      this.pending = null;
      const started = performance.now();
      try {
        const { kept, tick, reason } = await this.swap(() => dirSource(event.src));
        this.build = event.build;
        this.reloads.push({ build: event.build, kept, tick, reason, ms: Math.round(performance.now() - started) });
        for (const text of event.warnings || []) this.note("build-warning", `build ${event.build}: compiler warnings:\n${text}`);
        if (kept) {
          console.info(`[layerw dev] build ${event.build}: state kept at tick ${tick}`);
        } else {
          this.note("restarted", `build ${event.build} restarted from its seed: ${reason}`);
        }
      } catch (e) {
        this.fail(event.build, `build ${event.build} did not start here; the old build keeps running: ${/** @type {Error} */ (e).message || e}`);
      }
    }
    this.busy = false;
  }

  /**
   * @param {number} build
   * @param {string} text
   */
  fail(build, text) {
    this.failures.push({ build, error: text });
    this.note("build-error", text);
  }

  /**
   * @param {string} kind
   * @param {string} message
   */
  note(kind, message) {
    console.warn(`[layerw dev] ${message}`);
    this.overlay.add({ kind, tick: this.tick(), message, frames: [] });
  }

  close() {
    this.events.close();
  }
}
