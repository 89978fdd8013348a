// The speaker's AudioWorklet (loaded by speaker.js into the page's AudioContext): plays the game's mix,
// stereo s16 frames at the context's rate (48 kHz, abi SAMPLE_RATE), fed by the page either through
// a SharedArrayBuffer ring (the page is cross-origin isolated) or in posted chunks. It never waits:
// when nothing is buffered it plays silence and counts the missing frames as underruns. Volume (0
// mutes) is applied here, ramped over one render quantum so a change does not click. Every
// STATS_EVERY quanta it posts its counters back; with `tap` on it also keeps every frame it plays
// (before the volume) for the page to compare with the mix.
//
// Ring layout (SharedArrayBuffer): Int32 [write, read] frame counters (wrapping), then `capacity`
// stereo s16 frames. The page writes and advances `write`; this worklet reads and advances `read`.

const STATS_EVERY = 4; // quanta (about 11 ms at 48 kHz)
const WRITE = 0;
const READ = 1;
const RING_HEADER_BYTES = 8; // speaker.js's RING_HEADER_BYTES

// the AudioWorkletGlobalScope's names, typed for tsc (whose libs know only window scopes)
const scope = /** @type {any} */ (globalThis);
const Processor = /** @type {{new(): {port: MessagePort}}} */ (scope.AudioWorkletProcessor);

class SpeakerProcessor extends Processor {
  /** @param {{processorOptions?: {ring?: SharedArrayBuffer | null, capacity?: number, volume?: number, tap?: boolean}}} options */
  constructor(options) {
    super();
    const { ring = null, capacity = 0, volume = 1, tap = false } = options.processorOptions || {};
    /** @type {Int32Array | null} */
    this.control = ring ? new Int32Array(ring, 0, 2) : null;
    /** @type {Int16Array | null} */
    this.ring = ring ? new Int16Array(ring, RING_HEADER_BYTES, capacity * 2) : null;
    this.capacity = capacity;
    /** @type {Int16Array[]} chunks posted by the page (when there is no ring) */
    this.queue = [];
    this.queueAt = 0; // frames of queue[0] already played
    this.queued = 0;
    this.volume = volume;
    this.gain = volume;
    this.consumed = 0;
    this.underruns = 0;
    this.inAudible = 0;
    this.outAudible = 0;
    this.quanta = 0;
    /** @type {Int16Array[] | null} */
    this.tapped = tap ? [] : null;
    this.port.onmessage = (event) => this.message(event.data);
  }

  message(data) {
    if (data.type === "samples") {
      this.queue.push(data.samples);
      this.queued += data.samples.length >> 1;
    } else if (data.type === "volume") {
      this.volume = data.volume;
    } else if (data.type === "tap") {
      this.port.postMessage({ type: "tap", samples: this.tapped ? this.tapped : [] });
    }
  }

  /** Copy up to `frames` frames into `out` (interleaved); returns how many. */
  take(out, frames) {
    let n = 0;
    if (this.ring && this.control) {
      const write = Atomics.load(this.control, WRITE);
      let read = Atomics.load(this.control, READ);
      n = Math.min(frames, (write - read) | 0);
      for (let i = 0; i < n; i++, read = (read + 1) | 0) {
        const at = ((read >>> 0) % this.capacity) * 2;
        out[2 * i] = this.ring[at];
        out[2 * i + 1] = this.ring[at + 1];
      }
      Atomics.store(this.control, READ, read);
      return n;
    }
    while (n < frames && this.queue.length) {
      const head = this.queue[0];
      const k = Math.min(frames - n, (head.length >> 1) - this.queueAt);
      out.set(head.subarray(this.queueAt * 2, (this.queueAt + k) * 2), n * 2);
      n += k;
      this.queueAt += k;
      if (this.queueAt * 2 >= head.length) {
        this.queue.shift();
        this.queueAt = 0;
      }
    }
    this.queued -= n;
    return n;
  }

  process(inputs, outputs) {
    const [left, right] = outputs[0];
    const frames = left.length;
    const pcm = new Int16Array(frames * 2);
    const n = this.take(pcm, frames);
    this.consumed += n;
    if (this.consumed) this.underruns += frames - n; // silence before the first sample is no underrun
    const from = this.gain;
    const to = this.volume;
    let heard = false;
    let audible = false;
    for (let i = 0; i < frames; i++) {
      const g = (from + ((to - from) * (i + 1)) / frames) / 32768;
      const l = pcm[2 * i];
      const r = pcm[2 * i + 1];
      left[i] = l * g;
      if (right) right[i] = r * g;
      if (l || r) {
        heard = true;
        if (g) audible = true;
      }
    }
    this.gain = to;
    if (heard) this.inAudible += n;
    if (audible) this.outAudible += n;
    if (this.tapped && n) this.tapped.push(pcm.slice(0, n * 2));
    if (++this.quanta % STATS_EVERY === 0) this.postStats();
    return true;
  }

  postStats() {
    this.port.postMessage({
      type: "stats", consumed: this.consumed, underruns: this.underruns, inAudible: this.inAudible,
      outAudible: this.outAudible, queued: this.ring ? 0 : this.queued,
    });
  }
}

scope.registerProcessor("layerw-speaker", SpeakerProcessor);
