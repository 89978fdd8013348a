// Input: the packed per-tick input struct (lw_input), and recordings of input changes
// (mirrors layerw/runtime/inputs.py).
//
// `InputState` holds what each player's devices report right now, as the exact bytes of lw_input;
// the game copies them into guest memory before each tick. A recording is JSON Lines, one change
// per line, applied at its tick and held until changed again, after an optional version header
// (the format of `layerw run --inputs`, docs/inputs.md; its fields are RECORDING_FIELDS in abi.js):
//
//   {"layerw_inputs": 1}
//   {"tick": 30, "player": 0, "down": ["KeyW"], "up": ["KeyS"]}
//   {"tick": 31, "player": 1, "pointer": [120.5, 80, 1]}
//   {"tick": 40, "player": 0, "gamepad": 0, "buttons": ["A"], "axes": [0.5, 0, 0, 0, 0, 0]}

import {
  KEYS, MAX_EVENTS, MAX_GAMEPADS, MAX_PLAYERS, MAX_TOUCHES, PAD_BUTTONS, RECORDING_FIELDS, RECORDING_HEADER,
  RECORDING_VERSION, STRUCTS,
} from "./abi.js";
import { InputError } from "./errors.js";

/** @type {(struct: string, field: string) => number} a field's byte offset in its struct */
const at = (struct, field) => /** @type {number} */ (STRUCTS[struct].fields[field][0]);
const INPUT = STRUCTS.lw_input;
const PLAYER = STRUCTS.lw_player;
const POINTER = at("lw_player", "pointer");
const TOUCHES = at("lw_player", "touches");
const GAMEPADS = at("lw_player", "gamepads");
const KEY_WORDS = /** @type {number} */ (PLAYER.fields.keys[2]);
const AXES = /** @type {number} */ (STRUCTS.lw_gamepad.fields.axes[2]);

export const KEY_CODES = new Map(KEYS.map((name, i) => [name, i]));
export const PAD_CODES = new Map(PAD_BUTTONS.map((name, i) => [name, i]));

export class InputState {
  constructor(players = 1) {
    if (!(players >= 1 && players <= MAX_PLAYERS)) {
      throw new InputError(`player count ${players} must be within 1..${MAX_PLAYERS}`);
    }
    this.bytes = new Uint8Array(INPUT.size);
    this.view = new DataView(this.bytes.buffer);
    this.view.setUint32(at("lw_input", "player_count"), players, true);
    for (let p = 0; p < players; p++) this.view.setUint32(this.player(p) + at("lw_player", "connected"), 1, true);
  }

  /** Byte offset of player `p`'s record. */
  player(p) {
    if (!(p >= 0 && p < MAX_PLAYERS)) throw new InputError(`player ${p} out of range 0..${MAX_PLAYERS - 1}`);
    return at("lw_input", "players") + p * PLAYER.size;
  }

  /**
   * Press or release `key` (a KeyboardEvent.code name or an abi key code) for `player`.
   * @param {number} player
   * @param {string | number} key
   * @param {boolean} down
   */
  key(player, key, down) {
    const code = typeof key === "string" ? KEY_CODES.get(key) : key;
    if (code === undefined || !(code >= 0 && code < KEY_WORDS * 32)) {
      throw new InputError(`unknown key '${key}'; keys are KeyboardEvent.code names such as 'KeyW'`);
    }
    const word = this.player(player) + at("lw_player", "keys") + 4 * (code >> 5);
    const bit = (1 << (code & 31)) >>> 0;
    const old = this.view.getUint32(word, true);
    this.view.setUint32(word, down ? (old | bit) >>> 0 : (old & ~bit) >>> 0, true);
  }

  /** Replace player's held keys with `codes` (an iterable of abi key codes), like set_devices. */
  /**
   * @param {number} player
   * @param {Iterable<number>} codes
   */
  setKeys(player, codes) {
    const base = this.player(player) + at("lw_player", "keys");
    const words = new Uint32Array(KEY_WORDS);
    for (const code of codes) if (code > 0 && code < KEY_WORDS * 32) words[code >> 5] |= 1 << (code & 31);
    words.forEach((w, i) => this.view.setUint32(base + 4 * i, w, true));
  }

  /** The pointer, as the native InputState.pointer does it: inside = 1. */
  pointer(player, x, y, buttons = 0, inside = 1) {
    const o = this.player(player) + POINTER;
    this.view.setFloat32(o + at("lw_pointer", "x"), x, true);
    this.view.setFloat32(o + at("lw_pointer", "y"), y, true);
    this.view.setUint32(o + at("lw_pointer", "buttons"), buttons, true);
    this.view.setUint32(o + at("lw_pointer", "inside"), inside, true);
  }

  touch(player, index, id, x, y, active) {
    if (!(index >= 0 && index < MAX_TOUCHES)) throw new InputError(`touch ${index} out of range 0..${MAX_TOUCHES - 1}`);
    const o = this.player(player) + TOUCHES + index * STRUCTS.lw_touch.size;
    this.view.setUint32(o + at("lw_touch", "id"), id, true);
    this.view.setFloat32(o + at("lw_touch", "x"), x, true);
    this.view.setFloat32(o + at("lw_touch", "y"), y, true);
    this.view.setUint32(o + at("lw_touch", "active"), active ? 1 : 0, true);
  }

  /** A gamepad by button names (as in recordings) or a bit mask, and up to 6 axes. */
  /**
   * @param {number} player
   * @param {number} index
   * @param {number | Iterable<string>} buttons a bit mask, or button names
   * @param {Iterable<number>} axes
   * @param {number} [connected]
   */
  gamepad(player, index, buttons, axes, connected = 1) {
    if (!(index >= 0 && index < MAX_GAMEPADS)) throw new InputError(`gamepad ${index} out of range 0..${MAX_GAMEPADS - 1}`);
    let mask = 0;
    if (typeof buttons === "number") {
      mask = buttons;
    } else {
      for (const b of buttons) {
        if (!PAD_CODES.has(b)) throw new InputError(`unknown gamepad button '${b}'; one of ${PAD_BUTTONS.join(", ")}`);
        mask |= 1 << PAD_CODES.get(b);
      }
    }
    const values = [...axes].map(Number);
    if (values.length > AXES) throw new InputError(`a gamepad has at most ${AXES} axes`);
    const o = this.player(player) + GAMEPADS + index * STRUCTS.lw_gamepad.size;
    this.view.setUint32(o + at("lw_gamepad", "connected"), connected, true);
    this.view.setUint32(o + at("lw_gamepad", "buttons"), mask >>> 0, true);
    for (let i = 0; i < AXES; i++) this.view.setFloat32(o + at("lw_gamepad", "axes") + 4 * i, values[i] || 0, true);
  }

  /** The lw_input bytes for `tick` with these events ([kind, player, a, b], at most MAX_EVENTS). */
  pack(tick, events = []) {
    if (events.length > MAX_EVENTS) {
      throw new InputError(`${events.length} events in one tick; the contract allows ${MAX_EVENTS}`);
    }
    this.view.setUint32(at("lw_input", "tick"), tick >>> 0, true);
    this.view.setUint32(at("lw_input", "event_count"), events.length, true);
    const base = at("lw_input", "events");
    const size = STRUCTS.lw_event.size;
    this.bytes.fill(0, base, base + MAX_EVENTS * size);
    events.forEach((e, i) => e.forEach((v, j) => this.view.setUint32(base + i * size + 4 * j, v >>> 0, true)));
    return this.bytes;
  }
}

export class Recording {
  constructor(changes = new Map()) {
    this.changes = changes; // tick -> [change, ...]
  }

  /** Parse JSON Lines text; `where` names it in errors. Every field is checked as
   * layerw/runtime/inputs.py checks it, and every change tried on a scratch state, so a malformed
   * line fails here with its number. */
  static parse(text, where = "recording") {
    const rec = new Recording();
    const scratch = new InputState(MAX_PLAYERS);
    let first = true;
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      let change;
      try {
        change = JSON.parse(line);
      } catch (e) {
        throw new InputError(`${where}:${i + 1}: each line must be a JSON object with a 'tick': ${e.message}`);
      }
      try {
        if (first && isObject(change) && RECORDING_HEADER in change) {
          checkHeader(change);
        } else {
          checkChange(change);
          rec.applyChange(scratch, change);
          if (!rec.changes.has(change.tick)) rec.changes.set(change.tick, []);
          rec.changes.get(change.tick).push(change);
        }
      } catch (e) {
        throw new InputError(`${where}:${i + 1}: ${e.message}`);
      }
      first = false;
    });
    return rec;
  }

  apply(state, tick) {
    for (const change of this.changes.get(tick) || []) this.applyChange(state, change);
  }

  /** Apply one checked change to `state`. */
  applyChange(state, change) {
    const player = Number(change.player || 0);
    for (const key of change.down || []) state.key(player, key, true);
    for (const key of change.up || []) state.key(player, key, false);
    if ("pointer" in change) {
      const [x, y, buttons = 0] = change.pointer;
      state.pointer(player, Number(x), Number(y), Number(buttons) | 0);
    }
    if ("gamepad" in change) state.gamepad(player, Number(change.gamepad), change.buttons || [], change.axes || []);
  }
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v) => Number.isInteger(v);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const show = (v) => String(JSON.stringify(v)).slice(0, 80);

/** The optional first line: {"layerw_inputs": VERSION} and nothing else. */
function checkHeader(header) {
  const version = header[RECORDING_HEADER];
  if (Object.keys(header).length !== 1 || !isInt(version)) {
    throw new InputError(`the header line must be {"${RECORDING_HEADER}": ${RECORDING_VERSION}}`);
  }
  if (version !== RECORDING_VERSION) {
    throw new InputError(`recording format version ${version}: this page reads version ${RECORDING_VERSION}`);
  }
}

/** One change line's fields and their types (values' ranges are checked by applying it). */
function checkChange(change) {
  if (!isObject(change)) throw new InputError(`each line must be a JSON object with a 'tick', got ${show(change)}`);
  const unknown = Object.keys(change).filter((k) => !(k in RECORDING_FIELDS));
  if (unknown.length) {
    throw new InputError(`unknown field '${unknown[0]}'; a change has ${Object.keys(RECORDING_FIELDS).join(", ")} (see docs/inputs.md)`);
  }
  if (!("tick" in change)) throw new InputError("each line must be a JSON object with a 'tick'");
  for (const field of ["tick", "player", "gamepad"]) {
    if (field in change && !(isInt(change[field]) && change[field] >= 0)) {
      throw new InputError(`'${field}' must be an integer >= 0, got ${show(change[field])}`);
    }
  }
  if (change.tick >= 2 ** 32) throw new InputError(`'tick' ${change.tick} is past the last tick (2^32 - 1)`);
  /** @type {Array<[string, number]>} */
  const bounds = [["player", MAX_PLAYERS], ["gamepad", MAX_GAMEPADS]];
  for (const [field, count] of bounds) {
    if ((change[field] || 0) >= count) throw new InputError(`${field} ${change[field]} out of range 0..${count - 1}`);
  }
  for (const field of ["down", "up", "buttons"]) {
    if (field in change && !(Array.isArray(change[field]) && change[field].every((v) => typeof v === "string"))) {
      throw new InputError(`'${field}' must be a list of names, got ${show(change[field])}`);
    }
  }
  if ("pointer" in change) {
    const p = change.pointer;
    if (!(Array.isArray(p) && (p.length === 2 || p.length === 3) && isNumber(p[0]) && isNumber(p[1])
          && (p.length === 2 || isInt(p[2])))) {
      throw new InputError(`'pointer' must be [x, y] or [x, y, buttons] (buttons an integer), got ${show(p)}`);
    }
  }
  if ("axes" in change && !(Array.isArray(change.axes) && change.axes.every(isNumber))) {
    throw new InputError(`'axes' must be a list of numbers, got ${show(change.axes)}`);
  }
  if (("buttons" in change || "axes" in change) && !("gamepad" in change)) {
    throw new InputError("'buttons' and 'axes' need 'gamepad' (the pad's index) on the same line");
  }
}
