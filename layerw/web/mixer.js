// Mixer: the one sound mixer (mixer.wasm, built from layerw/toolchain/runtime/lw_mixer.c), the same
// module the native host runs on wasmtime (layerw/runtime/mixer.py), so both mix the same samples.
// A tick's sound block in, that tick's stereo s16 frames out; its voices are snapshot state; it
// keeps a SHA-256 of every sample it mixed (the audio hash), computed inside the module.

import { MAX_SOUNDS, MAX_SOUND_BYTES, SOUND_CAPACITY } from "./abi.js";
import { ProtocolError, SoundError } from "./errors.js";

const PCM_QUEUE_BYTES = 12000 * 4; // abi.PCM_QUEUE_FRAMES stereo s16 frames
export const COUNTERS = ["bad_commands", "bad_handles", "pcm_dropped", "voices_stolen", "voices_on"];

/** @type {Promise<WebAssembly.Module> | null} */
let compiled = null;

/**
 * @typedef {object} MixerExports
 * @property {WebAssembly.Memory} memory
 * @property {(tickRate: number) => number} mx_init
 * @property {() => number} mx_block
 * @property {() => number} mx_out
 * @property {() => number} mx_state
 * @property {() => number} mx_state_size
 * @property {() => number} mx_state_used
 * @property {(which: number) => number} mx_counter
 * @property {(handle: number, frames: number) => number} mx_sound_alloc
 * @property {(len: number) => number} mx_mix
 * @property {(tickRate: number) => number} mx_check_state
 * @property {() => number} mx_digest
 * @property {() => void} mx_hash_out
 * @property {() => void} mx_hash_reset
 * @property {(handle: number) => number} mx_stream_need
 */

export class Mixer {
  /**
   * The mixer module, fetched and compiled once per page.
   * @returns {Promise<WebAssembly.Module>}
   */
  static compile() {
    if (!compiled) {
      compiled = fetch(new URL("./mixer.wasm", import.meta.url)).then(async (response) => {
        if (!response.ok) throw new SoundError(`the mixer (mixer.wasm) did not load: HTTP ${response.status}`);
        return WebAssembly.compile(await response.arrayBuffer());
      });
    }
    return compiled;
  }

  /**
   * @param {WebAssembly.Module} module from Mixer.compile()
   * @param {number} tickRate
   */
  constructor(module, tickRate) {
    this.tickRate = tickRate;
    const instance = new WebAssembly.Instance(module, {});
    this.x = /** @type {MixerExports} */ (/** @type {unknown} */ (instance.exports));
    this.reset();
    this.blockPtr = this.x.mx_block();
    this.outPtr = this.x.mx_out();
    this.statePtr = this.x.mx_state();
    this.stateSize = this.x.mx_state_size();
    this.stateMin = this.stateSize - PCM_QUEUE_BYTES;
  }

  /** @returns {Uint8Array} all of the mixer's memory (a fresh view: memory may have grown) */
  get bytes() {
    return new Uint8Array(this.x.memory.buffer);
  }

  /** Silence: no voices, no sounds registered, the hash restarted. */
  reset() {
    if (this.x.mx_init(this.tickRate) !== 0) throw new RangeError(`the mixer refuses tick rate ${this.tickRate}`);
  }

  /**
   * Register `pcm` (interleaved stereo s16 LE bytes) as the sound of asset `handle`.
   * @param {number} handle
   * @param {Uint8Array} pcm
   */
  addSound(handle, pcm) {
    const ptr = this.x.mx_sound_alloc(handle, pcm.length >>> 2) >>> 0;
    if (ptr === 0) {
      throw new SoundError(`the mixer cannot hold sound ${handle} (${pcm.length >>> 2} frames): a handle above `
        + `${MAX_SOUNDS - 1}, or the game's sounds exceed ${MAX_SOUND_BYTES} bytes`);
    }
    this.bytes.set(pcm, ptr);
  }

  /**
   * Room for streamed sound `handle`'s `frames` frames, filled by write() as they arrive; its address.
   * @param {number} handle
   * @param {number} frames
   * @returns {number}
   */
  addStream(handle, frames) {
    const ptr = this.x.mx_sound_alloc(handle, frames) >>> 0;
    if (ptr === 0) {
      throw new SoundError(`the mixer cannot hold sound ${handle} (${frames} frames): a handle above `
        + `${MAX_SOUNDS - 1}, or the game's sounds exceed ${MAX_SOUND_BYTES} bytes`);
    }
    return ptr;
  }

  /** @param {number} ptr @param {Uint8Array} bytes */
  write(ptr, bytes) {
    this.bytes.set(bytes, ptr);
  }

  /** How many of streamed sound `handle`'s first frames the next tick's mix may read. @param {number} handle */
  streamNeed(handle) {
    return this.x.mx_stream_need(handle) >>> 0;
  }

  /**
   * Apply one tick's sound block; that tick's samples (interleaved s16, a copy).
   * @param {Uint8Array} block
   * @returns {Int16Array}
   */
  mix(block) {
    const n = Math.min(block.length, SOUND_CAPACITY);
    this.bytes.set(block.subarray(0, n), this.blockPtr);
    const frames = this.x.mx_mix(n);
    this.x.mx_hash_out();
    return new Int16Array(this.x.memory.buffer.slice(this.outPtr, this.outPtr + frames * 4));
  }

  /**
   * One tick of what the voices playing now would play next with no new commands, unhashed (before a
   * restore replaces the mixer's state: what a rollback fades from).
   * @returns {Int16Array}
   */
  peek() {
    const frames = this.x.mx_mix(0);
    return new Int16Array(this.x.memory.buffer.slice(this.outPtr, this.outPtr + frames * 4));
  }

  /** @returns {Record<string, number>} */
  counters() {
    return Object.fromEntries(COUNTERS.map((name, i) => [name, this.x.mx_counter(i) >>> 0]));
  }

  /** @returns {Uint8Array} the voices and the PCM still queued (the state's used part), a copy */
  state() {
    return this.bytes.slice(this.statePtr, this.statePtr + this.x.mx_state_used());
  }

  /** Restart the audio hash (a restore in place: the hash counts from the restored tick, as after reset). */
  restartHash() {
    this.x.mx_hash_reset();
  }

  /**
   * Continue from `data` (from state(), here or natively); a state of another size, tick rate or out
   * of range throws ProtocolError and changes nothing.
   * @param {Uint8Array} data
   */
  setState(data) {
    if (!(data.length >= this.stateMin && data.length <= this.stateSize)) {
      throw new ProtocolError(`mixer state is ${data.length} bytes, this mixer's is ${this.stateMin}..${this.stateSize}`);
    }
    const before = this.bytes.slice(this.statePtr, this.statePtr + this.stateSize);
    const full = new Uint8Array(this.stateSize);
    full.set(data);
    this.bytes.set(full, this.statePtr);
    if (this.x.mx_check_state(this.tickRate) !== 0) {
      this.bytes.set(before, this.statePtr);
      throw new ProtocolError("mixer state in the snapshot is corrupt or of another tick rate");
    }
  }

  /** @returns {Uint8Array} SHA-256 of every sample mixed since the last reset */
  digest() {
    return this.bytes.slice(this.x.mx_digest(), this.x.mx_digest() + 32);
  }
}
