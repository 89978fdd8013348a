// Render bundles for runs that repeat from frame to frame (used by gpureplay.js).
//
// A run (gpustream.js GpuRun: blocks of bind groups and draws, one object after another) costs a WebGPU
// call a command, as a page drawing straight on WebGPU pays them. Where a frame's run makes the calls
// the last frame's run at its place made (a uniform run, gpucolumns.js: the same bind groups in the
// same order and the same draw; any other: the same words; from the same pass state, on the same
// resources), the replay records them once into a GPURenderBundle and from then on executes that
// bundle, one call, as long as the run stays the same.
// Checked frames only reach here: a bundle holds calls the checker passed, as the calls made one by one
// would be. A bundle starts from nothing bound and leaves nothing bound (WebGPU's executeBundles), so the
// pass's state (PassBinding) is set at the start of the bundle and set again on the pass after it.
// Recording costs what making the calls does: a run is recorded when it is met a second time in a row,
// so a run that changes every frame records nothing.

import { GPU_INDEX_FORMATS, GPU_LIMITS } from "./abi.js";
import { CODE } from "./gpustream.js";

/** Bind a vertex buffer as SET_VERTEX_BUFFER's record says: a size of 0 binds the rest of the buffer,
 *  WebGPU's default (no size getter). */
export function setVertexBuffer(rp, slot, buffer, offset, size) {
  if (size !== 0) rp.setVertexBuffer(slot, buffer, offset, size);
  else if (offset !== 0) rp.setVertexBuffer(slot, buffer, offset);
  else rp.setVertexBuffer(slot, buffer);
}

/** Bind an index buffer as SET_INDEX_BUFFER's record says (`format` its GPU_INDEX_FORMATS number). */
export function setIndexBuffer(rp, buffer, format, offset, size) {
  const name = /** @type {GPUIndexFormat} */ (GPU_INDEX_FORMATS[format]);
  if (size !== 0) rp.setIndexBuffer(buffer, name, offset, size);
  else rp.setIndexBuffer(buffer, name, offset);
}

/** Record a uniform run's calls into render bundle encoder `encoder`: per repeat its bind group (by
 *  handle, `handles[from .. to)`, the groups in `groupOf`) at `draw[0]`, then the draw `draw[1 ..]`.
 *  gpureplay.js's sameDraws makes these calls on a pass: a loop of its own here, so that the pass's loop
 *  calls one receiver's methods (a call site V8 sees two classes at takes Blink's slower binding path). */
export function recordRun(encoder, groupOf, handles, from, to, draw) {
  const index = draw[0];
  for (let i = from; i < to; i++) {
    encoder.setBindGroup(index, groupOf[handles[i]]);
    encoder.draw(draw[1], draw[2], draw[3], draw[4]);
  }
}

/** Record the blocks of a run from word `at` to `end` of the list's words `b` (and `ints`), a block every
 *  `stride` words holding the ops `codes` at `offsets`, into `encoder`, the groups by handle in `groupOf`:
 *  the calls gpureplay.js's groupDraws and blockDraws make on a pass, kept apart from them as recordRun is
 *  from sameDraws (so those loops' call sites see one receiver class). */
export function recordBlocks(encoder, b, ints, groupOf, at, end, stride, codes, offsets) {
  for (let w = at; w < end; w += stride) {
    for (let s = 0; s < codes.length; s++) {
      const f = w + offsets[s] + 4;
      if (codes[s] === CODE.SET_BIND_GROUP) encoder.setBindGroup(b[f], groupOf[b[f + 1]]);
      else if (codes[s] === CODE.DRAW) encoder.draw(b[f], b[f + 1], b[f + 2], b[f + 3]);
      else encoder.drawIndexed(b[f], b[f + 1], b[f + 2], ints[f + 3], b[f + 4]); // DRAW_INDEXED
    }
  }
}

/** What a render pass has bound, as the replay set it: its pipeline, vertex buffers (buffer, offset,
 *  size by slot), index buffer and bind groups (by index). One per GpuReplay, begun by each pass. */
export class PassBinding {
  constructor() {
    /** @type {GPURenderPipeline | null} */ this.pipeline = null;
    /** @type {any[]} */ this.vertex = new Array(3 * GPU_LIMITS.MAX_VERTEX_BUFFERS).fill(undefined);
    /** @type {any[]} */ this.index = [undefined, 0, 0, 0]; // buffer (undefined: none), format, offset, size
    /** @type {Array<GPUBindGroup | undefined>} */ this.groups = new Array(GPU_LIMITS.MAX_BIND_GROUPS).fill(undefined);
  }

  /** A new pass: nothing bound. */
  begin() {
    this.pipeline = null;
    this.vertex.fill(undefined);
    this.index[0] = undefined;
    this.groups.fill(undefined);
  }

  setVertex(slot, buffer, offset, size) {
    const v = this.vertex;
    v[3 * slot] = buffer;
    v[3 * slot + 1] = offset;
    v[3 * slot + 2] = size;
  }

  setIndex(buffer, format, offset, size) {
    const x = this.index;
    x[0] = buffer;
    x[1] = format;
    x[2] = offset;
    x[3] = size;
  }

  /** Bind all of it on `rp` (a render pass or a render bundle encoder). */
  apply(rp) {
    if (this.pipeline !== null) rp.setPipeline(this.pipeline);
    const v = this.vertex;
    for (let slot = 0; slot < GPU_LIMITS.MAX_VERTEX_BUFFERS; slot++) {
      if (v[3 * slot] !== undefined) setVertexBuffer(rp, slot, v[3 * slot], v[3 * slot + 1], v[3 * slot + 2]);
    }
    const x = this.index;
    if (x[0] !== undefined) setIndexBuffer(rp, x[0], x[1], x[2], x[3]);
    for (let i = 0; i < this.groups.length; i++) if (this.groups[i] !== undefined) rp.setBindGroup(i, this.groups[i]);
  }

  /** Whether `other` binds the same, leaving out the bind group at `except` (a run sets it first). */
  same(other, except) {
    if (this.pipeline !== other.pipeline) return false;
    for (let i = 0; i < this.vertex.length; i++) if (this.vertex[i] !== other.vertex[i]) return false;
    for (let i = 0; i < 4; i++) if (this.index[i] !== other.index[i]) return false;
    for (let i = 0; i < this.groups.length; i++) if (i !== except && this.groups[i] !== other.groups[i]) return false;
    return true;
  }

  /** Take what `other` binds. */
  copy(other) {
    this.pipeline = other.pipeline;
    for (let i = 0; i < this.vertex.length; i++) this.vertex[i] = other.vertex[i];
    for (let i = 0; i < 4; i++) this.index[i] = other.index[i];
    for (let i = 0; i < this.groups.length; i++) this.groups[i] = other.groups[i];
  }
}

/** The calls of one run, as the last frame made them at that run's place, and their bundle. */
export class RunBundle {
  constructor() {
    this.version = -1; // GpuReplay.version when they were made: the objects they name were the replay's then
    /** @type {object | null} */ this.pass = null; // the pass's cache entry (GpuReplay.passes): its descriptor and formats
    this.bound = new PassBinding(); // what the pass had bound when the run began
    this.draw = new Float64Array(5); // a uniform run's bind group index and draw (count, instances, first, first instance); -1s for another run
    this.words = new Uint32Array(64); // a uniform run's repeats' bind group handles, another run's words: the first `count`
    this.count = 0;
    /** @type {GPURenderBundle | null} */ this.bundle = null; // recorded once the same calls came twice
  }

  /** Whether the run's calls are those kept: the same `version` and `pass`, the same `bound` state (but
   *  the group at the index `draw[0]`, which a uniform run sets first), `draw`, and `words[from .. to)`. */
  same(version, pass, bound, draw, words, from, to) {
    if (this.version !== version || this.pass !== pass || this.count !== to - from) return false;
    for (let i = 0; i < 5; i++) if (this.draw[i] !== draw[i]) return false;
    if (!this.bound.same(bound, draw[0])) return false;
    const kept = this.words;
    for (let i = from, j = 0; i < to; i++, j++) if (words[i] !== kept[j]) return false;
    return true;
  }

  /** Keep the run's calls (as `same` takes them), with no bundle yet. */
  keep(version, pass, bound, draw, words, from, to) {
    this.version = version;
    this.pass = pass;
    this.bound.copy(bound);
    for (let i = 0; i < 5; i++) this.draw[i] = draw[i];
    const count = to - from;
    if (this.words.length < count) this.words = new Uint32Array(2 * count);
    this.words.set(words.subarray(from, to));
    this.count = count;
    this.bundle = null;
  }
}
