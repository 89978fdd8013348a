// SampleQueue: the sound a game worker mixed (game-worker.js posts it each frame), queued on the page
// until its speaker takes it (speaker.js calls game.takeSamples()); at most two seconds, as the game's
// own Audio keeps, the oldest dropped first.

import { SAMPLE_RATE } from "./abi.js";

const MAX_QUEUED_SAMPLES = 2 * 2 * SAMPLE_RATE; // two seconds of interleaved stereo

export class SampleQueue {
  constructor() {
    /** @type {Int16Array[]} */
    this.parts = [];
    this.length = 0;
  }

  /** @param {Int16Array} samples */
  push(samples) {
    this.parts.push(samples);
    this.length += samples.length;
    while (this.length > MAX_QUEUED_SAMPLES && this.parts.length > 1) this.length -= /** @type {Int16Array} */ (this.parts.shift()).length;
  }

  /** @returns {Int16Array} */
  takeSamples() {
    const out = new Int16Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    this.parts = [];
    this.length = 0;
    return out;
  }
}
