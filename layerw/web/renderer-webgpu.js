// WebGPURenderer: the command list drawn with WebGPU, using the native renderer's own WGSL
// (layerw/gfx/shaders.wgsl, fetched as is) with the same pipelines, bind group layouts, one buffer
// upload per frame, a dynamic camera offset and a scissor rect per batch. Frames render into an
// offscreen rgba8unorm target at the game's resolution, then are copied to the canvas. A frame's GPU
// commands (the GPU API) run first on the same device (gpureplay.js), into that target; its 2D
// batches then draw over what they drew, unless the frame clears.
//
// A lost device is recovered (DeviceRecovery, device-recovery.js): a new adapter and device, the
// pipelines made again and every texture uploaded again from the images kept for it; frames drawn
// meanwhile are skipped and the last one is drawn once the device is back. Where WebGPU keeps losing
// its device, a page's canvas falls back to WebGL2 on a fresh canvas element.

import {
  BATCH_WORDS, FONT_TEXTURE, Frame, INSTANCE_WORDS, Pipeline, TRANSFORM_WORDS, VERTEX_WORDS,
} from "./commands.js";
import { DeviceRecovery } from "./device-recovery.js";
import { RenderError } from "./errors.js";
import { GpuReplay } from "./gpureplay.js";
import { loadImage, scissor } from "./renderer.js";

const FORMAT = "rgba8unorm";
const CAMERA_SIZE = 32;

export class WebGPURenderer {
  static async create(canvas, adapter, options) {
    const { width, height, filter = "nearest", fontUrl = "/font.png", shadersUrl = "/shaders.wgsl" } = options;
    const [device, code, font] = await Promise.all([
      adapter.requestDevice(), fetch(shadersUrl).then((r) => {
        if (!r.ok) throw new RenderError(`could not load ${shadersUrl} (HTTP ${r.status})`);
        return r.text();
      }), loadImage(fontUrl),
    ]);
    const renderer = new WebGPURenderer(canvas, adapter, device, width, height, filter);
    renderer.code = code;
    renderer.recovery = new DeviceRecovery(renderer, { ...options, fontUrl });
    await renderer.setup(code);
    renderer.upload(FONT_TEXTURE, font);
    return renderer;
  }

  constructor(canvas, adapter, device, width, height, filter = "nearest") {
    this.name = "webgpu";
    this.filter = filter;
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.frame = new Frame();
    this.textures = new Map();
    /** @type {Map<number, any>} each texture's image, kept to upload it again on a new device */
    this.images = new Map();
    /** @type {GpuReplay | null} */
    this.gpu = null; // the game's GPU resources, made at its first GPU command
    /** @type {DeviceRecovery | null} set by create() */
    this.recovery = null;
    this.code = "";
    /** @type {(() => Uint8Array) | null} told when a new device holds none of the game's GPU resources:
     *  answers a fresh frame's command list, which declares them again (GameHost.forgetGpu, then render) */
    this.onGpuLost = null;
    /** @type {string | null} why the device was lost, while it is being recovered */
    this.lost = null;
    this.closed = false;
    this.context = canvas.getContext("webgpu");
    if (!this.context) throw new RenderError("the canvas offers no WebGPU context");
    this.attach(adapter, device);
  }

  /**
   * Draw with `device` (at the start, and on a new device after a loss).
   * @param {any} adapter
   * @param {any} device
   */
  attach(adapter, device) {
    const info = adapter.info || {};
    this.glRenderer = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")
      || "WebGPU adapter (no description)";
    this.device = device;
    this.context.configure({
      device, format: FORMAT, alphaMode: "opaque",
      usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_DST,
    });
    device.lost.then((e) => {
      if (this.closed || device !== this.device) return;
      this.lost = e.message || e.reason || "device lost";
      if (this.recovery) this.recovery.lost(this.lost);
    });
  }

  async setup(code) {
    const dev = this.device;
    const U = GPUTextureUsage;
    this.target = dev.createTexture({
      size: [this.width, this.height], format: FORMAT,
      usage: U.RENDER_ATTACHMENT | U.COPY_SRC | U.TEXTURE_BINDING,
    });
    this.targetView = this.target.createView();
    this.stride = Math.max(CAMERA_SIZE, dev.limits.minUniformBufferOffsetAlignment);
    this.cameras = new Float32Array((this.stride / 4) * 16); // the cameras written per frame (cameraWords)
    this.sampler = dev.createSampler({ magFilter: this.filter, minFilter: this.filter });
    this.nearest = dev.createSampler({ magFilter: "nearest", minFilter: "nearest" }); // the bitmap font
    this.cameraLayout = dev.createBindGroupLayout({ entries: [{
      binding: 0, visibility: GPUShaderStage.VERTEX,
      buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: CAMERA_SIZE } }] });
    this.textureLayout = dev.createBindGroupLayout({ entries: [
      { binding: 0, visibility: GPUShaderStage.VERTEX | GPUShaderStage.FRAGMENT, texture: { sampleType: "float" } },
      { binding: 1, visibility: GPUShaderStage.FRAGMENT, sampler: { type: "filtering" } }] });
    this.layout = dev.createPipelineLayout({ bindGroupLayouts: [this.cameraLayout, this.textureLayout] });
    dev.pushErrorScope("validation");
    this.shaders = dev.createShaderModule({ code });
    const stride = INSTANCE_WORDS * 4;
    this.quads = this.pipeline("vs_quad", "fs_quad", "triangle-strip", {
      arrayStride: stride, stepMode: "instance", attributes: [
        { shaderLocation: 0, offset: 0, format: "float32x4" },
        { shaderLocation: 1, offset: 16, format: "float32x4" },
        { shaderLocation: 2, offset: 32, format: "float32" },
        { shaderLocation: 3, offset: 36, format: "uint32" },
        { shaderLocation: 4, offset: 40, format: "uint32" },
        { shaderLocation: 5, offset: 44, format: "float32" }] });
    this.triangles = this.pipeline("vs_triangle", "fs_triangle", "triangle-list", {
      arrayStride: VERTEX_WORDS * 4, stepMode: "vertex", attributes: [
        { shaderLocation: 0, offset: 0, format: "float32x2" },
        { shaderLocation: 1, offset: 8, format: "float32x2" },
        { shaderLocation: 2, offset: 16, format: "uint32" }] });
    const error = await dev.popErrorScope();
    if (error) throw new RenderError(`the WebGPU pipelines were rejected: ${error.message}`);
    this.buffer = null;
    this.bufferSize = 0;
    this.upload(0, { width: 1, height: 1, pixels: new Uint8Array([255, 255, 255, 255]) });
  }

  pipeline(vs, fs, topology, buffer) {
    const blend = {
      color: { srcFactor: "src-alpha", dstFactor: "one-minus-src-alpha" },
      alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha" },
    };
    return this.device.createRenderPipeline({
      layout: this.layout,
      vertex: { module: this.shaders, entryPoint: vs, buffers: [buffer] },
      primitive: { topology, cullMode: "none" },
      fragment: { module: this.shaders, entryPoint: fs, targets: [{ format: FORMAT, blend }] },
    });
  }

  /** Upload an ImageBitmap (or {width, height, pixels}) as texture `handle`. */
  upload(handle, image) {
    this.images.set(handle, image);
    const dev = this.device;
    const U = GPUTextureUsage;
    const old = this.textures.get(handle);
    if (old) old.texture.destroy();
    const size = [image.width, image.height];
    const texture = dev.createTexture({
      size, format: "rgba8unorm", usage: U.TEXTURE_BINDING | U.COPY_DST | U.RENDER_ATTACHMENT,
    });
    if (image.pixels) {
      dev.queue.writeTexture({ texture }, image.pixels, { bytesPerRow: image.width * 4, rowsPerImage: image.height }, size);
    } else {
      dev.queue.copyExternalImageToTexture({ source: image }, { texture, premultipliedAlpha: false }, size);
    }
    const group = dev.createBindGroup({ layout: this.textureLayout, entries: [
      { binding: 0, resource: texture.createView() },
      { binding: 1, resource: handle === FONT_TEXTURE ? this.nearest : this.sampler }] });
    this.textures.set(handle, { texture, group });
  }

  setTexture(handle, image) {
    if (handle <= 0) throw new RenderError(`texture handle ${handle} is reserved; games' handles are > 0`);
    const fallback = this.recovery && this.recovery.fallback;
    if (fallback) fallback.setTexture(handle, image);
    if (this.lost || fallback) this.images.set(handle, image); // uploaded when a device is back
    else this.upload(handle, image);
  }

  draw(commands) {
    const recovery = /** @type {DeviceRecovery} */ (this.recovery);
    if (recovery.failure) throw recovery.failure;
    if (recovery.fallback) {
      recovery.fallback.draw(commands);
      return;
    }
    if (this.lost) { // skipped; drawn once the device is back
      recovery.pending = commands.slice();
      return;
    }
    this.render(this.frame.parse(commands));
  }

  /** Drop what lived on the lost device (the new one makes its own in setup and upload). */
  forget() {
    if (this.gpu !== null) this.gpu.close();
    this.gpu = null;
    this.textures.clear();
    this.buffer = null;
  }

  reserve(size) {
    if (this.buffer && this.bufferSize >= size) return; // its size kept here: a GPUBuffer's is a getter into Blink
    if (this.buffer) this.buffer.destroy();
    const B = GPUBufferUsage;
    this.bufferSize = Math.max(1 << 16, 2 ** Math.ceil(Math.log2(size)));
    this.buffer = this.device.createBuffer({ size: this.bufferSize, usage: B.UNIFORM | B.VERTEX | B.COPY_DST });
    this.cameraGroup = this.device.createBindGroup({ layout: this.cameraLayout, entries: [
      { binding: 0, resource: { buffer: this.buffer, offset: 0, size: CAMERA_SIZE } }] });
  }

  /** The frame's cameras, one uniform slot (`stride` bytes) each, in `cameras` (kept between frames):
   *  the first transformCount * stride / 4 words. */
  cameraWords(frame) {
    const words = this.stride / 4;
    const n = frame.transformCount * words;
    if (this.cameras.length < n) this.cameras = new Float32Array(Math.max(n, this.cameras.length * 2));
    const cameras = this.cameras;
    for (let i = 0; i < frame.transformCount; i++) {
      cameras.set(frame.transforms.subarray(i * TRANSFORM_WORDS, (i + 1) * TRANSFORM_WORDS), i * words);
      cameras[i * words + 6] = this.width;
      cameras[i * words + 7] = this.height; // the slot's other words stay 0
    }
    return n;
  }

  /** One frame: its GPU passes (checked, then replayed), its 2D pass and the copy to the canvas,
   *  recorded in one encoder, finished and submitted once. */
  render(frame) {
    const quadsAt = frame.transformCount * this.stride;
    const quadBytes = frame.quadCount * INSTANCE_WORDS * 4;
    const vertsAt = quadsAt + quadBytes;
    this.reserve(vertsAt + frame.vertexCount * VERTEX_WORDS * 4 + 4);
    const queue = this.device.queue;
    if (frame.batchCount) queue.writeBuffer(this.buffer, 0, this.cameras, 0, this.cameraWords(frame)); // read by the 2D batches alone
    if (frame.quadCount) queue.writeBuffer(this.buffer, quadsAt, frame.instances, 0, frame.quadCount * INSTANCE_WORDS);
    if (frame.vertexCount) queue.writeBuffer(this.buffer, vertsAt, frame.vertices, 0, frame.vertexCount * VERTEX_WORDS);
    let drew = false;
    /** @type {GpuReplay | null} */
    let gpu = null;
    if (frame.gpu.length) {
      if (this.gpu === null) this.gpu = new GpuReplay(this.device, this.targetView, FORMAT, this.width, this.height);
      gpu = this.gpu;
      drew = gpu.run(frame.gpu); // the frame's commands in an error scope, its frame ended below
    } else if (this.gpu !== null) {
      this.gpu.closeScope(); // no GPU frame may keep the last GPU frames' verdict waiting
    }
    try {
      const encoder = gpu !== null ? gpu.takeEncoder() : this.device.createCommandEncoder(); // after the GPU passes
      if (!drew || frame.clear !== null || frame.batchCount) {
        this.draw2d(encoder, frame, drew, frame.clear !== null ? frame.clear : 0xFF000000, quadsAt, vertsAt);
      }
      encoder.copyTextureToTexture({ texture: this.target }, { texture: this.context.getCurrentTexture() },
        [this.width, this.height]);
      queue.submit([encoder.finish()]);
    } finally {
      if (gpu !== null) gpu.endFrame();
    }
  }

  /** The frame's 2D pass: its batches over what the GPU passes drew, unless it clears (skipped when
   *  the GPU passes drew and there is nothing 2D, as natively). */
  draw2d(encoder, frame, drew, clear, quadsAt, vertsAt) {
    const pass = encoder.beginRenderPass({ colorAttachments: [{ // 2D over what the GPU passes drew, unless it clears
      view: this.targetView, loadOp: drew && frame.clear === null ? "load" : "clear", storeOp: "store",
      clearValue: [0, 8, 16, 24].map((s) => ((clear >>> s) & 255) / 255) }] });
    const b = frame.batches;
    for (let i = 0; i < frame.batchCount; i++) {
      const o = i * BATCH_WORDS;
      const texture = this.textures.get(b[o + 1]);
      const rect = scissor(b[o + 3], b[o + 4], b[o + 5], b[o + 6], this.width, this.height);
      if (!texture || !rect) continue;
      pass.setScissorRect(...rect);
      pass.setBindGroup(0, this.cameraGroup, [b[o + 2] * this.stride]);
      pass.setBindGroup(1, texture.group);
      if (b[o] === Pipeline.QUADS) {
        pass.setPipeline(this.quads);
        pass.setVertexBuffer(0, this.buffer, quadsAt);
        pass.draw(4, b[o + 8], 0, b[o + 7]);
      } else {
        pass.setPipeline(this.triangles);
        pass.setVertexBuffer(0, this.buffer, vertsAt);
        pass.draw(b[o + 8], 1, b[o + 7], 0);
      }
    }
    pass.end();
  }

  async readPixels() {
    const recovery = /** @type {DeviceRecovery} */ (this.recovery);
    await recovery.settled();
    if (recovery.fallback) return recovery.fallback.readPixels();
    const row = Math.ceil((this.width * 4) / 256) * 256;
    const buffer = this.device.createBuffer({ size: row * this.height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = this.device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture: this.target }, { buffer, bytesPerRow: row, rowsPerImage: this.height },
      [this.width, this.height]);
    this.device.queue.submit([encoder.finish()]);
    await buffer.mapAsync(GPUMapMode.READ);
    const padded = new Uint8Array(buffer.getMappedRange());
    const out = new Uint8Array(this.width * this.height * 4);
    for (let y = 0; y < this.height; y++) out.set(padded.subarray(y * row, y * row + this.width * 4), y * this.width * 4);
    buffer.destroy();
    return out;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.recovery && this.recovery.fallback) this.recovery.fallback.close();
    if (this.gpu !== null) this.gpu.close();
    for (const { texture } of this.textures.values()) texture.destroy();
    this.textures.clear();
    if (this.buffer) this.buffer.destroy();
    this.target.destroy();
    this.device.destroy();
  }
}
