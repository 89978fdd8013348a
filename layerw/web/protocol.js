// The lockstep wire protocol in the browser: the same binary messages as
// layerw/session/protocol.py (read its docstring for the layout), little-endian. The message
// types and sizes come from wire.js, generated from layerw/wire.py.
//
//   client -> server   HELLO 0x01, INPUT 0x02, HASH 0x03, PING 0x04          (hello, inputMessage, hashMessage, pingMessage)
//   server -> client   WELCOME 0x10, STATE 0x11, FRAME 0x12, PONG 0x13       (decodeServer)
//
// Player input travels as the contract's own lw_player bytes; the server relays it untouched.

import { STRUCTS, MAX_PLAYERS } from "./abi.js";
import { ProtocolError } from "./errors.js";
import {
  FRAME, HASH, HASH_SIZE, HELLO, INPUT, NO_BASE, PING, PING_SIZE, PONG, STATE, TOKEN_SIZE, VERSION, WELCOME,
} from "./wire.js";

const PLAYER_SIZE = STRUCTS.lw_player.size;
const INPUT_SIZE = STRUCTS.lw_input.size;

/**
 * @param {number} role PLAYER or SPECTATOR
 * @param {Uint8Array} [token] this seat's token, zeros for a new one
 * @param {number} [baseTick] the newest snapshot this client holds, NO_BASE for none
 */
export function hello(role, token = new Uint8Array(TOKEN_SIZE), baseTick = NO_BASE) {
  const out = new Uint8Array(3 + TOKEN_SIZE + 4);
  const v = new DataView(out.buffer);
  out.set([HELLO, VERSION, role]);
  out.set(token, 3);
  v.setUint32(3 + TOKEN_SIZE, baseTick >>> 0, true);
  return out;
}

export function inputMessage(tick, player) {
  if (player.length !== PLAYER_SIZE) throw new ProtocolError(`an lw_player is ${PLAYER_SIZE} bytes, not ${player.length}`);
  const out = new Uint8Array(5 + PLAYER_SIZE);
  out[0] = INPUT;
  new DataView(out.buffer).setUint32(1, tick >>> 0, true);
  out.set(player, 5);
  return out;
}

export function hashMessage(tick, digest) {
  if (digest.length !== HASH_SIZE) throw new ProtocolError(`a state hash is ${HASH_SIZE} bytes, not ${digest.length}`);
  const out = new Uint8Array(5 + HASH_SIZE);
  out[0] = HASH;
  new DataView(out.buffer).setUint32(1, tick >>> 0, true);
  out.set(digest, 5);
  return out;
}

/** A PING carrying `sentMs` (this page's clock, a float64); its PONG echoes it back. */
export function pingMessage(sentMs) {
  const out = new Uint8Array(1 + PING_SIZE);
  out[0] = PING;
  new DataView(out.buffer).setFloat64(1, sentMs, true);
  return out;
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
  }

  need(n) {
    if (n < 0 || this.at + n > this.bytes.length) {
      throw new ProtocolError(`message truncated: needs ${n} bytes at offset ${this.at}, has ${this.bytes.length - this.at}`);
    }
  }

  take(n) {
    this.need(n);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8() { this.need(1); return this.view.getUint8(this.at++); }
  u16() { this.need(2); const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  u32() { this.need(4); const v = this.view.getUint32(this.at, true); this.at += 4; return v; }

  end() {
    if (this.at !== this.bytes.length) throw new ProtocolError(`${this.bytes.length - this.at} unexpected bytes at the end of the message`);
  }
}

/**
 * @typedef {{type: number, tick: number, changes: Array<[number, Uint8Array]>, events: number[][]}} Frame
 * @typedef {{type: number, tick: number, inputs: Uint8Array, kind: number, baseTick: number, snapshot: Uint8Array,
 *            frames: Frame[]}} State
 * @typedef {{type: number, seat: number, token: Uint8Array, tickRate: number, inputDelay: number, hashEvery: number,
 *            snapshotEvery: number, state: State}} Welcome
 * @typedef {{type: number, sentMs: number}} Pong
 */

/** @returns {Frame} */
function frame(r) {
  const tick = r.u32();
  /** @type {Array<[number, Uint8Array]>} */
  const changes = [];
  for (let n = r.u8(); n > 0; n--) {
    const seat = r.u8();
    if (seat >= MAX_PLAYERS) throw new ProtocolError(`frame names seat ${seat}`);
    changes.push([seat, r.take(PLAYER_SIZE)]);
  }
  const events = [];
  for (let m = r.u8(); m > 0; m--) events.push([r.u32(), r.u32(), r.u32(), r.u32()]);
  return { type: FRAME, tick, changes, events };
}

/** @returns {State} */
function state(r) {
  const tick = r.u32();
  const inputs = r.take(INPUT_SIZE);
  const kind = r.u8();
  const baseTick = r.u32();
  const snapshot = r.take(r.u32());
  const frames = [];
  for (let count = r.u32(); count > 0; count--) {
    const sub = new Reader(r.take(r.u32()));
    if (sub.u8() !== FRAME) throw new ProtocolError("STATE holds something that is not a FRAME");
    frames.push(frame(sub));
    sub.end();
  }
  return { type: STATE, tick, inputs, kind, baseTick, snapshot, frames };
}

/** Parse a server message (a Uint8Array): {type: WELCOME|STATE|FRAME|PONG, ...}.
 * @returns {Welcome | State | Frame | Pong} */
export function decodeServer(bytes) {
  const r = new Reader(bytes);
  const type = r.u8();
  let msg;
  if (type === WELCOME) {
    const version = r.u8();
    if (version !== VERSION) throw new ProtocolError(`the server speaks protocol ${version}; this client speaks ${VERSION}: reload the page`);
    const seat = r.u8();
    const token = r.take(TOKEN_SIZE).slice();
    const [tickRate, inputDelay, hashEvery, snapshotEvery] = [r.u16(), r.u16(), r.u16(), r.u16()];
    if (r.u8() !== STATE) throw new ProtocolError("WELCOME without a STATE body");
    msg = { type, seat, token, tickRate, inputDelay, hashEvery, snapshotEvery, state: state(r) };
  } else if (type === STATE) {
    msg = state(r);
  } else if (type === FRAME) {
    msg = frame(r);
  } else if (type === PONG) {
    const payload = r.take(PING_SIZE);
    msg = { type, sentMs: new DataView(payload.buffer, payload.byteOffset, PING_SIZE).getFloat64(0, true) };
  } else {
    throw new ProtocolError(`unknown server message type 0x${type.toString(16)}`);
  }
  r.end();
  return msg;
}
