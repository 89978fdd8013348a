// DeviceRecovery: what a WebGPURenderer (renderer-webgpu.js) does when its device is lost (a driver
// reset, a tab in the background too long, device.destroy(), or headless Chromium without Vulkan,
// which loses it at the first present). It asks for a new adapter and device, has the renderer make
// its pipelines again and upload every texture again from the images it kept, and draws the frame
// that was skipped meanwhile; a game using the GPU API instead renders a fresh frame that declares its
// resources again (renderer.onGpuLost). A device lost more than MAX_LOSSES times, or one that cannot be had
// again, makes a page's canvas fall back to WebGL2 on a fresh canvas element (a canvas keeps the
// first kind of context it gave; a game worker's page hands over a fresh OffscreenCanvas). Where no
// canvas can be had the next frame fails with a RenderError that says what to do. Never a page that
// silently stops drawing.

import { FONT_TEXTURE } from "./commands.js";
import { RenderError } from "./errors.js";

export const MAX_LOSSES = 3;

export class DeviceRecovery {
  /**
   * @param {any} renderer the WebGPURenderer
   * @param {{width: number, height: number, filter?: string, fontUrl?: string}} options its create() options (for WebGL2)
   */
  constructor(renderer, options) {
    this.renderer = renderer;
    this.options = options;
    this.losses = 0;
    this.recoveries = 0;
    /** @type {Promise<void> | null} the recovery in progress */
    this.recovering = null;
    this.again = false; // the device was lost again while it was being recovered
    /** @type {Uint8Array | null} the last frame's command list, skipped while the device was away */
    this.pending = null;
    /** @type {any} the WebGL2Renderer drawing instead, after a fallback */
    this.fallback = null;
    /** @type {RenderError | null} thrown by the next frame where neither a device nor a fallback could be had */
    this.failure = null;
    /** @type {(() => Promise<OffscreenCanvas>) | null} a fresh canvas from the page, for a worker's fallback
     *  (game-worker.js sets it: a canvas keeps the first kind of context it gave) */
    this.requestCanvas = null;
  }

  /** @param {string} reason */
  lost(reason) {
    this.losses += 1;
    console.warn(`[webgpu] the device was lost (${reason}), ${this.losses} of ${MAX_LOSSES} times; recovering`);
    if (this.recovering) {
      this.again = true;
      return;
    }
    this.recovering = this.recover(reason).catch((e) => {
      this.failure = e instanceof RenderError ? e : new RenderError(`the WebGPU device was lost (${reason}): ${e.message || e}`);
    }).finally(() => { this.recovering = null; });
  }

  /** Resolves when no recovery is in progress. */
  async settled() {
    while (this.recovering) await this.recovering;
  }

  /** @param {string} reason */
  async recover(reason) {
    const r = this.renderer;
    const hadGpu = r.gpu !== null; // the game's GPU API resources, gone with the device
    for (;;) {
      if (this.losses > MAX_LOSSES) {
        await this.fallBack(`lost ${this.losses} times, last: ${reason}`);
        return;
      }
      this.again = false;
      try {
        const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
        if (!adapter) throw new RenderError("WebGPU gives no adapter any more");
        const device = await adapter.requestDevice();
        r.forget();
        r.attach(adapter, device);
        await r.setup(r.code);
        for (const [handle, image] of r.images) r.upload(handle, image);
      } catch (e) {
        await this.fallBack(`a new device could not be had: ${/** @type {Error} */ (e).message || e}`);
        return;
      }
      if (r.closed) return;
      if (!this.again) break;
    }
    r.lost = null;
    this.recoveries += 1;
    console.warn(`[webgpu] a new device draws (recovery ${this.recoveries})`);
    if (hadGpu && r.onGpuLost) { // the skipped frame names resources the new device lacks: a fresh one declares them
      this.pending = null;
      r.draw(r.onGpuLost());
      return;
    }
    this.drawPending((commands) => r.draw(commands));
  }

  /**
   * Draw with WebGL2 on a fresh canvas element in place of the page's canvas.
   * @param {string} why
   */
  async fallBack(why) {
    const r = this.renderer;
    const canvas = r.canvas;
    const onPage = typeof HTMLCanvasElement !== "undefined" && canvas instanceof HTMLCanvasElement && canvas.isConnected;
    if (!onPage && !this.requestCanvas) {
      throw new RenderError(`the WebGPU device is gone (${why}) and this canvas cannot switch to WebGL2: `
        + "open the page with ?renderer=webgl2");
    }
    // a page's canvas is replaced here; a worker's page hands over a fresh OffscreenCanvas (requestCanvas)
    const fresh = onPage ? /** @type {HTMLCanvasElement} */ (canvas.cloneNode(false))
      : await /** @type {() => Promise<OffscreenCanvas>} */ (this.requestCanvas)();
    const { WebGL2Renderer } = await import("./renderer-webgl2.js");
    const gl = await WebGL2Renderer.create(/** @type {any} */ (fresh), this.options);
    if (onPage) canvas.replaceWith(/** @type {HTMLCanvasElement} */ (fresh));
    for (const [handle, image] of r.images) if (handle > 0 && handle !== FONT_TEXTURE) gl.upload(handle, image);
    this.fallback = gl;
    r.canvas = fresh;
    r.name = gl.name;
    r.glRenderer = gl.glRenderer;
    r.lost = null;
    console.warn(`[webgpu] the WebGPU device is gone (${why}): drawing with WebGL2 from now on`);
    this.drawPending((commands) => gl.draw(commands));
  }

  /**
   * Draw the frame skipped while the device was gone, else a fresh frame of the game as it is now
   * (renderer.onGpuLost renders one): a new device's or a fresh canvas's first picture must not wait
   * for a next frame that a stopped game never draws.
   * @param {(commands: Uint8Array) => void} draw
   */
  drawPending(draw) {
    const pending = this.pending;
    this.pending = null;
    if (pending) {
      draw(pending);
      return;
    }
    const onGpuLost = this.renderer.onGpuLost;
    if (!onGpuLost) return;
    let fresh;
    try {
      fresh = onGpuLost();
    } catch (e) { // a game that failed renders no more: its page already says why, and the canvas stays as it is
      console.warn(`[webgpu] no frame to draw after the device changed: ${/** @type {Error} */ (e).message || e}`);
      return;
    }
    draw(fresh);
  }

  /** What the page shows of it (window.layerw.renderer.recovery). */
  get stats() {
    return { losses: this.losses, recoveries: this.recoveries, fellBack: this.fallback !== null, failure: this.failure && this.failure.message };
  }
}
