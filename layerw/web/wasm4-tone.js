// WASM-4's tone(frequency, duration, volume, flags) in the browser: the call decoded as the cart's
// tone event (layerw/runtime/wasm4/tone.py ToneEvent: what the state hash covers) and as the one
// sound command (header + TONE record) the mixer plays. toneCommand is layerw/tone.py tone_command
// byte for byte (tests/test_tone.py runs both on the same arguments): keep the two in step.

import { Q16, SAMPLE_RATE, SOUND_OPS, STRUCTS, WAVES } from "./abi.js";

const HEADER = STRUCTS.lw_snd;
const TONE = STRUCTS.lw_tone_rec;
export const COMMAND_SIZE = HEADER.size + TONE.size;
const CHANNEL_WAVES = [WAVES.PULSE, WAVES.PULSE, WAVES.TRIANGLE, WAVES.NOISE];
const DUTIES = [Q16 / 8, Q16 / 4, Q16 / 2, Q16 * 3 / 4];
const PANS = [0, -Q16, Q16, 0];
const CHANNEL_SCALE = 4; // four channels at full volume never clip
const LN2 = 0.6931471805599453;
const SERIES_TERMS = 20;
const U32 = 0xffffffff;

/**
 * @typedef {object} ToneEvent one tone() call (layerw/runtime/wasm4/tone.py ToneEvent's fields)
 * @property {number} tick
 * @property {number} channel
 * @property {number} freqStart
 * @property {number} freqEnd
 * @property {number} attack
 * @property {number} decay
 * @property {number} sustain
 * @property {number} release
 * @property {number} volume
 * @property {number} peak
 * @property {number} duty
 * @property {number} pan
 * @property {number} noteMode
 */

/** The fields of a ToneEvent in the order the state hash takes them. */
export const TONE_FIELDS = /** @type {const} */ (["tick", "channel", "freqStart", "freqEnd", "attack", "decay", "sustain",
  "release", "volume", "peak", "duty", "pan", "noteMode"]);

/**
 * The event of `tone(frequency, duration, volume, flags)` (u32 arguments) at `tick`.
 * @param {number} tick @param {number} frequency @param {number} duration @param {number} volume @param {number} flags
 * @returns {ToneEvent}
 */
export function decodeTone(tick, frequency, duration, volume, flags) {
  const peak = (volume >>> 8) & 0xff;
  return {
    tick, channel: flags & 3, freqStart: frequency & 0xffff, freqEnd: frequency >>> 16,
    attack: duration >>> 24, decay: (duration >>> 16) & 0xff, sustain: duration & 0xff, release: (duration >>> 8) & 0xff,
    volume: volume & 0xff, peak: peak || 100, duty: (flags >>> 2) & 3, pan: (flags >>> 4) & 3, noteMode: (flags >>> 6) & 1,
  };
}

/**
 * The u32 arguments an event decodes from (ToneEvent.args).
 * @param {ToneEvent} t
 * @returns {[number, number, number, number]}
 */
export function toneArgs(t) {
  return [(t.freqStart | t.freqEnd << 16) >>> 0, (t.attack << 24 | t.decay << 16 | t.release << 8 | t.sustain) >>> 0,
    (t.peak << 8 | t.volume) >>> 0, (t.channel | t.duty << 2 | t.pan << 4 | t.noteMode << 6) >>> 0];
}

/** 2 ** fraction for 0 <= fraction < 1, by tone.py's series (+, *, / only: the same bits). @param {number} fraction */
function exp2(fraction) {
  const x = fraction * LN2;
  let s = 1.0;
  for (let n = SERIES_TERMS; n > 0; n--) s = 1 + x / n * s;
  return s;
}

/** A 16-bit WASM-4 frequency as Q16.16 Hz (tone.py _hz). @param {number} value @param {boolean} note */
function hz(value, note) {
  if (!note) return value * Q16;
  const steps = (value & 0xff) * 256 + (value >>> 8) - 69 * 256;
  const octaves = Math.floor(steps / (12 * 256));
  const step = steps - octaves * 12 * 256;
  const a4 = 440 * Q16 * (octaves >= 0 ? 2 ** octaves : 1 / 2 ** -octaves); // exact: a power of two
  return Math.min(Math.floor(a4 * exp2(step / (12 * 256)) + 0.5), U32);
}

/**
 * The sound command (header + TONE record) that plays WASM-4's tone with these arguments.
 * @param {number} frequency @param {number} duration @param {number} volume @param {number} flags
 * @param {number} [tickRate]
 * @returns {Uint8Array}
 */
export function toneCommand(frequency, duration, volume, flags, tickRate = 60) {
  [frequency, duration, volume, flags] = [frequency, duration, volume, flags].map((v) => v >>> 0);
  const channel = flags & 3;
  const note = (flags & 0x40) !== 0;
  const start = frequency & 0xffff;
  const end = frequency >>> 16;
  const perTick = Math.floor(SAMPLE_RATE / tickRate);
  /** @param {number} percent */
  const q16 = (percent) => Math.floor(Math.floor(Math.min(percent, 100) * Q16 / 100) / CHANNEL_SCALE);
  const out = new Uint8Array(COMMAND_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(/** @type {number} */ (HEADER.fields.op[0]), SOUND_OPS.TONE.code, true);
  view.setUint32(/** @type {number} */ (HEADER.fields.voice[0]), channel, true);
  const record = {
    wave: CHANNEL_WAVES[channel], duty: DUTIES[(flags >>> 2) & 3], freq_start: hz(start, note), freq_end: hz(end || start, note),
    attack: (duration >>> 24) * perTick, decay: ((duration >>> 16) & 0xff) * perTick, sustain: (duration & 0xff) * perTick,
    release: ((duration >>> 8) & 0xff) * perTick, peak: q16((volume >>> 8) & 0xff || 100), level: q16(volume & 0xff),
    pan: PANS[(flags >>> 4) & 3],
  };
  for (const [name, value] of Object.entries(record)) {
    const [at, type] = /** @type {[number, string, number]} */ (TONE.fields[name]);
    if (type === "i32") view.setInt32(HEADER.size + at, value, true);
    else view.setUint32(HEADER.size + at, value, true);
  }
  return out;
}
