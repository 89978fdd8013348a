// Audio: a game's sound on the browser's host side (mirrors layerw/runtime/audio.py). After each tick
// the game host hands it the tick's sound block and the sound assets that became ready; it registers
// those with the Mixer, mixes the block into exactly that tick's samples and keeps them for whoever
// plays them (takeSamples, at most MAX_PENDING_FRAMES: older ones are dropped). The audio hash is
// the mixer's running SHA-256, equal to the native host's for the same build, seed and inputs.
// A streamed sound (sound-stream.js) is given to the mixer once its header is in and its frames
// are copied in as they arrive; `starved` says when the next tick's mix would need frames not in
// yet, so the game host holds that tick back (a stall, counted) instead of mixing other samples.

import { SAMPLE_RATE } from "./abi.js";
import { LayerWError, ProtocolError, SoundError } from "./errors.js";
import { Mixer } from "./mixer.js";
import { WAV_HEADER as STREAM_HEADER } from "./sound-stream.js";

export const MAX_PENDING_FRAMES = 2 * SAMPLE_RATE;
export const FADE_FRAMES = Math.floor(SAMPLE_RATE / 200); // 5 ms: a rollback's or heal's cross-fade (layerw/runtime/audio.py)

/**
 * `next` (stereo s16) with its first frames faded in from `old` (as many frames, at most FADE_FRAMES):
 * frame i is floor((old * (N - i) + next * i) / N), N = FADE_FRAMES, as natively (cross_fade), so a
 * voice only in `old` ramps to zero and one in both plays on unchanged.
 * @param {Int16Array} old
 * @param {Int16Array} next
 * @returns {Int16Array}
 */
export function crossFade(old, next) {
  const n = Math.min(old.length, next.length) >> 1;
  const out = next.slice();
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      const k = 2 * i + c;
      out[k] = Math.floor((old[k] * (FADE_FRAMES - i) + next[k] * i) / FADE_FRAMES);
    }
  }
  return out;
}
const SOUND_SUFFIXES = [".wav", ".ogg"];
const WAV_HEADER = 44;

/**
 * @param {string} name
 * @returns {boolean}
 */
export function isSound(name) {
  const lower = name.toLowerCase();
  return SOUND_SUFFIXES.some((s) => lower.endsWith(s));
}

/**
 * The PCM bytes of a canonical sound asset (layerw/pcm.py: a 48 kHz stereo s16 WAV, 44-byte header).
 * @param {string} name
 * @param {Uint8Array} data
 * @returns {Uint8Array}
 */
export function decodeSound(name, data) {
  if (data.length < WAV_HEADER) throw new SoundError(`sound asset '${name}' is truncated (${data.length} bytes): rebuild it with \`layerw build\``);
  const v = new DataView(data.buffer, data.byteOffset, data.length);
  const tag = (at) => String.fromCharCode(...data.subarray(at, at + 4));
  const size = v.getUint32(40, true);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(12) !== "fmt " || tag(36) !== "data" || v.getUint32(16, true) !== 16
      || v.getUint16(20, true) !== 1 || v.getUint16(22, true) !== 2 || v.getUint32(24, true) !== SAMPLE_RATE
      || v.getUint32(28, true) !== SAMPLE_RATE * 4 || v.getUint16(32, true) !== 4 || v.getUint16(34, true) !== 16) {
    throw new SoundError(`sound asset '${name}' is not in the canonical form (48 kHz stereo s16 WAV): rebuild it with \`layerw build\``);
  }
  if (v.getUint32(4, true) !== 36 + size || data.length !== WAV_HEADER + size || size % 4 || size === 0) {
    throw new SoundError(`sound asset '${name}' holds ${data.length - WAV_HEADER} data bytes, its header says ${size}`);
  }
  return data.subarray(WAV_HEADER);
}

/**
 * The frame count a canonical sound asset's header gives (the header alone, as a stream starts).
 * @param {string} name
 * @param {Uint8Array} header its first 44 bytes (or more)
 * @param {number} size the asset's byte size
 * @returns {number}
 */
export function streamFrames(name, header, size) {
  const probe = new Uint8Array(WAV_HEADER + 4);
  probe.set(header.subarray(0, WAV_HEADER));
  const v = new DataView(probe.buffer);
  const data = v.getUint32(40, true);
  if (data !== size - WAV_HEADER) throw new SoundError(`sound asset '${name}' is ${size} bytes, its header says ${data} data bytes`);
  v.setUint32(40, 4, true);
  v.setUint32(4, 40, true);
  decodeSound(name, probe); // the same header checks as a whole asset
  return data / 4;
}

/** A streamed sound the mixer holds: its SoundStream and how many frames were copied in. */
class MixerStream {
  /** @param {number} handle @param {import("./sound-stream.js").SoundStream} stream */
  constructor(handle, stream) {
    this.handle = handle;
    this.stream = stream;
    this.ptr = 0; // where its frames live in the mixer's memory (0 until the header is in)
    this.frames = 0;
    this.copied = 0;
    this.failed = false;
  }
}

export class Audio {
  /**
   * @param {string} game
   * @param {WebAssembly.Module} module the mixer (Mixer.compile())
   * @param {number} tickRate
   * @param {(level: string, text: string) => void} log
   */
  constructor(game, module, tickRate, log) {
    this.game = game;
    this.log = log;
    this.mixer = new Mixer(module, tickRate);
    /** @type {Set<number>} */
    this.registered = new Set();
    /** @type {Int16Array[]} */
    this.pending = [];
    this.pendingFrames = 0;
    this.framesMixed = 0;
    this.framesDiscarded = 0;
    this.framesSkipped = 0; // dropped unheard on purpose (a room's fast-forward)
    this.framesResimulated = 0; // mixed again by rollbacks and dropped unheard (rolledBack)
    this.skippedTo = 0; // the mix's frame the last skip dropped up to: what is heard starts there
    /** @type {Int16Array | null} at the last restore: the next FADE_FRAMES frames the voices before it would have played */
    this.playingOn = null;
    /** @type {Int16Array | null} after a rollback or heal: what the next samples mixed fade in from */
    this.fadeFrom = null;
    /** @type {Set<string>} */
    this.reported = new Set();
    /** @type {Map<number, MixerStream>} streamed sounds still arriving */
    this.streams = new Map();
    this.stalls = 0; // ticks held back for a streamed sound's frames
    this.stalled = false;
  }

  /**
   * Give the mixer the sound assets that became ready ([handle, name, bytes, stream]; a streamed
   * sound is given its SoundStream); one that cannot be loaded is logged and stays unplayable, as
   * natively.
   * @param {Array<[number, string, Uint8Array | null, (import("./sound-stream.js").SoundStream | null)?]>} sounds
   */
  register(sounds) {
    for (const [handle, name, data, stream] of sounds) {
      if (this.registered.has(handle) || !isSound(name)) continue;
      this.registered.add(handle);
      if (stream) {
        this.streams.set(handle, new MixerStream(handle, stream));
        continue;
      }
      try {
        if (!data) throw new SoundError(`sound asset '${name}' has no bytes`);
        this.mixer.addSound(handle, decodeSound(name, data));
      } catch (e) {
        if (!(e instanceof LayerWError)) throw e;
        this.log("error", `[${this.game}] sound '${name}' cannot be played: ${e.message}`);
      }
    }
  }

  /**
   * Mix one tick's sound block (`dropped`: commands the game could not fit).
   * @param {Uint8Array} block
   * @param {number} dropped
   */
  mix(block, dropped) {
    if (this.streams.size) this.feed();
    if (dropped) this.reportOnce("dropped", `sound block full: ${dropped} commands dropped this tick`);
    let samples = this.mixer.mix(block);
    if (this.fadeFrom) { // heard only: the hash (taken by the mixer) and its state stay the game's
      samples = crossFade(this.fadeFrom, samples);
      this.fadeFrom = null;
    }
    const frames = samples.length / 2;
    this.framesMixed += frames;
    this.pending.push(samples);
    this.pendingFrames += frames;
    while (this.pendingFrames > MAX_PENDING_FRAMES) { // the oldest frames go (part of a block handed back by rolledBack)
      const old = this.pending[0];
      const drop = Math.min(old.length / 2, this.pendingFrames - MAX_PENDING_FRAMES);
      if (drop === old.length / 2) this.pending.shift();
      else this.pending[0] = old.subarray(drop * 2);
      this.pendingFrames -= drop;
      this.framesDiscarded += drop;
    }
    if (!block.length) return; // the counters change only when commands arrive
    const counters = this.mixer.counters();
    for (const name of ["bad_commands", "bad_handles", "pcm_dropped"]) {
      if (counters[name]) this.reportOnce(name, `mixer: ${counters[name]} ${name.replace("_", " ")} so far`);
    }
  }

  /** Copy the frames of streamed sounds that arrived into the mixer (a sound is given to it once
   *  its header is in; one whose stream failed is logged and stays unplayable). */
  feed() {
    for (const s of this.streams.values()) {
      const { stream } = s;
      if (!s.ptr && !s.failed) {
        if (!stream.started) continue;
        try {
          if (stream.error) throw stream.error;
          s.frames = streamFrames(stream.name, /** @type {Uint8Array} */ (stream.bytes), /** @type {Uint8Array} */ (stream.bytes).length);
          s.ptr = this.mixer.addStream(s.handle, s.frames);
        } catch (e) {
          if (!(e instanceof Error)) throw e;
          s.failed = true;
          this.log("error", `[${this.game}] sound '${stream.name}' cannot be played: ${e.message}`);
        }
      }
      if (s.ptr && stream.bytes) {
        const end = Math.min(stream.framesIn, s.frames);
        if (end > s.copied) {
          this.mixer.write(s.ptr + s.copied * 4, stream.bytes.subarray(STREAM_HEADER + s.copied * 4, STREAM_HEADER + end * 4));
          s.copied = end;
        }
      }
      if (s.failed || (s.ptr && s.copied === s.frames)) this.streams.delete(s.handle);
      else if (stream.error && s.ptr) {
        // its voices would play frames that never came (or wait for ever): the game cannot go on as natively
        throw new SoundError(`${this.game}: streamed sound '${stream.name}' stopped arriving at frame ${s.copied} of `
          + `${s.frames}: ${stream.error.message}; reload the page`);
      }
    }
  }

  /** True while the next tick's mix may need frames of a streamed sound that are not in yet (one
   *  the mixer holds, or one of `due`: given to it at the next tick, whose voices may start then):
   *  the game host holds that tick back (each hold counted once in `stalls`).
   *  @param {import("./sound-stream.js").SoundStream[]} [due] */
  starved(due = []) {
    if (!this.streams.size && !due.length) return false;
    this.feed();
    let short = false;
    for (const s of this.streams.values()) {
      if (s.failed) continue;
      if (!s.ptr || s.copied < this.mixer.streamNeed(s.handle)) short = true;
    }
    for (const stream of due) {
      if (stream.error) continue; // given as it is: logged and unplayable
      const frames = stream.bytes ? (stream.bytes.length - STREAM_HEADER) / 4 : Infinity;
      if (!stream.started || stream.framesIn < Math.min(frames, this.mixer.streamNeed(0))) short = true;
    }
    if (short && !this.stalled) this.stalls++;
    this.stalled = short;
    return short;
  }

  /**
   * @param {string} key
   * @param {string} text
   */
  reportOnce(key, text) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log("warn", `[${this.game}] ${text}`);
  }

  /** @returns {Int16Array} the samples mixed since the last call (interleaved stereo s16) */
  takeSamples() {
    const out = new Int16Array(this.pendingFrames * 2);
    let at = 0;
    for (const part of this.pending) {
      out.set(part, at);
      at += part.length;
    }
    this.pending = [];
    this.pendingFrames = 0;
    return out;
  }

  /** Drop the samples not taken yet, unheard (counted in framesSkipped): a room's fast-forward. Given
   *  `heard` (a heal or a rejoin: the samples taken before its restore, not played yet) those are kept
   *  and, when what plays now differs from what was playing before the restore, the next samples mixed
   *  fade in from the latter, as after a rollback: the old stream ramps into the room's over 5 ms
   *  instead of jumping (a click); as natively (Audio.skip).
   *  @param {Int16Array | null} [heard] */
  skip(heard = null) {
    this.skippedTo = this.framesMixed;
    this.framesSkipped += this.pendingFrames;
    this.pending = heard && heard.length ? [heard] : [];
    this.pendingFrames = heard ? heard.length / 2 : 0;
    this.fadeFrom = heard && this.jumps() ? this.playingOn : null;
    this.playingOn = null;
  }

  /** A rollback resimulated ticks already mixed: drop what they mixed again, unheard (counted in
   *  framesResimulated, not framesMixed: each tick is mixed once for hearing), and hand back `heard`,
   *  the samples the rollback took before it restored, not played yet; the next samples fade in
   *  from what was playing before the restore only when what plays now differs (jumps). */
  rolledBack(heard) {
    this.framesMixed -= this.pendingFrames;
    this.framesResimulated += this.pendingFrames;
    this.pending = heard.length ? [heard] : [];
    this.pendingFrames = heard.length / 2;
    // a voice the rollback took back fades out; one started again plays on; nothing audible changed: no fade
    this.fadeFrom = this.jumps() ? this.playingOn : null;
    this.playingOn = null;
  }

  /** True when the voices now would not play on with exactly what those before the last restore would
   *  have (playingOn): only then would what is heard jump; as natively (Audio._jumps). */
  jumps() {
    const was = this.playingOn;
    if (!was) return false;
    const state = this.mixer.state(); // peeked at, then put back: the game's mix goes on from here
    const now = this.mixer.peek().subarray(0, FADE_FRAMES * 2);
    this.mixer.setState(state);
    return now.length !== was.length || now.some((v, i) => v !== was[i]);
  }

  /** Before a restore: what the voices playing now would play next (the fade a rollback starts from). */
  keepPlayingOn() {
    this.playingOn = this.mixer.peek().subarray(0, FADE_FRAMES * 2);
  }

  /** @returns {Uint8Array} SHA-256 of every sample mixed since the game started or was restored */
  digest() {
    return this.mixer.digest();
  }

  /** @returns {string} the mixer's voices and queued PCM (base64), for a snapshot's host state */
  state() {
    return toBase64(this.mixer.state());
  }

  /**
   * Continue from a snapshot's audio state (undefined: a snapshot without sound, no voice playing)
   * with the ready sounds it had.
   * @param {unknown} state
   * @param {Array<[number, string, Uint8Array | null, (import("./sound-stream.js").SoundStream | null)?]>} sounds
   */
  restore(state, sounds) {
    const data = state !== undefined && state !== null ? decodeState(state) : null;
    this.keepPlayingOn();
    this.mixer.reset();
    this.registered = new Set();
    this.streams = new Map();
    this.register(sounds);
    if (this.streams.size) this.feed();
    if (data) this.mixer.setState(data);
  }

  /**
   * Continue from a snapshot's audio state with the sounds already given to the mixer (an in-place
   * restore whose ready assets did not change): no sound is decoded again.
   * @param {unknown} state
   */
  rewind(state) {
    const data = decodeState(state);
    this.keepPlayingOn();
    this.mixer.setState(data);
    this.mixer.restartHash();
  }
}

/**
 * A snapshot's audio state (base64 of the mixer's) as bytes.
 * @param {unknown} state
 * @returns {Uint8Array}
 */
function decodeState(state) {
  if (typeof state !== "string") throw new ProtocolError("the snapshot's audio state is malformed");
  try {
    if (FROM_BASE64) return FROM_BASE64(state);
    const text = atob(state);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  } catch (e) {
    throw new ProtocolError(`the snapshot's audio state is malformed: ${e.message || e}`);
  }
}

// Every snapshot carries the mixer's state as base64 (a predicting page takes one a tick): the
// built-in codec where the browser has it (Uint8Array.toBase64/fromBase64), else btoa/atob over
// strings built a chunk at a time, not a character at a time.
const FROM_BASE64 = /** @type {any} */ (Uint8Array).fromBase64 || null;
const CHUNK = 0x2000;

/** @param {Uint8Array} bytes @returns {string} */
function toBase64(bytes) {
  const own = /** @type {any} */ (bytes).toBase64;
  if (own) return own.call(bytes);
  let text = "";
  for (let at = 0; at < bytes.length; at += CHUNK) text += String.fromCharCode(...bytes.subarray(at, at + CHUNK));
  return btoa(text);
}
