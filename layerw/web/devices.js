// Devices: the browser's keyboard, pointer, touch and gamepads, polled once per frame into one
// player's InputState, in the contract's terms (the browser's side of layerw/gfx/window.py poll).
//
// Keys are KeyboardEvent.code names mapped to abi KEYS; a key pressed and released between two
// polls still shows as down for one poll. Pointer and touch positions are in game pixels. Gamepads
// (up to MAX_GAMEPADS) use the W3C standard mapping; triggers also fill axes 4 and 5 (-1 released
// .. 1 pressed, as native GLFW reports them). On touch devices an on-screen gamepad (a d-pad and
// A, B, Start) acts as gamepad 0 when no physical pad is connected there.

import { MAX_GAMEPADS, MAX_TOUCHES, PAD_BUTTONS, POINTER_BUTTONS } from "./abi.js";
import { KEY_CODES } from "./input.js";

const PAD = Object.fromEntries(PAD_BUTTONS.map((name, i) => [name, i]));
const OVERLAY_BUTTONS = [
  ["UP", "▲", "left:48px;bottom:96px"], ["DOWN", "▼", "left:48px;bottom:16px"],
  ["LEFT", "◀", "left:8px;bottom:56px"], ["RIGHT", "▶", "left:88px;bottom:56px"],
  ["A", "A", "right:16px;bottom:40px"], ["B", "B", "right:72px;bottom:72px"],
  ["START", "≡", "right:50%;bottom:16px;transform:translateX(50%)"],
];

export function isTouchDevice() {
  return navigator.maxTouchPoints > 0 && matchMedia("(pointer: coarse)").matches;
}

export class Devices {
  /**
   * `canvas` shows the game at `width` x `height` game pixels; `overlay` true/false/"auto".
   * @param {HTMLCanvasElement} canvas
   * @param {{width: number, height: number, overlay?: boolean | "auto"}} options
   */
  constructor(canvas, { width, height, overlay = "auto" }) {
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.down = new Set(); // key codes held
    this.fresh = new Set(); // pressed since the last poll
    this.release = new Set(); // released since the last poll, after a fresh press
    this.pointer = { x: 0, y: 0, buttons: 0, inside: 0 };
    this.touches = new Map(); // pointerId -> {slot, x, y}
    this.overlayButtons = 0; // bits of the on-screen gamepad
    /** @type {() => boolean} whether the game lets the on-screen gamepad show (a WASM-4 cart may hide it) */
    this.overlayWanted = () => true;
    this.listeners = [];
    this.listen(window, "keydown", (e) => this.onKey(e, true));
    this.listen(window, "keyup", (e) => this.onKey(e, false));
    this.listen(window, "blur", () => this.releaseAll());
    this.listen(document, "visibilitychange", () => { if (document.hidden) this.releaseAll(); });
    this.listen(window, "pointermove", (e) => this.onPointer(e));
    this.listen(window, "pointerdown", (e) => this.onPointer(e));
    this.listen(window, "pointerup", (e) => this.onPointer(e, true));
    this.listen(window, "pointercancel", (e) => this.onPointer(e, true));
    this.listen(canvas, "contextmenu", (e) => e.preventDefault());
    canvas.style.touchAction = "none";
    if (overlay === true || (overlay === "auto" && isTouchDevice())) this.overlay = this.makeOverlay();
  }

  listen(target, type, fn) {
    target.addEventListener(type, fn, { passive: false });
    this.listeners.push([target, type, fn]);
  }

  onKey(e, down) {
    const code = KEY_CODES.get(e.code);
    if (!code) return;
    if (!(e.ctrlKey || e.metaKey)) e.preventDefault(); // arrows and space must not scroll the page
    if (down) {
      if (!this.down.has(code)) this.fresh.add(code);
      this.down.add(code);
      this.release.delete(code);
    } else if (this.fresh.has(code)) {
      this.release.add(code);
    } else {
      this.down.delete(code);
    }
  }

  releaseAll() {
    this.down.clear();
    this.fresh.clear();
    this.release.clear();
    this.pointer.buttons = 0;
    this.touches.clear();
  }

  /** Client coordinates to game pixels, and whether they fall on the game. */
  /** @returns {[number, number, boolean]} game x, y and whether that lies inside the game */
  toGame(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    const x = ((clientX - r.left) * this.width) / Math.max(r.width, 1);
    const y = ((clientY - r.top) * this.height) / Math.max(r.height, 1);
    return [x, y, x >= 0 && y >= 0 && x < this.width && y < this.height];
  }

  onPointer(e, up = false) {
    if (this.overlay && this.overlay.contains(e.target)) return;
    const [x, y, inside] = this.toGame(e.clientX, e.clientY);
    if (e.pointerType === "touch") {
      if (up) {
        this.touches.delete(e.pointerId);
      } else if (this.touches.has(e.pointerId)) {
        Object.assign(this.touches.get(e.pointerId), { x, y });
      } else if (e.type === "pointerdown" && inside && this.touches.size < MAX_TOUCHES) {
        const used = new Set([...this.touches.values()].map((t) => t.slot));
        let slot = 0;
        while (used.has(slot)) slot++;
        this.touches.set(e.pointerId, { slot, x, y });
      }
      if (!e.isPrimary) return; // the primary touch also drives the pointer
    }
    if (e.type === "pointerdown" && inside) e.preventDefault();
    const b = up && e.pointerType === "touch" ? 0 : e.buttons;
    this.pointer = {
      x, y, inside: inside ? 1 : 0,
      buttons: (b & 1 ? POINTER_BUTTONS.LEFT : 0) | (b & 2 ? POINTER_BUTTONS.RIGHT : 0) | (b & 4 ? POINTER_BUTTONS.MIDDLE : 0),
    };
  }

  makeOverlay() {
    const box = document.createElement("div");
    box.className = "layerw-overlay";
    box.style.cssText = "position:fixed;inset:0;pointer-events:none;z-index:2;user-select:none";
    for (const [name, label, place] of OVERLAY_BUTTONS) {
      const b = document.createElement("div");
      b.textContent = label;
      b.dataset.pad = name;
      b.style.cssText = `position:absolute;${place};width:56px;height:56px;border-radius:28px;pointer-events:auto;`
        + "background:rgba(255,255,255,.18);color:rgba(255,255,255,.8);font:24px sans-serif;display:flex;"
        + "align-items:center;justify-content:center;touch-action:none";
      const bit = 1 << PAD[name];
      const set = (on) => (e) => {
        e.preventDefault();
        this.overlayButtons = on ? this.overlayButtons | bit : this.overlayButtons & ~bit;
        b.style.background = on ? "rgba(255,255,255,.4)" : "rgba(255,255,255,.18)";
      };
      b.addEventListener("pointerdown", set(true));
      for (const t of ["pointerup", "pointercancel", "pointerleave"]) b.addEventListener(t, set(false));
      box.append(b);
    }
    document.body.append(box);
    return box;
  }

  /** Write the devices' state now into `state` for `player`. */
  poll(state, player = 0) {
    if (this.overlay) {
      const display = this.overlayWanted() ? "" : "none";
      if (this.overlay.style.display !== display) this.overlay.style.display = display;
    }
    state.setKeys(player, this.down);
    for (const code of this.release) this.down.delete(code);
    this.release.clear();
    this.fresh.clear();
    const p = this.pointer;
    state.pointer(player, p.x, p.y, p.buttons, p.inside);
    const slots = new Array(MAX_TOUCHES).fill(null);
    for (const [id, t] of this.touches) slots[t.slot] = [id, t];
    slots.forEach((s, i) => state.touch(player, i, s ? s[0] : 0, s ? s[1].x : 0, s ? s[1].y : 0, s !== null));
    const pads = navigator.getGamepads ? navigator.getGamepads() : [];
    for (let i = 0; i < MAX_GAMEPADS; i++) {
      const pad = pads[i];
      if (pad && pad.connected) {
        let mask = 0;
        pad.buttons.forEach((b, k) => { if (b.pressed && k < 32) mask |= 1 << k; });
        const trigger = (k) => (pad.buttons[k] ? pad.buttons[k].value * 2 - 1 : -1);
        const axes = [0, 1, 2, 3].map((k) => pad.axes[k] || 0).concat([trigger(PAD.LT), trigger(PAD.RT)]);
        state.gamepad(player, i, mask >>> 0, axes, 1);
      } else if (i === 0 && this.overlay) {
        state.gamepad(player, 0, this.overlayButtons, [0, 0, 0, 0, -1, -1], 1);
      } else {
        state.gamepad(player, i, 0, [], 0);
      }
    }
  }

  close() {
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    this.listeners = [];
    if (this.overlay) this.overlay.remove();
  }
}
