// GpuReplay: runs a frame's checked GPU commands on WebGPU, on the 2D renderer's device (the
// browser's layerw/gfx/gpureplay.py).
//
// Each frame is first checked whole by GpuChecker (nothing reaches the GPU from a frame that
// fails); then resources are created and written, and passes recorded in one command encoder (a
// write after a recorded pass submits what came before, so writes land in stream order). The
// renderer records its own commands (its 2D pass, the copy to the canvas) in the same encoder after
// the last passes (takeEncoder), so a frame is one encoder, one finish() and one queue.submit, as a
// page drawing straight on WebGPU would do it, inside a validation error scope (run() to endFrame()). A
// run that makes the calls the last frame's run at its place made is executed from a render bundle
// recorded once (gpubundle.js): one call where a page drawing straight on WebGPU makes one a command. Texture
// GPU_FRAME is the renderer's own target, which the 2D batches then draw over. Resources are kept
// per game; after a restore or a join the game RESETs and declares them again (lw_gpu_fresh).
//
// WebGPU reports what it rejects asynchronously (a shader that does not compile, a binding the
// shader does not declare): such an error drops the game's GPU resources and is thrown by the next
// frame's run() once the scope's verdict is back, a ShaderError (with its WGSL line) or a
// GpuStreamError, as natively. One scope spans up to SCOPE_FRAMES frames: it is closed at the end of
// a frame that changed the game's resources (where what the checker passes may still be rejected:
// a pipeline, a bind group), after SCOPE_FRAMES frames of passes alone, before the resources are
// dropped (so a verdict on what was dropped does not drop what follows) and by a frame without GPU
// commands. A push and a pop per frame cost ~40 us of host time (Chromium, SwiftShader), a fifth of
// a raw WebGPU page's frame of a thousand draws; a validation error never loses the device, so a
// verdict a few frames late drops the same resources with the same message.

import {
  GPU_ADDRESS_MODES, GPU_BINDING_TYPES, GPU_BLENDS, GPU_COMPARE, GPU_CULL_MODES, GPU_FILTERS, GPU_FRAME,
  GPU_FRONT_FACES, GPU_LIMITS, GPU_LOAD_OPS, GPU_STEP_MODES, GPU_STORE_OPS, GPU_TEXTURE_FORMATS,
  GPU_TOPOLOGIES, GPU_VERTEX_FORMATS,
} from "./abi.js";
import { GpuStreamError, ShaderError } from "./errors.js";
import { PassBinding, RunBundle, recordBlocks, recordRun, setIndexBuffer, setVertexBuffer } from "./gpubundle.js";
import { GpuChecker } from "./gpucheck.js";
import { BIND_GROUP, BUFFER, LAYOUT, PIPELINE, SAMPLER, SHADER, TEXTURE, key, unkey } from "./gpuresources.js";
import { CODE, GpuRun } from "./gpustream.js";
import { boundLoops } from "./wgslloops.js";

/** Frames of passes alone one validation error scope spans, at most (a quarter of a second at 60 Hz). */
export const SCOPE_FRAMES = 16;

const BLENDS = {
  replace: undefined,
  alpha: { color: { srcFactor: "src-alpha", dstFactor: "one-minus-src-alpha" }, alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha" } },
  additive: { color: { srcFactor: "one", dstFactor: "one" }, alpha: { srcFactor: "one", dstFactor: "one" } },
  premultiplied: { color: { srcFactor: "one", dstFactor: "one-minus-src-alpha" }, alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha" } },
};
/** GPU_BINDING_TYPES name -> a layout entry's resource member */
function bindingEntry(type) {
  if (["uniform", "storage", "read-only-storage"].includes(type)) return { buffer: { type } };
  if (["float", "unfilterable-float", "depth"].includes(type)) return { texture: { sampleType: type } };
  return { sampler: { type } };
}

/** A WebGPU compilation message as a ShaderError with its line. */
export function shaderError(messages) {
  const first = messages.find((m) => m.type === "error") || messages[0];
  const line = first ? first.lineNum : 0;
  const detail = messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join("\n");
  return new ShaderError(`${line ? `WGSL:${line}` : "WGSL"}: the shader does not compile: ${detail}`, { line });
}

/** Record the draw whose record is at word `f` of `b`, leaving out the arguments that are WebGPU's
 *  defaults (one instance from vertex 0 and instance 0, most draws): fewer to convert per call. */
function draw(rp, b, f) {
  if (b[f + 1] === 1 && b[f + 2] === 0 && b[f + 3] === 0) rp.draw(b[f]);
  else rp.draw(b[f], b[f + 1], b[f + 2], b[f + 3]);
}

/** Record the blocks of a bind group (its record at word `g` of a block) and a draw (at word `d`)
 *  from word `at` to `end`, a block every `stride` words, the groups by handle in `groupOf`: the loop
 *  of most frames' draws, in a function of its own that V8 compiles apart from the rest of a run's replay. */
function groupDraws(rp, b, groupOf, at, end, stride, g, d) {
  for (let w = at; w < end; w += stride) {
    rp.setBindGroup(b[w + g], groupOf[b[w + g + 1]]);
    const f = w + d;
    if (b[f + 1] === 1 && b[f + 2] === 0 && b[f + 3] === 0) rp.draw(b[f]); // draw()'s own defaults, as draw() above
    else rp.draw(b[f], b[f + 1], b[f + 2], b[f + 3]);
  }
}

/** Record the repeats of a uniform run (gpucolumns.js RunColumns.uniform): a bind group at `index`
 *  then the same draw per repeat, the groups' handles at `handles[from .. to)`, the groups by handle in
 *  `groupOf`. The calls groupDraws would make, from 4 bytes a repeat rather than the list's. */
function sameDraws(rp, groupOf, handles, from, to, index, count, instances, first, firstInstance) {
  if (instances === 1 && first === 0 && firstInstance === 0) { // draw()'s own defaults, as draw() above
    for (let i = from; i < to; i++) {
      rp.setBindGroup(index, groupOf[handles[i]]);
      rp.draw(count);
    }
  } else {
    for (let i = from; i < to; i++) {
      rp.setBindGroup(index, groupOf[handles[i]]);
      rp.draw(count, instances, first, firstInstance);
    }
  }
}

/** Make the calls of run `run`'s blocks (any of its ops) from word `at` to `end` on pass `rp`, the groups by handle in `groupOf`. */
function blockDraws(rp, b, ints, groupOf, at, end, run) {
  const slots = run.codes.length;
  for (let w = at; w < end; w += run.words) {
    for (let s = 0; s < slots; s++) {
      const f = w + run.offsets[s] + 4;
      switch (run.codes[s]) {
        case CODE.SET_BIND_GROUP: rp.setBindGroup(b[f], groupOf[b[f + 1]]); break;
        case CODE.DRAW: draw(rp, b, f); break;
        default: rp.drawIndexed(b[f], b[f + 1], b[f + 2], ints[f + 3], b[f + 4]); // DRAW_INDEXED
      }
    }
  }
}

/** One game's GPU resources on a device; `targetView` is the frame's colour target, of `targetFormat`. */
export class GpuReplay {
  constructor(device, targetView, targetFormat, width, height) {
    this.device = device;
    this.targetView = targetView;
    this.targetFormat = targetFormat;
    this.checker = new GpuChecker(width, height);
    /** @type {Map<number, any>} key(kind, handle) -> WebGPU object (a texture: {texture, view}) */
    this.objects = new Map();
    /** @type {GPUCommandEncoder | null} */ this.encoder = null;
    /** @type {GPURenderPassEncoder | GPUComputePassEncoder | null} */ this.pass = null;
    this.scoped = false; // a validation error scope is pushed and not popped yet (closeScope)
    this.scopeFrames = 0; // frames ended in it
    this.inFrame = false; // between run() and endFrame()
    this.changed = false; // the frame in run() changed the game's resources (its checked table is new)
    /** @type {Error | null} */ this.failed = null; // what WebGPU rejected, thrown by the next run()
    this.epoch = 0; // counts clear(): a rejection of resources dropped since is not the game's now
    // A run's bind groups by handle, set for the handles of the run being replayed (replayRun): a run
    // switching among a few groups finds each in the Map once, then by index
    /** @type {Array<GPUBindGroup | undefined>} */ this.groupOf = new Array(GPU_LIMITS.MAX_HANDLE + 1).fill(undefined);
    this.version = 0; // counts changes to `objects`: what the caches below were made under
    // The render pass descriptors of the last frame, by the frame's pass number, each with the BEGIN_PASS
    // it was made for, the version of `objects` it was made under (the target view is this replay's for
    // its life) and its targets' formats (for a render bundle): a frame whose BEGIN_PASS is the last
    // frame's (GpuStream.add keeps a command parsed from the same bytes) begins its pass with it again
    /** @type {Array<{cmd: any, version: number, desc: GPURenderPassDescriptor, formats: GPURenderBundleEncoderDescriptor}>} */
    this.passes = [];
    this.passCount = 0; // render passes begun in this frame
    /** @type {{cmd: any, version: number, desc: GPURenderPassDescriptor, formats: GPURenderBundleEncoderDescriptor} | null} */
    this.passEntry = null; // the open render pass's
    this.bound = new PassBinding(); // what the open render pass has bound
    /** @type {RunBundle[]} */ this.bundles = []; // the last frame's runs' calls, by the frame's run number (gpubundle.js)
    this.runCount = 0; // runs replayed in this frame
    this.bundleHits = 0; // runs replayed from a bundle (a count for tests and profiles)
    this.runDraw = new Float64Array(5); // scratch: a uniform run's bind group index and draw (RunBundle.draw)
  }

  /** Check, then replay one frame's commands (a GpuStream); true when a pass drew into the frame's
   *  target. The last passes stay in the open encoder (takeEncoder), and what WebGPU rejects in the
   *  frame (until endFrame(), which the caller owes once this returns) drops the game's GPU resources. */
  run(stream) {
    if (this.failed) {
      const error = this.failed;
      this.failed = null;
      throw error;
    }
    const table = this.checker.table;
    const drew = this.checker.check(stream);
    this.changed = this.checker.table !== table;
    if (!this.scoped) this.openScope();
    this.inFrame = true;
    try {
      this.replay(stream);
    } catch (e) {
      this.changed = true; // closed now: the error is the frame's
      this.endFrame();
      throw e;
    }
    return drew;
  }

  /** The encoder holding the frame's last GPU passes, or a new one: the renderer records its own
   *  commands after them, then finishes and submits it before endFrame(). */
  takeEncoder() {
    const encoder = this.encoder === null ? this.device.createCommandEncoder() : this.encoder;
    this.encoder = null;
    this.pass = null;
    return encoder;
  }

  /** End run()'s frame (once the renderer submitted it): its error scope is closed when the frame
   *  changed the game's resources or the scope spans SCOPE_FRAMES frames. */
  endFrame() {
    if (!this.inFrame) return;
    this.inFrame = false;
    this.scopeFrames += 1;
    if (this.changed || this.scopeFrames >= SCOPE_FRAMES) this.closeScope();
  }

  openScope() {
    this.device.pushErrorScope("validation");
    this.scoped = true;
    this.scopeFrames = 0;
  }

  /** Pop the open validation error scope, if any: an error WebGPU reports in it drops the game's GPU
   *  resources, unless they were dropped since. */
  closeScope() {
    if (!this.scoped) return;
    this.scoped = false;
    const epoch = this.epoch;
    this.device.popErrorScope().then((error) => {
      if (error) this.fail(new GpuStreamError(`the GPU rejected the frame's GPU commands, the game's GPU resources are `
        + `dropped: ${error.message}`), epoch);
    });
  }

  /** Record `error` for the next run() and drop the resources, unless they were dropped since `epoch`. */
  fail(error, epoch) {
    if (epoch !== this.epoch || this.failed) return;
    this.failed = error;
    this.clear();
  }

  replay(stream) {
    this.encoder = null;
    this.pass = null;
    this.passCount = 0;
    this.runCount = 0;
    const b = stream.bits;
    const ints = stream.ints;
    const commands = stream.commands;
    for (let i = 0, n = stream.length; i < n; i++) {
      const cmd = commands[i];
      if (typeof cmd !== "number") {
        if (cmd instanceof GpuRun) this.replayRun(stream, cmd);
        else this.command(stream, cmd);
        continue;
      }
      const w = cmd >> 2;
      const f = w + 4;
      const rp = /** @type {GPURenderPassEncoder} */ (this.pass);
      switch (b[w]) { // a pass command with one record, read in place: the hot path
        case CODE.DISPATCH: /** @type {GPUComputePassEncoder} */ (this.pass).dispatchWorkgroups(b[f], b[f + 1], b[f + 2]); break;
        case CODE.DRAW: draw(rp, b, f); break;
        case CODE.DRAW_INDEXED: rp.drawIndexed(b[f], b[f + 1], b[f + 2], ints[f + 3], b[f + 4]); break;
        case CODE.SET_BIND_GROUP: { // kept in `bound` as the other set-calls below (a compute pass's too, unread)
          const group = this.objects.get(key(BIND_GROUP, b[f + 1]));
          rp.setBindGroup(b[f], group);
          this.bound.groups[b[f]] = group;
          break;
        }
        case CODE.SET_PIPELINE: {
          const pipeline = this.objects.get(key(PIPELINE, b[f]));
          rp.setPipeline(pipeline);
          this.bound.pipeline = pipeline;
          break;
        }
        case CODE.SET_VERTEX_BUFFER: {
          const buf = this.objects.get(key(BUFFER, b[f + 1]));
          setVertexBuffer(rp, b[f], buf, b[f + 2], b[f + 3]);
          this.bound.setVertex(b[f], buf, b[f + 2], b[f + 3]);
          break;
        }
        default: { // SET_INDEX_BUFFER
          const buf = this.objects.get(key(BUFFER, b[f]));
          setIndexBuffer(rp, buf, b[f + 1], b[f + 2], b[f + 3]);
          this.bound.setIndex(buf, b[f + 1], b[f + 2], b[f + 3]);
        }
      }
    }
  }

  /** Replay run `run` (checked: its commands are SET_BIND_GROUP, DRAW, DRAW_INDEXED in a render
   *  pass) a block at a time, straight from the list's words, or from a render bundle where the last
   *  frame's run at its place made the same calls (gpubundle.js). */
  replayRun(stream, run) {
    const rp = /** @type {GPURenderPassEncoder} */ (this.pass);
    const b = stream.bits;
    const stride = run.words;
    const slots = run.codes.length;
    const at = run.at >> 2;
    const end = at + run.rows * stride;
    const groupOf = this.groupOf;
    for (let s = 0; s < slots; s++) { // its bind groups by handle: repeat 0's, and the others' as the scan listed them
      const handles = run.columns.handles[s];
      if (handles === null) continue;
      const first = b[at + run.offsets[s] + 5];
      groupOf[first] = this.objects.get(key(BIND_GROUP, first));
      for (const h of handles) groupOf[h] = this.objects.get(key(BIND_GROUP, h)); // checked: each below MAX_HANDLE
    }
    const bundled = this.bundledRun(rp, stream, run);
    for (let s = 0; s < slots; s++) { // what the pass has bound after the run: each group slot's last repeat's group
      if (run.codes[s] !== CODE.SET_BIND_GROUP) continue;
      const f = end - stride + run.offsets[s] + 4;
      this.bound.groups[b[f]] = groupOf[b[f + 1]];
    }
    if (bundled) this.bound.apply(rp); // executeBundles leaves nothing bound
  }

  /** Make run `run`'s calls on render pass `rp`, from the pass's state in `bound` (what it bound before
   *  the run): from a bundle (true) where they are the calls the last frame's run at its place made from
   *  that state on the same objects (recorded the second time in a row), else one by one (false). A
   *  uniform run is told by its bind group index, its draw and its repeats' handles (RunColumns.uniform),
   *  any other by its words. */
  bundledRun(rp, stream, run) {
    const n = this.runCount++;
    if (n === this.bundles.length) this.bundles.push(new RunBundle());
    const kept = this.bundles[n];
    const b = stream.bits;
    const at = run.at >> 2;
    const end = at + run.rows * run.words;
    const groupOf = this.groupOf;
    const pairs = run.codes.length === 2 && run.codes[0] === CODE.SET_BIND_GROUP && run.codes[1] === CODE.DRAW;
    const uniform = pairs && run.columns.uniform;
    const draw = this.runDraw;
    let keyed; // the words that tell the run's calls: its handles (uniform) or its own words
    let from;
    let to;
    if (uniform) { // the handles alone, every repeat drawing what repeat 0 draws at its index (set before any draw)
      const g = at + run.offsets[0] + 4;
      const f = at + run.offsets[1] + 4;
      draw[0] = b[g];
      draw[1] = b[f];
      draw[2] = b[f + 1];
      draw[3] = b[f + 2];
      draw[4] = b[f + 3];
      keyed = stream.scanner.rowHandles;
      from = run.columns.rowsAt;
      to = from + run.rows;
    } else {
      draw.fill(-1); // no index left out of the state compared: the run's words say all it does
      keyed = b;
      from = at;
      to = end;
    }
    if (!kept.same(this.version, this.passEntry, this.bound, draw, keyed, from, to)) {
      kept.keep(this.version, this.passEntry, this.bound, draw, keyed, from, to);
      if (uniform) sameDraws(rp, groupOf, keyed, from, to, draw[0], draw[1], draw[2], draw[3], draw[4]);
      else if (pairs) groupDraws(rp, b, groupOf, at, end, run.words, run.offsets[0] + 4, run.offsets[1] + 4);
      else blockDraws(rp, b, stream.ints, groupOf, at, end, run);
      return false;
    }
    if (kept.bundle === null) { // the same calls a second time: recorded, then executed from here on
      const encoder = this.device.createRenderBundleEncoder(/** @type {any} */ (this.passEntry).formats);
      this.bound.apply(encoder);
      if (uniform) recordRun(encoder, groupOf, keyed, from, to, draw);
      else recordBlocks(encoder, b, stream.ints, groupOf, at, end, run.words, run.codes, run.offsets);
      kept.bundle = encoder.finish();
    }
    rp.executeBundles([kept.bundle]);
    this.bundleHits += 1;
    return true;
  }

  submit() {
    if (this.encoder !== null) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
  }

  /** Drop every resource (RESET, an error, close); the open scope's verdict is on what is dropped. */
  clear() {
    this.closeScope();
    for (const [k, obj] of this.objects) {
      const [kind] = unkey(k);
      if (kind === BUFFER) obj.destroy();
      else if (kind === TEXTURE) obj.texture.destroy();
    }
    this.objects.clear();
    this.version++;
    this.groupOf.fill(undefined); // holds no dropped group
    this.passes.length = 0; // nor a descriptor a dropped texture's view
    this.passEntry = null;
    this.bundles.length = 0; // nor a bundle a dropped object
    this.checker.reset();
    this.epoch++;
    if (this.inFrame) this.openScope(); // what the frame replays after its RESET
  }

  close() { this.clear(); }

  command(stream, cmd) {
    const r = cmd.rec;
    const dev = this.device;
    switch (cmd.name) {
      case "RESET": {
        this.submit();
        const table = this.checker.table;
        this.clear();
        this.checker.table = table; // the checked frame's table, which already holds what follows RESET
        break;
      }
      case "DESTROY": {
        this.submit();
        const k = key(r.kind, r.handle);
        const obj = this.objects.get(k);
        this.objects.delete(k);
        this.version++;
        if (r.kind === BUFFER) obj.destroy();
        else if (r.kind === TEXTURE) obj.texture.destroy();
        break;
      }
      case "BUFFER": this.put(key(BUFFER, r.handle), dev.createBuffer({ size: r.size, usage: r.usage })); break;
      case "WRITE_BUFFER":
        this.submit(); // writes land after the passes recorded before them
        if (cmd.data.length) dev.queue.writeBuffer(this.objects.get(key(BUFFER, r.handle)), r.offset, cmd.data);
        break;
      case "TEXTURE": {
        const texture = dev.createTexture({
          size: [r.width, r.height], format: /** @type {GPUTextureFormat} */ (GPU_TEXTURE_FORMATS[r.format]), usage: r.usage,
          mipLevelCount: Math.max(1, r.mip_levels),
        });
        this.put(key(TEXTURE, r.handle), { texture, view: texture.createView() });
        break;
      }
      case "WRITE_TEXTURE":
        this.submit();
        dev.queue.writeTexture({ texture: this.objects.get(key(TEXTURE, r.handle)).texture, mipLevel: r.mip_level, origin: [r.x, r.y] }, cmd.data,
          { bytesPerRow: r.bytes_per_row, rowsPerImage: r.height }, [r.width, r.height]);
        break;
      case "SAMPLER": {
        const compare = GPU_COMPARE[r.compare];
        /** @type {any} */
        const desc = {
          magFilter: GPU_FILTERS[r.mag_filter], minFilter: GPU_FILTERS[r.min_filter], mipmapFilter: GPU_FILTERS[r.mipmap_filter],
          addressModeU: GPU_ADDRESS_MODES[r.address_u], addressModeV: GPU_ADDRESS_MODES[r.address_v],
          addressModeW: GPU_ADDRESS_MODES[r.address_w],
        };
        if (compare !== "none") desc.compare = compare;
        this.put(key(SAMPLER, r.handle), dev.createSampler(desc));
        break;
      }
      case "SHADER": {
        const module = dev.createShaderModule({ code: boundLoops(cmd.text) }); // as natively: every loop bounded
        const epoch = this.epoch;
        module.getCompilationInfo().then((info) => {
          if (info.messages.some((m) => m.type === "error")) this.fail(shaderError(info.messages), epoch);
        });
        this.put(key(SHADER, r.handle), module);
        break;
      }
      case "LAYOUT":
        this.put(key(LAYOUT, r.handle), dev.createBindGroupLayout({ entries: cmd.items.map((e) => ({
          binding: e.binding, visibility: e.visibility, ...bindingEntry(GPU_BINDING_TYPES[e.type]) })) }));
        break;
      case "PIPELINE": this.pipeline(cmd, r); break;
      case "BIND_GROUP": {
        const layout = r.layout ? this.objects.get(key(LAYOUT, r.layout)) : this.objects.get(key(PIPELINE, r.pipeline)).getBindGroupLayout(r.group);
        const entries = cmd.items.map((e) => {
          if (e.kind === BUFFER) {
            const buffer = this.objects.get(key(BUFFER, e.handle));
            return { binding: e.binding, resource: { buffer, offset: e.offset, size: e.size || buffer.size - e.offset } };
          }
          return { binding: e.binding, resource: e.kind === TEXTURE ? this.objects.get(key(TEXTURE, e.handle)).view : this.objects.get(key(SAMPLER, e.handle)) };
        });
        this.put(key(BIND_GROUP, r.handle), dev.createBindGroup({ layout, entries }));
        break;
      }
      case "BEGIN_PASS": this.beginPass(cmd, r); break;
      case "COMPUTE_PIPELINE":
        this.put(key(PIPELINE, r.handle), dev.createComputePipeline({
          layout: this.pipelineLayout(r), compute: { module: this.objects.get(key(SHADER, r.shader)), entryPoint: cmd.names[0] } }));
        break;
      case "BEGIN_COMPUTE_PASS":
        if (this.encoder === null) this.encoder = dev.createCommandEncoder();
        this.pass = this.encoder.beginComputePass();
        break;
      case "DISPATCH": /** @type {GPUComputePassEncoder} */ (this.pass).dispatchWorkgroups(r.x, r.y, r.z); break;
      case "END_PASS":
        /** @type {GPURenderPassEncoder | GPUComputePassEncoder} */ (this.pass).end();
        this.pass = null;
        break;
      case "DRAW": case "DRAW_INDEXED": this.drawBatch(stream, cmd); break;
      default: throw new GpuStreamError(`GPU ${cmd.name} cannot be replayed`);
    }
  }

  /** A pipeline record's explicit layout, or "auto" when it names none. */
  pipelineLayout(r) {
    const layouts = r.layouts.slice(0, r.layout_count).map((h) => this.objects.get(key(LAYOUT, h)));
    return layouts.length ? this.device.createPipelineLayout({ bindGroupLayouts: layouts }) : "auto";
  }

  pipeline(cmd, r) {
    const layout = this.pipelineLayout(r);
    const module = this.objects.get(key(SHADER, r.shader));
    let at = 0;
    const buffers = cmd.buffers.map((b) => {
      const attributes = cmd.attributes.slice(at, at + b.attribute_count).map((a) => ({
        shaderLocation: a.location, offset: a.offset, format: GPU_VERTEX_FORMATS[a.format] }));
      at += b.attribute_count;
      return { arrayStride: b.stride, stepMode: GPU_STEP_MODES[b.step_mode], attributes };
    });
    const targets = cmd.items.map((c) => ({
      format: GPU_TEXTURE_FORMATS[c.format], writeMask: c.write_mask || 0xF, blend: BLENDS[GPU_BLENDS[c.blend]] }));
    /** @type {any} */
    const desc = {
      layout, vertex: { module, entryPoint: cmd.names[0], buffers },
      primitive: { topology: GPU_TOPOLOGIES[r.topology], cullMode: GPU_CULL_MODES[r.cull_mode], frontFace: GPU_FRONT_FACES[r.front_face] },
    };
    if (r.depth_format) {
      desc.depthStencil = { format: GPU_TEXTURE_FORMATS[r.depth_format], depthWriteEnabled: Boolean(r.depth_write),
        depthCompare: GPU_COMPARE[r.depth_compare] };
    }
    if (targets.length) desc.fragment = { module, entryPoint: cmd.names[1], targets };
    this.put(key(PIPELINE, r.handle), this.device.createRenderPipeline(desc));
  }

  /** Set `objects`' entry `k` to `obj` (a new resource). */
  put(k, obj) {
    this.objects.set(k, obj);
    this.version++;
  }

  beginPass(cmd, r) {
    if (this.encoder === null) this.encoder = this.device.createCommandEncoder();
    const n = this.passCount++;
    this.bound.begin();
    const last = n < this.passes.length ? this.passes[n] : null;
    if (last !== null && last.cmd === cmd && last.version === this.version) {
      this.passEntry = last;
      this.pass = this.encoder.beginRenderPass(last.desc);
      return;
    }
    const made = { cmd, version: this.version, desc: this.passDescriptor(cmd, r), formats: this.passFormats(cmd, r) };
    if (last === null) this.passes.push(made);
    else this.passes[n] = made;
    this.passEntry = made;
    this.pass = this.encoder.beginRenderPass(made.desc);
  }

  /** The formats of BEGIN_PASS `cmd`'s targets (its record `r`), as a render bundle for its pass is made. */
  passFormats(cmd, r) {
    /** @type {GPUTextureFormat[]} */
    const colorFormats = [];
    for (const a of cmd.items) colorFormats.push(a.texture === GPU_FRAME ? this.targetFormat : this.objects.get(key(TEXTURE, a.texture)).texture.format);
    /** @type {GPURenderBundleEncoderDescriptor} */
    const formats = { colorFormats };
    if (r.depth_texture) formats.depthStencilFormat = this.objects.get(key(TEXTURE, r.depth_texture)).texture.format;
    return formats;
  }

  /** The render pass descriptor of BEGIN_PASS `cmd` (its record `r`). @returns {GPURenderPassDescriptor} */
  passDescriptor(cmd, r) {
    const colorAttachments = [];
    for (const a of cmd.items) { // a loop, not a closure per pass
      colorAttachments.push({ view: a.texture === GPU_FRAME ? this.targetView : this.objects.get(key(TEXTURE, a.texture)).view,
        loadOp: GPU_LOAD_OPS[a.load_op], storeOp: GPU_STORE_OPS[a.store_op], clearValue: a.clear });
    }
    /** @type {any} */
    const desc = { colorAttachments };
    if (r.depth_texture) {
      const { texture, view } = this.objects.get(key(TEXTURE, r.depth_texture));
      desc.depthStencilAttachment = { view, depthClearValue: r.depth_clear, depthLoadOp: GPU_LOAD_OPS[r.depth_load_op],
        depthStoreOp: GPU_STORE_OPS[r.depth_store_op] };
      if (texture.format.includes("stencil")) {
        Object.assign(desc.depthStencilAttachment, { stencilLoadOp: "clear", stencilStoreOp: "store", stencilClearValue: 0 });
      }
    }
    return desc;
  }

  drawBatch(stream, cmd) {
    const rp = /** @type {GPURenderPassEncoder} */ (this.pass);
    const b = stream.bits;
    if (cmd.name === "DRAW") {
      for (let i = 0, w = cmd.w; i < cmd.draws; i++, w += 4) draw(rp, b, w);
    } else {
      const ints = stream.ints;
      for (let i = 0, w = cmd.w; i < cmd.draws; i++, w += 5) rp.drawIndexed(b[w], b[w + 1], b[w + 2], ints[w + 3], b[w + 4]);
    }
  }
}
