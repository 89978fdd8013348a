// WASM-4's input registers from Layer-W's input (mirrors layerw/runtime/wasm4/controls.py): each
// player's keyboard (X/V/Space and Z/C/N, the arrows) and gamepads become a GAMEPADS byte, player 1's
// pointer becomes MOUSE_X, MOUSE_Y and MOUSE_BUTTONS (off screen until the pointer first shows).
// Spec: https://wasm4.org/docs/reference/memory#gamepads

import { KEYS, PAD_BUTTONS, STRUCTS } from "./abi.js";

const KEY_BUTTONS = { KeyX: 1, KeyV: 1, Space: 1, KeyZ: 2, KeyC: 2, KeyN: 2, ArrowLeft: 16, ArrowRight: 32, ArrowUp: 64, ArrowDown: 128 };
const PAD_BITS = { A: 1, X: 1, B: 2, Y: 2, LEFT: 16, RIGHT: 32, UP: 64, DOWN: 128 };
const PLAYER = STRUCTS.lw_player;
const PLAYERS_AT = /** @type {number} */ (STRUCTS.lw_input.fields.players[0]);
const MOUSE_X = 0x1a;

/** @param {number} v */
function clampI16(v) { return Math.max(-32768, Math.min(32767, v)); }

/** MOUSE_X and MOUSE_Y until the pointer first shows over the game, as WASM-4 starts them. */
export const MOUSE_OFF_SCREEN = 0x7fff;

/**
 * Whether the pointer has shown over the game: MOUSE_X and MOUSE_Y no longer hold MOUSE_OFF_SCREEN.
 * @param {Uint8Array} ram the cart's 64 KiB
 */
export function mouseSeen(ram) {
  const view = new DataView(ram.buffer, ram.byteOffset);
  return view.getInt16(MOUSE_X, true) !== MOUSE_OFF_SCREEN || view.getInt16(MOUSE_X + 2, true) !== MOUSE_OFF_SCREEN;
}

/**
 * The 9 bytes at GAMEPADS (4 gamepads, MOUSE_X, MOUSE_Y, MOUSE_BUTTONS) from a packed lw_input; the
 * position stays MOUSE_OFF_SCREEN until the pointer first comes over the game (`seen` says whether
 * it has), then follows it, also outside the screen.
 * @param {Uint8Array} input
 * @param {boolean} seen
 * @returns {Uint8Array}
 */
export function registers(input, seen) {
  const view = new DataView(input.buffer, input.byteOffset);
  const out = new Uint8Array(9);
  for (let p = 0; p < 4; p++) {
    const base = PLAYERS_AT + p * PLAYER.size;
    let byte = 0;
    for (const [key, bit] of Object.entries(KEY_BUTTONS)) {
      const code = KEYS.indexOf(key);
      if ((view.getUint32(base + 4 * (code >> 5), true) >>> (code & 31)) & 1) byte |= bit;
    }
    for (let g = 0; g < 4; g++) {
      const pad = base + /** @type {number} */ (PLAYER.fields.gamepads[0]) + g * STRUCTS.lw_gamepad.size;
      if (!view.getUint32(pad, true)) continue;
      const buttons = view.getUint32(pad + 4, true);
      for (const [name, bit] of Object.entries(PAD_BITS)) if ((buttons >>> PAD_BUTTONS.indexOf(name)) & 1) byte |= bit;
      const ax = view.getFloat32(pad + 8, true);
      const ay = view.getFloat32(pad + 12, true);
      byte |= (ax < -0.5 ? 16 : 0) | (ax > 0.5 ? 32 : 0) | (ay < -0.5 ? 64 : 0) | (ay > 0.5 ? 128 : 0);
    }
    out[p] = byte;
  }
  const pointer = PLAYERS_AT + /** @type {number} */ (PLAYER.fields.pointer[0]);
  const mouse = new DataView(out.buffer);
  const shown = seen || view.getUint32(pointer + /** @type {number} */ (STRUCTS.lw_pointer.fields.inside[0]), true) !== 0;
  for (const [i, v] of [view.getFloat32(pointer, true), view.getFloat32(pointer + 4, true)].entries()) {
    mouse.setInt16(4 + 2 * i, !shown ? MOUSE_OFF_SCREEN : Number.isFinite(v) ? clampI16(Math.floor(v)) : 0, true);
  }
  out[8] = view.getUint32(pointer + 8, true) & 7;
  return out;
}
