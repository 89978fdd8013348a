// Speaker: the game's mix on the page's audio output (the browser's layerw/play/speaker.py).
//
// An AudioWorklet (speaker-worklet.js) plays what the game mixed; every animation frame the speaker
// takes the game's new samples (game.takeSamples()) and hands them over: through a SharedArrayBuffer
// ring when the page is cross-origin isolated (`layerw serve` sends COOP/COEP on /play pages),
// in posted chunks otherwise. It never lets the worklet's backlog pass `latencyMs`: older frames
// are dropped and counted, so a catch-up (a join's fast-forward, a slow frame) is not heard as a
// burst; and a backlog that stayed above half of that for a whole second (left by a burst) is
// trimmed back to it, so the latency does not stay at its ceiling. While the tab is hidden the context is suspended and the mix is dropped (counted), so
// coming back plays the present, not what was missed. Until the autoplay policy lets the context
// run (the first click, tap or key), the mix is dropped (counted as `waited`) and `onGesture(true)`
// asks the page to say "click or tap for sound". Volume 0..1; muted keeps the volume.

import { CHANNELS, SAMPLE_RATE } from "./abi.js";
import { SoundError } from "./errors.js";

export const DEFAULT_LATENCY_MS = 100;
const RING_HEADER_BYTES = 8; // speaker-worklet.js: Int32 [write, read]
const RING_SLACK_FRAMES = 4096;
const GESTURES = ["pointerdown", "keydown", "touchend"];
const TRIM_WINDOW_MS = 1000;
const GESTURE_GRACE_MS = 300; // a context starts suspended for a moment even where no gesture is needed

export class Speaker {
  /**
   * Open the page's audio output for `game` (anything with takeSamples(): Int16Array).
   * @param {{takeSamples: () => Int16Array}} game
   * @param {{latencyMs?: number, volume?: number, muted?: boolean, tap?: boolean,
   *          onGesture?: (needed: boolean) => void}} [options]
   * @returns {Promise<Speaker>}
   */
  static async open(game, { latencyMs = DEFAULT_LATENCY_MS, volume = 1, muted = false, tap = false, onGesture = () => {} } = {}) {
    if (typeof AudioWorkletNode !== "function") throw new SoundError("this browser has no AudioWorklet: the game plays without sound");
    if (!(latencyMs >= 10 && latencyMs <= 2000)) throw new RangeError(`audio latency ${latencyMs} ms is outside 10..2000`);
    const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: "interactive" });
    try {
      await context.audioWorklet.addModule(new URL("./speaker-worklet.js", import.meta.url));
      const maxFrames = Math.round((latencyMs * SAMPLE_RATE) / 1000);
      const capacity = maxFrames + RING_SLACK_FRAMES;
      const shared = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
      const ring = shared ? new SharedArrayBuffer(RING_HEADER_BYTES + capacity * CHANNELS * 2) : null;
      const node = new AudioWorkletNode(context, "layerw-speaker", {
        numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [CHANNELS],
        processorOptions: { ring, capacity, volume: muted ? 0 : volume, tap },
      });
      node.connect(context.destination);
      return new Speaker({ game, context, node, ring, capacity, maxFrames, volume, muted, tap, onGesture });
    } catch (e) {
      context.close();
      throw e;
    }
  }

  /** Use Speaker.open(). */
  constructor({ game, context, node, ring, capacity, maxFrames, volume, muted, tap, onGesture }) {
    this.game = game;
    this.context = /** @type {AudioContext} */ (context);
    this.node = /** @type {AudioWorkletNode} */ (node);
    this.mode = ring ? "ring" : "messages";
    /** @type {Int32Array | null} */
    this.control = ring ? new Int32Array(ring, 0, 2) : null;
    /** @type {Int16Array | null} */
    this.ring = ring ? new Int16Array(ring, RING_HEADER_BYTES, capacity * CHANNELS) : null;
    this.capacity = capacity;
    this.maxFrames = maxFrames;
    this.volume = volume;
    this.muted = muted;
    this.onGesture = onGesture;
    this.taken = 0; // frames taken from the game
    this.written = 0; // frames handed to the worklet
    this.dropped = 0; // frames dropped after the first was written (backlog, hidden tab, suspended)
    this.waited = 0; // frames dropped before the first was written (waiting for a gesture)
    this.firstPosition = null; // the mix's frame index of the first frame written
    this.stale = false; // the tab was hidden: what the game mixed meanwhile is not played
    this.targetFrames = Math.floor(maxFrames / 2); // where a lasting backlog is trimmed back to
    this.lowest = Infinity; // the smallest backlog seen in this trim window
    this.windowStart = performance.now();
    this.excess = 0; // frames still to trim
    /** @type {{consumed: number, underruns: number, inAudible: number, outAudible: number, queued: number}} */
    this.worklet = { consumed: 0, underruns: 0, inAudible: 0, outAudible: 0, queued: 0 };
    /** @type {((samples: Int16Array[]) => void) | null} */
    this.tapWaiter = null;
    /** @type {Int16Array[] | null} with `tap`: every frame taken from the game (kept()) */
    this.taps = tap ? [] : null;
    this.node.port.onmessage = (event) => this.message(event.data);
    this.resume = () => this.start();
    this.onVisibility = () => this.visibility();
    for (const name of GESTURES) addEventListener(name, this.resume, true);
    document.addEventListener("visibilitychange", this.onVisibility);
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.graceTimer = null;
    this.context.onstatechange = () => this.showGesture();
    this.showGesture();
    this.start(); // where the policy allows it, no gesture is needed
    this.request = requestAnimationFrame(() => this.pump());
  }

  /** True while the context waits for a gesture to run (not while the tab is merely hidden). */
  get needsGesture() {
    return this.context.state === "suspended" && !document.hidden;
  }

  /** Tell the page whether a gesture is needed: at once when not, after a grace period when so. */
  showGesture() {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    if (!this.needsGesture) {
      this.onGesture(false);
      return;
    }
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      this.onGesture(this.needsGesture);
    }, GESTURE_GRACE_MS);
  }

  /** Start (or resume) the context: the autoplay policy allows it within a gesture. */
  start() {
    if (this.context.state === "suspended" && !document.hidden) this.context.resume().catch(() => {});
  }

  message(data) {
    if (data.type === "stats") {
      this.worklet = data;
    } else if (data.type === "tap" && this.tapWaiter) {
      this.tapWaiter(data.samples);
      this.tapWaiter = null;
    }
  }

  visibility() {
    if (document.hidden) {
      this.stale = true;
      if (this.context.state === "running") this.context.suspend().catch(() => {});
    } else {
      this.start();
    }
  }

  /** Frames handed to the worklet and not played yet (from its last report when there is no ring). */
  get buffered() {
    if (this.control) return (Atomics.load(this.control, 0) - Atomics.load(this.control, 1)) | 0;
    return Math.max(0, this.written - this.worklet.consumed);
  }

  /** Move the game's new samples to the worklet: the newest that fit the latency, the rest dropped. */
  pump() {
    this.request = requestAnimationFrame(() => this.pump());
    const samples = this.game.takeSamples();
    let frames = samples.length / CHANNELS;
    this.taken += frames;
    if (!frames) return;
    if (this.taps) this.taps.push(samples);
    if (this.context.state !== "running" || document.hidden || this.stale) {
      if (this.firstPosition === null) this.waited += frames;
      else this.dropped += frames;
      this.stale = document.hidden;
      return;
    }
    const buffered = this.buffered;
    this.trimWindow(buffered);
    const keep = Math.min(Math.max(0, this.maxFrames - buffered), Math.max(0, frames - this.excess));
    let part = samples;
    if (frames > keep) {
      part = samples.subarray((frames - keep) * CHANNELS);
      if (this.firstPosition === null) this.waited += frames - keep;
      else this.dropped += frames - keep;
      this.excess = Math.max(0, this.excess - (frames - keep));
      frames = keep;
    }
    if (!frames) return;
    if (this.firstPosition === null) this.firstPosition = this.taken - frames;
    this.write(part, frames);
  }

  /** Track the backlog's low point; a window whose low point stayed above the target sets how many
   *  frames to trim (from the oldest of the next chunks). @param {number} buffered */
  trimWindow(buffered) {
    this.lowest = Math.min(this.lowest, buffered);
    const now = performance.now();
    if (now - this.windowStart < TRIM_WINDOW_MS) return;
    this.excess = Math.max(0, this.lowest - this.targetFrames);
    this.lowest = Infinity;
    this.windowStart = now;
  }

  /** @param {Int16Array} part @param {number} frames */
  write(part, frames) {
    this.written += frames;
    if (!this.control || !this.ring) {
      const copy = part.slice();
      this.node.port.postMessage({ type: "samples", samples: copy }, [copy.buffer]);
      return;
    }
    let write = Atomics.load(this.control, 0);
    for (let i = 0; i < frames; i++, write = (write + 1) | 0) {
      const at = ((write >>> 0) % this.capacity) * CHANNELS;
      this.ring[at] = part[CHANNELS * i];
      this.ring[at + 1] = part[CHANNELS * i + 1];
    }
    Atomics.store(this.control, 0, write);
  }

  /** @param {number} volume 0..1 */
  setVolume(volume) {
    if (!(volume >= 0 && volume <= 1)) throw new RangeError(`volume ${volume} is outside 0..1`);
    this.volume = volume;
    this.sendVolume();
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.muted = muted;
    this.sendVolume();
  }

  sendVolume() {
    this.node.port.postMessage({ type: "volume", volume: this.muted ? 0 : this.volume });
  }

  /** Output latency now, ms: what waits in the worklet plus the context's own. */
  get latencyMs() {
    const context = (this.context.baseLatency || 0) + (this.context.outputLatency || 0);
    return (this.buffered / SAMPLE_RATE) * 1000 + context * 1000;
  }

  get stats() {
    const w = this.worklet;
    return {
      mode: this.mode, state: this.context.state, taken: this.taken, written: this.written, dropped: this.dropped,
      waited: this.waited, firstPosition: this.firstPosition, buffered: this.buffered, maxFrames: this.maxFrames,
      latencyMs: this.latencyMs, consumed: w.consumed, underruns: w.underruns, inAudible: w.inAudible,
      outAudible: w.outAudible, volume: this.volume, muted: this.muted,
    };
  }

  /**
   * Every frame the worklet played so far (when opened with `tap`), from the mix's frame firstPosition.
   * @returns {Promise<Int16Array>}
   */
  tap() {
    return new Promise((resolve) => {
      this.tapWaiter = (parts) => resolve(concat(parts));
      this.node.port.postMessage({ type: "tap" });
    });
  }

  /** @returns {Int16Array} every frame taken from the game (when opened with `tap`), played or not */
  kept() {
    return concat(this.taps || []);
  }

  close() {
    cancelAnimationFrame(this.request);
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    for (const name of GESTURES) removeEventListener(name, this.resume, true);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.node.port.onmessage = null;
    this.node.disconnect();
    this.context.close().catch(() => {});
  }
}

/** @param {Int16Array[]} parts @returns {Int16Array} */
function concat(parts) {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
