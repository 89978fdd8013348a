// FrameTiming: the per-frame timing overlay (F3), the browser's layerw/play/timing.py.
//
//   new FrameTiming(canvas)          a hidden <pre> over the canvas's top-left corner; F3 toggles it
//   .frame({tick, render, present, sound})   one frame's parts in ms (Loop calls it every frame)
//   .meanMs(part), .shown            running means over the last WINDOW frames
//
// `tick` is the guest's lw_tick calls without the mixing (`sound`: the game's Audio mixing each
// tick's block), `render` is lw_render, `present` the renderer's draw (the GPU works on after it
// returns: WebGL and WebGPU queue the commands).

const WINDOW = 60;
export const PARTS = ["tick", "render", "present", "sound"];
export const TOGGLE_KEY = "F3";

export class FrameTiming {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    /** @type {Record<string, number[]>} */
    this.samples = Object.fromEntries(PARTS.map((p) => [p, []]));
    this.shown = false;
    this.element = document.createElement("pre");
    this.element.className = "layerw-timing";
    this.element.hidden = true;
    Object.assign(this.element.style, {
      position: "fixed", left: "4px", top: "4px", margin: "0", padding: "4px 6px", font: "12px monospace",
      color: "#78ff78", background: "rgba(0, 0, 0, 0.66)", pointerEvents: "none", zIndex: "10",
    });
    (canvas.parentElement || document.body).appendChild(this.element);
    this.onKey = (/** @type {KeyboardEvent} */ e) => {
      if (e.code === TOGGLE_KEY && !e.repeat) this.toggle();
    };
    addEventListener("keydown", this.onKey);
  }

  toggle() {
    this.shown = !this.shown;
    this.element.hidden = !this.shown;
    if (this.shown) this.show();
  }

  /** @param {Record<string, number>} parts one frame's ms by part */
  frame(parts) {
    for (const part of PARTS) {
      const kept = this.samples[part];
      kept.push(parts[part] || 0);
      if (kept.length > WINDOW) kept.shift();
    }
    if (this.shown) this.show();
  }

  /** @param {string} part */
  meanMs(part) {
    const kept = this.samples[part];
    return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : 0;
  }

  show() {
    this.element.textContent = PARTS.map((p) => `${p.padEnd(8)}${this.meanMs(p).toFixed(2).padStart(6)} ms`).join("\n");
  }

  close() {
    removeEventListener("keydown", this.onKey);
    this.element.remove();
  }
}
