// Loop: the fixed-tick loop on requestAnimationFrame (the browser's layerw/play/runner.py).
//
// Ticks advance at the game's rate whatever the display's refresh rate (an accumulator, at most
// MAX_CATCH_UP ticks per frame so a slow frame does not spiral); each animation frame renders the
// latest state once. Hidden tabs get no animation frames, and the clock restarts when the tab
// shows again, so a hidden game pauses instead of racing to catch up. `stopAt` stops ticking at
// that tick and keeps its frame on screen; `fast` ticks as fast as possible (about 12 ms of ticks
// per frame), for tests and benchmarks.

const MAX_CATCH_UP = 8;
const FAST_BUDGET_MS = 12;

export const LoopState = Object.freeze({ IDLE: "idle", RUNNING: "running", STOPPED: "stopped", FAILED: "failed" });

export class Loop {
  /** game, renderer, inputs (InputState); optional devices (polled each frame), recording
   *  (replaces live devices), stopAt, fast, timing (a FrameTiming: each frame's parts), onStop(), onError(error),
   *  onFrame() (after each frame is drawn). */
  /**
   * @param {{game: any, renderer: any, inputs: import("./input.js").InputState, devices?: any,
   *          recording?: import("./input.js").Recording | null, stopAt?: number | null, fast?: boolean,
   *          timing?: import("./timing.js").FrameTiming | null,
   *          onStop?: () => void, onError?: (e: Error) => void, onFrame?: (() => void) | null}} options
   */
  constructor({ game, renderer, inputs, devices = null, recording = null, stopAt = null, fast = false,
    timing = null, onStop = () => {}, onError = (e) => { throw e; }, onFrame = null }) {
    this.onFrame = onFrame;
    this.timing = timing;
    this.game = game;
    this.renderer = renderer;
    this.inputs = inputs;
    this.devices = devices;
    this.recording = recording;
    this.stopAt = stopAt;
    this.fast = fast;
    this.onStop = onStop;
    this.onError = onError;
    this.dt = 1000 / game.tickRate;
    /** @type {string} one of LoopState */
    this.state = LoopState.IDLE;
    /** @type {Error | null} the error that failed it (LoopState.FAILED), or null */
    this.failure = null;
    this.lag = 0;
    this.last = null;
    this.onVisible = () => { this.last = null; };
    // a game worker (game-worker.js) has no document: its animation frames stop with the page's
    this.page = typeof document === "undefined" ? null : document;
    if (this.page) this.page.addEventListener("visibilitychange", this.onVisible);
  }

  start() {
    if (this.state !== LoopState.IDLE) throw new Error(`a ${this.state} loop cannot start`);
    this.state = LoopState.RUNNING;
    this.request = requestAnimationFrame((now) => this.frame(now));
  }

  get done() {
    return this.stopAt !== null && this.game.tickCount >= this.stopAt;
  }

  /** Apply this tick's recorded changes, then advance one tick; false while an asset holds it. */
  step() {
    if (this.done || this.game.blocked()) return false;
    if (this.recording) this.recording.apply(this.inputs, this.game.tickCount);
    this.game.tick(this.inputs);
    return true;
  }

  frame(now) {
    if (this.state !== LoopState.RUNNING) return;
    try {
      if (this.devices && !this.recording) this.devices.poll(this.inputs);
      const t0 = performance.now();
      const sound0 = this.game.soundMs || 0;
      if (this.fast) {
        const until = performance.now() + FAST_BUDGET_MS;
        while (performance.now() < until && this.step());
      } else {
        this.lag = this.last === null ? 0 : Math.min(this.lag + now - this.last, MAX_CATCH_UP * this.dt);
        this.last = now;
        while (this.lag >= this.dt && this.step()) this.lag -= this.dt;
        if (this.done || this.game.blocked()) this.lag = Math.min(this.lag, this.dt);
      }
      const t1 = performance.now();
      for (const [handle, image] of this.game.takeNewTextures()) this.renderer.setTexture(handle, image);
      const commands = this.game.render();
      const t2 = performance.now();
      this.renderer.draw(commands);
      if (this.timing) {
        const sound = (this.game.soundMs || 0) - sound0;
        this.timing.frame({ tick: t1 - t0 - sound, sound, render: t2 - t1, present: performance.now() - t2 });
      }
      if (this.onFrame) this.onFrame();
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.stop(LoopState.FAILED);
      this.onError(e);
      return;
    }
    if (this.done) {
      this.stop(LoopState.STOPPED);
      this.onStop();
      return;
    }
    this.request = requestAnimationFrame((t) => this.frame(t));
  }

  /** @param {string} [state] LoopState.STOPPED or LoopState.FAILED */
  stop(state = LoopState.STOPPED) {
    if (this.request) cancelAnimationFrame(this.request);
    this.state = state;
    if (this.page) this.page.removeEventListener("visibilitychange", this.onVisible);
  }
}
