// Renderer: the interface the browser's GPU backends share, and the one place a backend is chosen.
//
// A renderer draws command lists into a target at the game's resolution (the canvas's drawing
// buffer is that size too; CSS scales it, by the game's filter), like the native WgpuRenderer: a
// frame starts opaque black unless it clears; draws with a texture handle nobody set are skipped.
//
//   renderer.name          "webgl2" | "webgpu"
//   renderer.glRenderer    the GL renderer string (WebGL2) or the adapter's description (WebGPU)
//   renderer.setTexture(handle, imageBitmap)
//   renderer.draw(commands)   a Uint8Array command list (a view of guest memory)
//   renderer.readPixels()     Promise<Uint8Array> of the last frame, RGBA, top row first
//   renderer.onGpuLost        set by the client: called when a new WebGPU device holds none of the
//                             game's GPU API resources, or a WebGL2 context is restored; answers a
//                             fresh frame (game.forgetGpu(), game.render())
//   renderer.recovery         {stats: {losses, recoveries, fellBack, failure}}: lost devices or contexts
//   renderer.close()

import { RenderError } from "./errors.js";

export const BACKENDS = ["webgpu", "webgl2"];

/** Round half to even, like Python's round(): scissor edges match the native renderer's. */
export function roundEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A viewport in game pixels as a scissor rect [x, y, w, h] (top-left origin), or null when empty.
 *  `vx` NaN means the whole target. */
export function scissor(vx, vy, vw, vh, width, height) {
  if (Number.isNaN(vx)) return [0, 0, width, height];
  const clamp = (v, hi) => Math.min(Math.max(roundEven(v), 0), hi);
  const x0 = clamp(vx, width);
  const y0 = clamp(vy, height);
  const x1 = clamp(vx + vw, width);
  const y1 = clamp(vy + vh, height);
  if (x1 <= x0 || y1 <= y0) return null;
  return [x0, y0, x1 - x0, y1 - y0];
}

/** Load an image URL as an exact RGBA ImageBitmap (no premultiplication or colour management). */
export async function loadImage(url) {
  const response = await fetch(url);
  if (!response.ok) throw new RenderError(`could not load ${url} (HTTP ${response.status})`);
  return createImageBitmap(await response.blob(), { premultiplyAlpha: "none", colorSpaceConversion: "none" });
}

/**
 * The renderer for `canvas`: `prefer` "webgpu" or "webgl2" forces one; "auto" takes WebGPU when
 * navigator.gpu gives an adapter, WebGL2 otherwise. Options: width, height (game pixels), fontUrl,
 * shadersUrl.
 * @param {HTMLCanvasElement} canvas
 * @param {{prefer?: string, width: number, height: number, filter?: string, fontUrl?: string, shadersUrl?: string}} options
 */
export async function createRenderer(canvas, { prefer = "auto", ...options }) {
  if (prefer !== "auto" && !BACKENDS.includes(prefer)) {
    throw new RenderError(`unknown renderer '${prefer}'; choose one of ${BACKENDS.join(", ")}`);
  }
  canvas.width = options.width;
  canvas.height = options.height;
  if (prefer === "webgpu" || prefer === "auto") {
    const adapter = navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
    if (adapter) {
      const { WebGPURenderer } = await import("./renderer-webgpu.js");
      return WebGPURenderer.create(canvas, adapter, options);
    }
    if (prefer === "webgpu") {
      throw new RenderError(navigator.gpu ? "WebGPU gives no adapter in this browser; use ?renderer=webgl2"
        : "this browser has no WebGPU (navigator.gpu; it needs a secure context); use ?renderer=webgl2");
    }
  }
  const { WebGL2Renderer } = await import("./renderer-webgl2.js");
  return WebGL2Renderer.create(canvas, options);
}
