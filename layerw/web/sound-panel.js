// SoundPanel: the play page's sound controls (play.html's #sound): the "click or tap for sound"
// line while the autoplay policy holds the Speaker back, a mute button and a volume slider. The
// choice of mute and volume is kept per browser (localStorage), like any player's setting.

import { Speaker } from "./speaker.js";

const STORE_KEY = "layerw.sound";

/**
 * @typedef {object} SoundElements
 * @property {HTMLElement} bar
 * @property {HTMLElement} gesture
 * @property {HTMLButtonElement} mute
 * @property {HTMLInputElement} volume
 */

export class SoundPanel {
  /**
   * Open the Speaker for `game` and wire the controls; a browser that cannot play gets a message
   * on the panel instead of a silent page.
   * @param {SoundElements} elements
   * @param {{takeSamples: () => Int16Array}} game
   * @param {{latencyMs?: number, tap?: boolean}} options
   * @returns {Promise<SoundPanel>}
   */
  static async open(elements, game, options) {
    const panel = new SoundPanel(elements);
    try {
      panel.speaker = await Speaker.open(game, {
        ...options, volume: panel.saved.volume, muted: panel.saved.muted, onGesture: (needed) => panel.showGesture(needed),
      });
    } catch (e) {
      panel.fail(e);
    }
    return panel;
  }

  /** @param {SoundElements} elements */
  constructor(elements) {
    this.elements = elements;
    /** @type {Speaker | null} */
    this.speaker = null;
    /** @type {string | null} why there is no sound */
    this.error = null;
    this.saved = { volume: 1, muted: false };
    try {
      const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.volume === "number" && saved.volume >= 0 && saved.volume <= 1) this.saved.volume = saved.volume;
      if (saved && typeof saved.muted === "boolean") this.saved.muted = saved.muted;
    } catch (e) { /* no storage, or a bad value: the defaults */ }
    elements.volume.value = String(this.saved.volume);
    this.showMuted(this.saved.muted);
    elements.mute.addEventListener("click", () => this.setMuted(!this.saved.muted));
    elements.volume.addEventListener("input", () => this.setVolume(Number(elements.volume.value)));
    elements.bar.hidden = false;
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.saved.muted = muted;
    this.showMuted(muted);
    if (this.speaker) this.speaker.setMuted(muted);
    this.keep();
  }

  /** @param {number} volume 0..1 */
  setVolume(volume) {
    this.saved.volume = volume;
    if (this.speaker) this.speaker.setVolume(volume);
    this.keep();
  }

  keep() {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(this.saved)); } catch (e) { /* a private window */ }
  }

  /** @param {boolean} muted */
  showMuted(muted) {
    this.elements.mute.textContent = muted ? "unmute" : "mute";
    this.elements.mute.setAttribute("aria-pressed", String(muted));
  }

  /** @param {boolean} needed */
  showGesture(needed) {
    this.elements.gesture.hidden = !needed;
  }

  /** @param {any} e */
  fail(e) {
    this.error = `no sound: ${e.message || e}`;
    this.elements.gesture.hidden = false;
    this.elements.gesture.textContent = this.error;
    this.elements.mute.hidden = true;
    this.elements.volume.hidden = true;
    console.warn(this.error);
  }

  close() {
    if (this.speaker) this.speaker.close();
  }
}
