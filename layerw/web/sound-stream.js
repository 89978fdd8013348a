// SoundStream: the bytes of a streamed sound asset ([assets] stream) as they arrive, in any order
// of parts, and how many of them from the start are in (`received`). The asset is a canonical WAV
// (48 kHz stereo s16 after a 44-byte header, audio.js decodeSound), so its frame count is known
// from the header alone and frame i is in once 44 + 4 (i + 1) bytes are: the mixer plays it while
// the rest arrives (audio.js), and the game host holds a tick back until the frames its mix needs
// are in, so the samples never depend on when parts arrive.

import { SoundError } from "./errors.js";

export const WAV_HEADER = 44;

export class SoundStream {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {Uint8Array | null} */
    this.bytes = null;
    this.received = 0; // bytes in from the start
    /** @type {Map<number, number>} parts in beyond `received`: offset -> end */
    this.ahead = new Map();
    this.done = false;
    /** @type {Error | null} */
    this.error = null;
    this.startedAt = performance.now();
    /** @type {number | null} ms from the start until the header and first frames were in */
    this.firstMs = null;
  }

  /** The asset is `size` bytes. @param {number} size */
  begin(size) {
    if (this.bytes) throw new SoundError(`sound stream '${this.name}' began twice`);
    this.bytes = new Uint8Array(size);
  }

  /** Bytes [offset, offset + data.length) arrived. @param {number} offset @param {Uint8Array} data */
  part(offset, data) {
    if (!this.bytes || offset < 0 || offset + data.length > this.bytes.length) {
      throw new SoundError(`sound stream '${this.name}': a part at ${offset} (${data.length} bytes) lies outside the asset`);
    }
    this.bytes.set(data, offset);
    this.ahead.set(offset, offset + data.length);
    while (this.ahead.has(this.received)) {
      const end = /** @type {number} */ (this.ahead.get(this.received));
      this.ahead.delete(this.received);
      this.received = end;
    }
    if (this.firstMs === null && this.received > WAV_HEADER) this.firstMs = performance.now() - this.startedAt;
  }

  finish() {
    if (!this.bytes || this.received !== this.bytes.length) {
      throw new SoundError(`sound stream '${this.name}' ended with ${this.received} of ${this.bytes ? this.bytes.length : "?"} bytes`);
    }
    this.done = true;
  }

  /** @param {Error} error */
  fail(error) {
    this.error = error;
  }

  /** True once the header is in (or the stream failed): the mixer can be given the sound. */
  get started() {
    return this.received >= WAV_HEADER || this.error !== null;
  }

  /** Frames in from the start. */
  get framesIn() {
    return Math.max(0, Math.floor((this.received - WAV_HEADER) / 4));
  }
}
