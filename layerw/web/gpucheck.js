// GpuChecker: checks a frame's GPU commands before any reaches the GPU, ported from
// layerw/gfx/gpucheck.py: the same rules, limits and messages, held to the same hostile cases
// (tests/gfx/gpucases.py runs every case through both).
//
// Every handle, size, offset, format, enum and binding is checked against the game's GpuTable and
// the limits in abi.js (resources, memory, passes, draws, vertices per frame), and the pass
// structure (pass commands only inside a pass, every pass ended, pipelines matching the pass's
// targets, draws inside their bound buffers). A hostile frame is a GpuStreamError naming the
// command and its byte offset; the table changes only when the whole frame passes. A GpuRun (repeated
// blocks of pass commands) is checked a column at a time (from the folds its parse made, gpucolumns.js),
// and one command at a time, with the same verdicts and messages, where a column check does not pass
// (as layerw/gfx/gpucheck.py does).

import {
  GPU_ADDRESS_MODES, GPU_BINDING_TYPES, GPU_BLENDS, GPU_BUFFER_USAGE, GPU_COMPARE, GPU_CULL_MODES, GPU_FILTERS,
  GPU_FRAME, GPU_FRONT_FACES, GPU_INDEX_FORMATS, GPU_KINDS, GPU_LIMITS, GPU_LOAD_OPS, GPU_STEP_MODES, GPU_STORE_OPS,
  GPU_TEXEL_BYTES, GPU_TEXTURE_FORMATS, GPU_TEXTURE_USAGE, GPU_TOPOLOGIES, GPU_VERTEX_BYTES, GPU_VERTEX_FORMATS,
  GPU_VISIBILITY,
} from "./abi.js";
import { GpuStreamError } from "./errors.js";
import {
  BIND_GROUP, BUFFER, BindGroup, Buffer, FRAME_FORMAT, GpuTable, LAYOUT, Layout, PIPELINE, Pipeline, SAMPLER,
  SHADER, Sampler, Shader, TEXTURE, Texture, VertexSlot, key,
} from "./gpuresources.js";
import { FIELDS } from "./gpucolumns.js";
import { CheckMemo } from "./gpumemo.js";
import { CODE, GpuRun } from "./gpustream.js";
import { pyFloat, pyList } from "./pyformat.js";
import { endlessLoops } from "./wgslloops.js";

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const BUF_USAGE = sum(GPU_BUFFER_USAGE);
const TEX_USAGE = sum(GPU_TEXTURE_USAGE);
const ONE_LEVEL_USAGE = GPU_TEXTURE_USAGE.RENDER_ATTACHMENT | GPU_TEXTURE_USAGE.STORAGE_BINDING;
const VIS = sum(GPU_VISIBILITY);
const L = GPU_LIMITS;
const BUFFER_BINDINGS = { uniform: GPU_BUFFER_USAGE.UNIFORM, storage: GPU_BUFFER_USAGE.STORAGE, "read-only-storage": GPU_BUFFER_USAGE.STORAGE };
const TEXTURE_BINDINGS = ["float", "unfilterable-float", "depth"];
const SAMPLER_BINDINGS = ["filtering", "non-filtering", "comparison"];
const PASS_OPS = new Set(["SET_PIPELINE", "SET_BIND_GROUP", "SET_VERTEX_BUFFER", "SET_INDEX_BUFFER", "DRAW", "DRAW_INDEXED", "DISPATCH", "END_PASS"]);
const MUTATING = new Set(["RESET", "DESTROY", "BUFFER", "TEXTURE", "SAMPLER", "SHADER", "LAYOUT", "PIPELINE", "BIND_GROUP",
  "COMPUTE_PIPELINE"]);
const hex = (n) => `0x${n.toString(16)}`;
const has = (bits, mask) => (bits & mask) !== 0; // u32 & u32: nonzero-ness survives JS's int32 arithmetic
/** The same colour formats in the same order (compared in place: a pass sets its pipeline every frame). */
function sameFormats(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The name of enum `code` in `names` (a GpuStreamError if out of range, or 0 when not `zero`). */
export function enumName(names, code, what, zero = true) {
  if (!((zero ? 0 : 1) <= code && code < names.length)) {
    throw new GpuStreamError(`${what} ${code} is not one of ${zero ? 0 : 1} .. ${names.length - 1}`);
  }
  return names[code];
}

/** What a render or compute pass has bound so far: one per FrameCheck, begun again by each pass (begin),
 *  never made per pass (see FrameCheck). */
class PassState {
  constructor() {
    /** @type {string[]} */ this.colors = [];
    /** @type {string | null} */ this.depth = null;
    this.compute = false; // a compute pass: pipelines are compute pipelines, and it dispatches, never draws
    /** @type {Pipeline | null} */ this.pipeline = null;
    this.pipelineHandle = 0;
    /** @type {Array<BindGroup | undefined>} */ this.groups = new Array(L.MAX_BIND_GROUPS).fill(undefined); // by index
    this.groupsChecked = false; // the bound groups fit the pipeline (reset by SET_PIPELINE, SET_BIND_GROUP)
    /** @type {Map<number, number>} */ this.vertex = new Map(); // slot -> bytes bound
    /** @type {[number, number] | null} */ this.index = null; // [bytes bound, bytes per index]
    // After a draw passed: the furthest vertex and instance element a draw may read with what is bound
    // (reset by SET_PIPELINE and SET_VERTEX_BUFFER), so the draws after it are checked in a few compares
    /** @type {[number, number] | null} */ this.limits = null;
  }

  /** A new pass into colour targets of formats `colors` and depth format `depth` (or null), nothing bound. */
  begin(colors, depth, compute) {
    this.colors = colors;
    this.depth = depth;
    this.compute = compute;
    this.pipeline = null;
    this.pipelineHandle = 0;
    this.groups.fill(undefined);
    this.groupsChecked = false;
    this.vertex.clear();
    this.index = null;
    this.limits = null;
    return this;
  }
}

/** The furthest vertex and instance element (exclusive) a draw may read from the bound slots of the
 *  pipeline set; called after a draw passed, so every slot is bound. @returns {[number, number]} */
function drawLimits(state) {
  let vertex = Infinity;
  let instance = Infinity;
  const slots = state.pipeline.slots;
  for (let slot = 0; slot < slots.length; slot++) {
    const vs = slots[slot];
    const room = state.vertex.get(slot) - vs.extent;
    const end = room < 0 ? 0 : vs.stride ? Math.floor(room / vs.stride) + 1 : Infinity;
    if (vs.step === "vertex") vertex = Math.min(vertex, end);
    else instance = Math.min(instance, end);
  }
  return [vertex, instance];
}

/** Checks frames of one game's GPU commands; `table` is what the game holds after the last frame that passed. */
export class GpuChecker {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.table = new GpuTable();
    this.frame = new FrameCheck(this); // begun again by every frame (see FrameCheck)
    this.memo = new CheckMemo(); // the last frame that passed and changed nothing, with its verdict
  }

  /** Check one frame's commands (a GpuStream; adopt its table); true when a pass draws into the frame.
   *  A frame that reads as the last kept one does (gpumemo.js) takes its verdict. */
  check(stream) {
    if (this.memo.matches(stream, this.table)) return this.memo.drew;
    const frame = this.frame.begin(this.table, stream);
    const commands = stream.commands;
    let i = 0; // the GPU command's index (a run holds many)
    for (let k = 0, n = stream.length; k < n; k++) {
      const cmd = commands[k];
      if (cmd instanceof GpuRun) {
        i = frame.run(cmd, i);
        continue;
      }
      try {
        if (typeof cmd === "number") frame.fast(cmd);
        else frame.command(cmd);
      } catch (e) {
        throw located(stream, cmd, i, e);
      }
      i++;
    }
    if (frame.passState !== null) throw new GpuStreamError("the frame ends inside a render pass or compute pass (no END_PASS)");
    if (frame.copied || frame.rowsRead) this.memo.forget(); // its verdict is on what it changed, or on rows no fold keeps
    else this.memo.keep(frame.table, frame.drewFrame); // what matches() read of it above
    this.table = frame.table;
    return frame.drewFrame;
  }

  reset() {
    this.table = new GpuTable();
    this.memo.forget();
  }
}

/** Error `e` of command `cmd` (the `i`th), as the frame's error: where it is, then what it says. */
function located(stream, cmd, i, e) {
  return e instanceof GpuStreamError ? new GpuStreamError(`${stream.where(cmd, i)}: ${e.message}`) : e;
}

/** Whether bind group `g` at index `i` fits pipeline `p` (set as `pipelineHandle`). */
function fits(p, pipelineHandle, i, g) {
  if (p.layouts.length) return i >= p.layouts.length || (g !== undefined && g.layout === p.layouts[i]);
  return g === undefined || g.pipeline === pipelineHandle;
}

/** One frame's check. The checker keeps one FrameCheck and its PassState and begins them again each
 *  frame and pass, rather than making them per frame: V8's optimised checker code holds their hidden
 *  classes weakly, and a memory-reducing GC between frames, when no instance of a per-frame class is
 *  alive, drops those classes and with them that code (Chromium's --trace-deopt: "embedded weak objects
 *  cleared"), so a game's checks ran unoptimised for hundreds of frames after each such GC. */
class FrameCheck {
  /** @param {GpuChecker} checker */
  constructor(checker) {
    this.checker = checker;
    this.table = checker.table;
    this.copied = false; // the table is copied at the frame's first change: a frame of passes alone copies nothing
    /** @type {any} */ this.stream = null;
    this.width = checker.width;
    this.height = checker.height;
    this.kept = new PassState(); // every pass's state (one pass at a time), begun by BEGIN_PASS and BEGIN_COMPUTE_PASS
    /** @type {PassState | null} */ this.passState = null;
    this.passes = 0;
    this.draws = 0;
    this.vertices = 0;
    this.workgroups = 0;
    this.drewFrame = false;
    this.rowsRead = false; // a run was checked row by row (its folds do not say all the check read)
  }

  /** Begin a frame of `stream`'s commands on `table` (the game's, after the last frame that passed). */
  begin(table, stream) {
    this.table = table;
    this.copied = false;
    this.stream = stream;
    this.passState = null;
    this.passes = 0;
    this.draws = 0;
    this.vertices = 0;
    this.workgroups = 0;
    this.drewFrame = false;
    this.rowsRead = false;
    return this;
  }

  /** A pass command with one record, read in place at byte `at`. */
  fast(at) {
    const state = this.passState;
    if (state === null) throw new GpuStreamError("only allowed inside a pass");
    const b = this.stream.bits;
    const w = at >> 2;
    const code = b[w];
    const f = w + 4;
    switch (code) {
      case CODE.DRAW: {
        const limits = state.limits;
        if (limits !== null) { // the hot path: the same checks as drawn()'s, on the bounds it found
          const count = b[f];
          const instances = b[f + 1];
          const vertices = this.vertices + count * instances;
          if (b[f + 2] + count <= limits[0] && b[f + 3] + instances <= limits[1] && this.draws < L.MAX_DRAWS
              && vertices <= L.MAX_VERTICES) {
            this.draws += 1;
            this.vertices = vertices;
            break;
          }
        }
        this.drawOne(state, b[f], b[f + 1], b[f + 2], b[f + 3]);
        state.limits = drawLimits(state);
        break;
      }
      case CODE.SET_BIND_GROUP: {
        const index = b[f];
        const group = this.table.resources.get(key(BIND_GROUP, b[f + 1]));
        if (index >= L.MAX_BIND_GROUPS || !(group instanceof BindGroup)) {
          throw new GpuStreamError(`no bind group ${b[f + 1]}, or index ${index} is not below ${L.MAX_BIND_GROUPS}`);
        }
        state.groups[index] = group;
        if (state.groupsChecked && state.pipeline !== null) this.checkGroup(state, state.pipeline, index);
        break;
      }
      case CODE.DRAW_INDEXED: {
        if (state.index === null) throw new GpuStreamError("no index buffer is bound");
        const [bound, size] = state.index;
        if ((b[f + 2] + b[f]) * size > bound) {
          throw new GpuStreamError(`draws read indices up to ${b[f + 2] + b[f]}, the index buffer holds ${Math.floor(bound / size)}`);
        }
        this.drawOne(state, b[f], b[f + 1], null, b[f + 4]);
        break;
      }
      case CODE.SET_PIPELINE: this.setPipeline(b[f]); break;
      case CODE.SET_VERTEX_BUFFER: this.setVertexBuffer(b[f], b[f + 1], b[f + 2], b[f + 3]); break;
      case CODE.DISPATCH: this.dispatch(b[f], b[f + 1], b[f + 2]); break;
      default: this.setIndexBuffer(b[f], b[f + 1], b[f + 2], b[f + 3]); // SET_INDEX_BUFFER
    }
  }

  /** Check run `run`, whose first command is the frame's GPU command `i`; the index after it. The
   *  first block is checked as single commands while the pass is not set for the column checks (its
   *  draw checks the bound groups), and every block after it too where a column check does not pass. */
  run(run, i) {
    let first = 0;
    if (!this.runReady(run)) {
      this.each(run, 0, 1, i);
      first = 1;
    }
    if (!(this.runReady(run) && this.columns(run, first))) {
      this.rowsRead = true;
      this.each(run, first, run.rows, i + first * run.codes.length);
    }
    return i + run.length;
  }

  /** Check repeats `first` .. `last` (exclusive) of `run` one command at a time, the first being the frame's GPU command `i`. */
  each(run, first, last, i) {
    const slots = run.codes.length;
    for (let row = first; row < last; row++) {
      for (let slot = 0; slot < slots; slot++, i++) {
        const at = run.commandAt(row, slot);
        try {
          this.fast(at);
        } catch (e) {
          throw located(this.stream, at, i, e);
        }
      }
    }
  }

  /** Whether the pass is set for `run`'s column checks: a render pass whose pipeline has its groups
   *  checked and every vertex slot (and the index buffer, for indexed draws) bound. */
  runReady(run) {
    const state = this.passState;
    if (state === null || state.compute || state.pipeline === null || !state.groupsChecked) return false;
    if (state.index === null && run.codes.includes(CODE.DRAW_INDEXED)) return false;
    for (let slot = 0; slot < state.pipeline.slots.length; slot++) if (!state.vertex.has(slot)) return false;
    return true;
  }

  /** Check repeats `first` .. of `run` (the pass being runReady) a column at a time: what the
   *  single-command checks accept, on every row at once, from the folds of repeats 1 .. made while
   *  the run was parsed (gpucolumns.js) and, when `first` is 0, repeat 0 read in place. False, with
   *  nothing changed, where any row would need more than the single-command hot path's compares. */
  columns(run, first) {
    const state = /** @type {PassState} */ (this.passState);
    const p = /** @type {Pipeline} */ (state.pipeline);
    const b = this.stream.bits;
    const v = run.columns.values;
    const limits = drawLimits(state);
    const vertexEnd = limits[0];
    const instanceEnd = limits[1];
    let draws = 0;
    let vertices = 0;
    for (let slot = 0; slot < run.codes.length; slot++) {
      const code = run.codes[slot];
      const f = (run.at >> 2) + run.offsets[slot] + 4; // the record of this slot in repeat 0
      const o = slot * FIELDS;
      if (code === CODE.SET_BIND_GROUP) {
        const index = first === 0 ? b[f] : v[o];
        if (index >= L.MAX_BIND_GROUPS || v[o] !== index || v[o + 1] === 0 || v[o + 2] !== 0) return false;
        if (first === 0 && !this.groupFits(p, state, index, b[f + 1])) return false;
        for (const handle of /** @type {number[]} */ (run.columns.handles[slot])) {
          if (!this.groupFits(p, state, index, handle)) return false;
        }
        continue; // its last repeat's group is bound below, once every column passed
      }
      // draw: vertex_count instance_count first_vertex first_instance;
      // indexed: index_count instance_count first_index base_vertex first_instance
      const indexed = code === CODE.DRAW_INDEXED;
      let read = v[o];
      let instanceRead = v[o + 1];
      let most = v[o + 2];
      let sum = v[o + 3];
      if (first === 0) { // fold in repeat 0, as RunScanner folds the others
        const each = b[f] * b[f + 1];
        read = Math.max(read, b[f + 2] + b[f]);
        instanceRead = Math.max(instanceRead, b[f + (indexed ? 4 : 3)] + b[f + 1]);
        most = Math.max(most, each);
        sum += each;
      }
      if (indexed) {
        const bound = /** @type {[number, number]} */ (state.index);
        if (read * bound[1] > bound[0]) return false;
      } else if (read > vertexEnd) return false;
      if (instanceRead > instanceEnd || most > L.MAX_VERTICES) return false; // a sum with a draw over the limit is not read
      vertices += sum;
      draws += run.rows - first;
    }
    if (this.draws + draws > L.MAX_DRAWS || this.vertices + vertices > L.MAX_VERTICES) return false;
    this.draws += draws;
    this.vertices += vertices;
    for (let slot = 0; slot < run.codes.length; slot++) { // each group slot binds its last repeat's group, as its rows would
      if (run.codes[slot] !== CODE.SET_BIND_GROUP) continue;
      const f = (run.at >> 2) + run.offsets[slot] + 4 + (run.rows - 1) * run.words;
      state.groups[b[f]] = this.table.resources.get(key(BIND_GROUP, b[f + 1]));
    }
    if (draws) state.limits = limits; // as a draw that passed sets them (a new array per call)
    return true;
  }

  /** Whether bind group `handle` exists and fits the pass's pipeline `p` at `index`. */
  groupFits(p, state, index, handle) {
    const group = this.table.resources.get(key(BIND_GROUP, handle));
    return group instanceof BindGroup && fits(p, state.pipelineHandle, index, group);
  }

  drawOne(state, count, instances, first, firstInstance) {
    const vertexEnd = first !== null && count ? first + count : 0;
    this.drawn(state, 1, count * instances, vertexEnd, instances ? firstInstance + instances : 0);
  }

  /** Draws of `vertices` vertex invocations in all, reading per-vertex data up to element
   *  `vertexEnd` (0: nothing known, e.g. indexed) and per-instance data up to `instanceEnd`. */
  drawn(state, draws, vertices, vertexEnd, instanceEnd) {
    const p = state.pipeline;
    if (state.compute) throw new GpuStreamError("a compute pass dispatches, it does not draw");
    if (p === null) throw new GpuStreamError("no pipeline is set");
    this.draws += draws;
    this.vertices += vertices;
    if (this.draws > L.MAX_DRAWS || this.vertices > L.MAX_VERTICES) {
      throw new GpuStreamError(`over the frame's limit of ${L.MAX_DRAWS} draws or ${L.MAX_VERTICES} vertices (count x instances)`);
    }
    if (!state.groupsChecked) this.checkGroups(state, p);
    for (let slot = 0; slot < p.slots.length; slot++) {
      const vs = p.slots[slot];
      const bound = state.vertex.get(slot);
      if (bound === undefined) throw new GpuStreamError(`vertex buffer slot ${slot} is not bound`);
      const end = vs.step === "vertex" ? vertexEnd : instanceEnd;
      if (end && (end - 1) * vs.stride + vs.extent > bound) {
        throw new GpuStreamError(`draws read past the ${bound} bytes bound at vertex buffer slot ${slot}`);
      }
    }
  }

  checkGroups(state, p) {
    const n = p.layouts.length || L.MAX_BIND_GROUPS;
    for (let i = 0; i < n; i++) this.checkGroup(state, p, i);
    state.groupsChecked = true;
  }

  /** The bind group at index `i` fits pipeline `p` (an explicit layout needs one at every index). */
  checkGroup(state, p, i) {
    const g = state.groups[i];
    if (fits(p, state.pipelineHandle, i, g)) return;
    if (p.layouts.length) throw new GpuStreamError(`group ${i} needs a bind group of layout ${p.layouts[i]}`);
    throw new GpuStreamError(`bind group at ${i} was made for another pipeline's auto layout`);
  }

  command(cmd) {
    const inPass = this.passState !== null;
    if (PASS_OPS.has(cmd.name) !== inPass) {
      throw new GpuStreamError(!inPass ? "only allowed inside a pass" : "not allowed inside a pass (END_PASS first)");
    }
    if (MUTATING.has(cmd.name) && !this.copied) {
      this.table = this.table.copy();
      this.copied = true;
    }
    const r = cmd.rec;
    switch (cmd.name) {
      case "RESET": this.table.clear(); break;
      case "DESTROY":
        if (!Object.values(GPU_KINDS).includes(r.kind)) throw new GpuStreamError(`kind ${r.kind} is not an LW_GPU_KIND_*`);
        this.table.remove(r.kind, r.handle, "destroy");
        break;
      case "BUFFER": this.buffer(r); break;
      case "WRITE_BUFFER": this.writeBuffer(cmd, r); break;
      case "TEXTURE": this.texture(r); break;
      case "WRITE_TEXTURE": this.writeTexture(cmd, r); break;
      case "SAMPLER": this.sampler(r); break;
      case "SHADER":
        if (isBlank(cmd.text)) throw new GpuStreamError("the WGSL source is empty");
        for (const line of endlessLoops(cmd.text).slice(0, 1)) {
          throw new GpuStreamError(`WGSL line ${line}: this loop has no break or return, so it never ends`);
        }
        this.table.add(SHADER, r.handle, new Shader(), "shader");
        break;
      case "LAYOUT": this.layout(cmd, r); break;
      case "PIPELINE": this.pipeline(cmd, r); break;
      case "BIND_GROUP": this.bindGroup(cmd, r); break;
      case "BEGIN_PASS": this.beginPass(cmd, r); break;
      case "COMPUTE_PIPELINE": this.computePipeline(cmd, r); break;
      case "BEGIN_COMPUTE_PASS":
        this.countPass();
        this.passState = this.kept.begin([], null, true);
        break;
      case "DISPATCH": this.dispatch(r.x, r.y, r.z); break;
      case "END_PASS": this.passState = null; break;
      case "DRAW": this.drawBatch(cmd, false); break;
      case "DRAW_INDEXED": this.drawBatch(cmd, true); break;
      default: throw new GpuStreamError(`${cmd.name} with this count or tail is not valid`);
    }
  }

  // --- resources -----------------------------------------------------------------------------------

  buffer(r) {
    if (!(r.size > 0 && r.size <= L.MAX_BUFFER_BYTES) || r.size % 4) {
      throw new GpuStreamError(`size ${r.size} must be a multiple of 4 in 4 .. ${L.MAX_BUFFER_BYTES}`);
    }
    if (!r.usage || has(r.usage, ~BUF_USAGE)) {
      throw new GpuStreamError(`usage ${hex(r.usage)} must be LW_GPU_BUFFER_* bits (mapping is not offered)`);
    }
    this.table.add(BUFFER, r.handle, new Buffer(r.size, r.usage), "buffer");
  }

  writeBuffer(cmd, r) {
    const buf = this.bufferOf(r.handle, GPU_BUFFER_USAGE.COPY_DST, "COPY_DST");
    const n = cmd.data.length;
    if (r.offset % 4 || n % 4 || r.offset + n > buf.size) {
      throw new GpuStreamError(`${n} bytes at offset ${r.offset} must be multiples of 4 inside the buffer's ${buf.size} bytes`);
    }
  }

  texture(r) {
    const fmt = enumName(GPU_TEXTURE_FORMATS, r.format, "format", false);
    const limit = L.MAX_TEXTURE_SIZE;
    if (!(r.width > 0 && r.width <= limit && r.height > 0 && r.height <= limit)) {
      throw new GpuStreamError(`size ${r.width}x${r.height} must be within 1 .. ${limit}`);
    }
    if (!r.usage || has(r.usage, ~TEX_USAGE)) throw new GpuStreamError(`usage ${hex(r.usage)} must be LW_GPU_TEXTURE_* bits`);
    const levels = Math.max(1, r.mip_levels);
    if (levels > 32 - Math.clz32(Math.max(r.width, r.height))) {
      throw new GpuStreamError(`${r.mip_levels} mip levels, more than a ${r.width}x${r.height} texture has`);
    }
    const tex = new Texture(r.width, r.height, fmt, r.usage, levels);
    if (tex.depth && has(r.usage, GPU_TEXTURE_USAGE.COPY_DST | GPU_TEXTURE_USAGE.STORAGE_BINDING)) {
      throw new GpuStreamError(`a ${fmt} texture cannot be written (COPY_DST, STORAGE_BINDING)`);
    }
    if (levels > 1 && (tex.depth || has(r.usage, ONE_LEVEL_USAGE))) {
      throw new GpuStreamError(`a ${fmt} texture with usage ${hex(r.usage)} has one mip level, not ${levels} `
        + "(mip levels are for sampled colour textures)");
    }
    this.table.add(TEXTURE, r.handle, tex, "texture");
  }

  writeTexture(cmd, r) {
    const tex = this.textureOf(r.handle, GPU_TEXTURE_USAGE.COPY_DST, "COPY_DST");
    if (tex.depth) throw new GpuStreamError(`texture ${r.handle} is ${tex.format}: depth textures are written by passes only`);
    if (r.mip_level >= tex.mipLevels) throw new GpuStreamError(`mip level ${r.mip_level} is outside the texture's ${tex.mipLevels}`);
    const [width, height] = tex.levelSize(r.mip_level);
    if (!(r.width && r.height && r.x + r.width <= width && r.y + r.height <= height)) {
      throw new GpuStreamError(`rect ${r.x},${r.y} ${r.width}x${r.height} is empty or outside the texture's ${width}x${height} `
        + `(mip level ${r.mip_level})`);
    }
    const row = r.width * GPU_TEXEL_BYTES[GPU_TEXTURE_FORMATS.indexOf(tex.format)];
    if (r.bytes_per_row < row || cmd.data.length !== r.bytes_per_row * r.height) {
      throw new GpuStreamError(`${cmd.data.length} bytes of ${r.height} rows of ${r.bytes_per_row} bytes (at least ${row} each) do not match`);
    }
  }

  sampler(r) {
    for (const name of ["mag_filter", "min_filter", "mipmap_filter"]) enumName(GPU_FILTERS, r[name], name);
    for (const name of ["address_u", "address_v", "address_w"]) enumName(GPU_ADDRESS_MODES, r[name], name);
    const compare = enumName(GPU_COMPARE, r.compare, "compare");
    this.table.add(SAMPLER, r.handle, new Sampler(compare !== "none"), "sampler");
  }

  layout(cmd, r) {
    /** @type {Map<number, string>} */
    const types = new Map();
    for (const e of cmd.items) {
      if (e.binding >= L.MAX_BINDINGS || types.has(e.binding)) {
        throw new GpuStreamError(`binding ${e.binding} is repeated or not below ${L.MAX_BINDINGS}`);
      }
      if (!e.visibility || has(e.visibility, ~VIS)) {
        throw new GpuStreamError(`binding ${e.binding}: visibility ${hex(e.visibility)} must be LW_GPU_VISIBILITY_* bits`);
      }
      types.set(e.binding, enumName(GPU_BINDING_TYPES, e.type, `binding ${e.binding}: type`, false));
      if (types.get(e.binding) === "storage" && has(e.visibility, GPU_VISIBILITY.VERTEX)) {
        throw new GpuStreamError(`binding ${e.binding}: a vertex shader cannot write a storage buffer (read-only-storage can be read there)`);
      }
    }
    this.table.add(LAYOUT, r.handle, new Layout(types), "layout");
  }

  pipeline(cmd, r) {
    this.table.get(SHADER, r.shader, "shader");
    const layouts = r.layouts.slice(0, r.layout_count);
    for (const h of layouts) this.table.get(LAYOUT, h, "layout");
    enumName(GPU_TOPOLOGIES, r.topology, "topology");
    enumName(GPU_CULL_MODES, r.cull_mode, "cull mode");
    enumName(GPU_FRONT_FACES, r.front_face, "front face");
    let depth = null;
    if (r.depth_format) {
      depth = enumName(GPU_TEXTURE_FORMATS, r.depth_format, "depth format");
      if (GPU_TEXEL_BYTES[r.depth_format]) throw new GpuStreamError(`depth format ${depth} is a colour format`);
      enumName(GPU_COMPARE.slice(1), r.depth_compare - 1, "depth compare");
      if (r.depth_write > 1) throw new GpuStreamError(`depth_write ${r.depth_write} must be 0 or 1`);
    }
    const colors = [];
    for (const c of cmd.items) {
      const fmt = enumName(GPU_TEXTURE_FORMATS, c.format, "colour target format", false);
      if (!GPU_TEXEL_BYTES[c.format]) throw new GpuStreamError(`colour target format ${fmt} is a depth format`);
      enumName(GPU_BLENDS, c.blend, "blend");
      if (c.write_mask > 15) throw new GpuStreamError(`write mask ${hex(c.write_mask)} must be RGBA bits`);
      colors.push(fmt);
    }
    if (!cmd.names[0] || (colors.length && !cmd.names[1])) {
      throw new GpuStreamError("a pipeline names its vertex entry point, and its fragment one when it has colour targets");
    }
    this.table.add(PIPELINE, r.handle, new Pipeline(layouts, colors, depth, this.slots(cmd)), "pipeline");
  }

  computePipeline(cmd, r) {
    this.table.get(SHADER, r.shader, "shader");
    const layouts = r.layouts.slice(0, r.layout_count);
    for (const h of layouts) this.table.get(LAYOUT, h, "layout");
    if (!cmd.names[0]) throw new GpuStreamError("a compute pipeline names its entry point");
    this.table.add(PIPELINE, r.handle, new Pipeline(layouts, [], null, [], true), "pipeline");
  }

  slots(cmd) {
    if (cmd.buffers.reduce((n, b) => n + b.attribute_count, 0) !== cmd.attributes.length) {
      throw new GpuStreamError("the buffers' attribute counts do not add up to attribute_count");
    }
    const slots = [];
    const seen = new Set();
    let at = 0;
    cmd.buffers.forEach((b, i) => {
      if (b.stride % 4 || b.stride > L.MAX_STRIDE) {
        throw new GpuStreamError(`buffer ${i}: stride ${b.stride} must be a multiple of 4 up to ${L.MAX_STRIDE}`);
      }
      const step = enumName(GPU_STEP_MODES, b.step_mode, `buffer ${i}: step mode`);
      let extent = 0;
      for (const a of cmd.attributes.slice(at, at + b.attribute_count)) {
        enumName(GPU_VERTEX_FORMATS, a.format, "attribute format", false);
        const size = GPU_VERTEX_BYTES[a.format];
        if (a.location >= L.MAX_ATTRIBUTES || seen.has(a.location)) {
          throw new GpuStreamError(`attribute location ${a.location} is repeated or not below ${L.MAX_ATTRIBUTES}`);
        }
        if (a.offset % Math.min(4, size) || (b.stride && a.offset + size > b.stride) || a.offset + size > L.MAX_STRIDE) {
          throw new GpuStreamError(`attribute ${a.location}: offset ${a.offset} is misaligned or past the stride`);
        }
        seen.add(a.location);
        extent = Math.max(extent, a.offset + size);
      }
      at += b.attribute_count;
      slots.push(new VertexSlot(b.stride, step, extent));
    });
    return slots;
  }

  bindGroup(cmd, r) {
    /** @type {Map<number, string> | null} */
    let types = null;
    if (r.layout) {
      types = this.table.get(LAYOUT, r.layout, "layout").types;
    } else {
      const pipe = this.table.get(PIPELINE, r.pipeline, "pipeline");
      if (!pipe.auto || r.group >= L.MAX_BIND_GROUPS) {
        throw new GpuStreamError(`group ${r.group} of pipeline ${r.pipeline}: layout 0 needs an auto-layout pipeline and a group `
          + `below ${L.MAX_BIND_GROUPS}`);
      }
    }
    const uses = new Set();
    const bindings = new Set();
    for (const e of cmd.items) {
      if (bindings.has(e.binding) || e.binding >= L.MAX_BINDINGS) {
        throw new GpuStreamError(`binding ${e.binding} is repeated or not below ${L.MAX_BINDINGS}`);
      }
      bindings.add(e.binding);
      const want = types !== null ? types.get(e.binding) ?? null : null;
      if (types !== null && want === null) throw new GpuStreamError(`binding ${e.binding} is not in layout ${r.layout}`);
      this.bindEntry(e, want);
      uses.add(key(e.kind, e.handle));
    }
    if (types !== null) {
      const missing = [...types.keys()].filter((b) => !bindings.has(b)).sort((a, b) => a - b);
      if (missing.length || bindings.size !== types.size) {
        throw new GpuStreamError(`bindings ${pyList(missing)} of layout ${r.layout} are missing`);
      }
    }
    this.table.add(BIND_GROUP, r.handle, new BindGroup(r.layout, r.layout ? 0 : r.pipeline, r.group, uses), "bind group");
  }

  bindEntry(e, want) {
    const what = `binding ${e.binding}`;
    if (e.kind === BUFFER) {
      const usage = BUFFER_BINDINGS[want ?? ""] ?? (GPU_BUFFER_USAGE.UNIFORM | GPU_BUFFER_USAGE.STORAGE);
      if (want !== null && !(want in BUFFER_BINDINGS)) throw new GpuStreamError(`${what}: the layout wants a ${want} binding, not a buffer`);
      const buf = this.bufferOf(e.handle, usage, want === null ? "UNIFORM or STORAGE" : want.toUpperCase());
      const size = e.size || buf.size - e.offset;
      if (e.offset % L.UNIFORM_ALIGN || size <= 0 || size % 4 || e.offset + size > buf.size) {
        throw new GpuStreamError(`${what}: range ${e.offset}+${size} must start at a multiple of ${L.UNIFORM_ALIGN} and fit the `
          + `buffer's ${buf.size} bytes`);
      }
    } else if (e.kind === TEXTURE) {
      if (want !== null && !TEXTURE_BINDINGS.includes(want)) throw new GpuStreamError(`${what}: the layout wants a ${want} binding, not a texture`);
      const tex = this.textureOf(e.handle, GPU_TEXTURE_USAGE.TEXTURE_BINDING, "TEXTURE_BINDING");
      if (want !== null && (want === "depth") !== tex.depth) {
        throw new GpuStreamError(`${what}: a ${want} binding cannot take a ${tex.format} texture`);
      }
    } else if (e.kind === SAMPLER) {
      const sampler = this.table.get(SAMPLER, e.handle, what);
      if (want !== null && (!SAMPLER_BINDINGS.includes(want) || (want === "comparison") !== sampler.comparison)) {
        throw new GpuStreamError(`${what}: the layout wants a ${want} binding, not this sampler`);
      }
    } else {
      throw new GpuStreamError(`${what}: kind ${e.kind} is not BUFFER, TEXTURE or SAMPLER`);
    }
  }

  /** @returns {Buffer} */
  bufferOf(handle, usage, usageName) {
    const buf = this.table.get(BUFFER, handle, "buffer");
    if (!has(buf.usage, usage)) throw new GpuStreamError(`buffer ${handle} lacks ${usageName} usage`);
    return buf;
  }

  /** @returns {Texture} */
  textureOf(handle, usage, usageName) {
    const tex = this.table.get(TEXTURE, handle, "texture");
    if (!has(tex.usage, usage)) throw new GpuStreamError(`texture ${handle} lacks ${usageName} usage`);
    return tex;
  }

  // --- passes --------------------------------------------------------------------------------------

  countPass() {
    this.passes += 1;
    if (this.passes > L.MAX_PASSES) throw new GpuStreamError(`over the limit of ${L.MAX_PASSES} render and compute passes per frame`);
  }

  beginPass(cmd, r) {
    this.countPass();
    // sizes: 0 (no attachment), 1 (all width x height) or 2 (more than one); in locals, without a
    // closure, a Set or an every() callback: a pass begins every frame
    let width = 0;
    let height = 0;
    let sizes = 0;
    const colors = [];
    const items = cmd.items;
    for (let k = 0; k < items.length; k++) {
      const a = items[k];
      enumName(GPU_LOAD_OPS, a.load_op, "load op");
      enumName(GPU_STORE_OPS, a.store_op, "store op");
      const c = a.clear;
      let repeated = !(Number.isFinite(c[0]) && Number.isFinite(c[1]) && Number.isFinite(c[2]) && Number.isFinite(c[3]));
      for (let j = 0; j < k && !repeated; j++) repeated = items[j].texture === a.texture;
      if (repeated) throw new GpuStreamError(`attachment ${a.texture} is repeated or its clear colour is not finite`);
      let w;
      let h;
      if (a.texture === GPU_FRAME) {
        this.drewFrame = true;
        w = this.width;
        h = this.height;
        colors.push(FRAME_FORMAT);
      } else {
        const tex = this.textureOf(a.texture, GPU_TEXTURE_USAGE.RENDER_ATTACHMENT, "RENDER_ATTACHMENT");
        if (tex.depth) throw new GpuStreamError(`colour attachment ${a.texture} is a ${tex.format} texture`);
        w = tex.width;
        h = tex.height;
        colors.push(tex.format);
      }
      if (sizes === 0) {
        width = w;
        height = h;
        sizes = 1;
      } else if (w !== width || h !== height) sizes = 2;
    }
    let depth = null;
    if (r.depth_texture) {
      const tex = this.textureOf(r.depth_texture, GPU_TEXTURE_USAGE.RENDER_ATTACHMENT, "RENDER_ATTACHMENT");
      if (!tex.depth) throw new GpuStreamError(`depth attachment ${r.depth_texture} is a ${tex.format} texture`);
      enumName(GPU_LOAD_OPS, r.depth_load_op, "depth load op");
      enumName(GPU_STORE_OPS, r.depth_store_op, "depth store op");
      if (!(r.depth_clear >= 0 && r.depth_clear <= 1)) throw new GpuStreamError(`depth clear ${pyFloat(r.depth_clear)} is not within 0 .. 1`);
      if (sizes === 0) sizes = 1;
      else if (tex.width !== width || tex.height !== height) sizes = 2;
      depth = tex.format;
    }
    if (sizes !== 1) throw new GpuStreamError(sizes ? "a pass needs attachments, all of one size" : "a pass needs an attachment");
    this.passState = this.kept.begin(colors, depth, false);
  }

  pass() {
    if (this.passState === null) throw new GpuStreamError("only allowed inside a pass");
    return this.passState;
  }

  setPipeline(handle) {
    const p = this.table.get(PIPELINE, handle, "pipeline");
    const state = this.pass();
    if (p.compute !== state.compute) {
      const kind = (compute) => (compute ? "compute" : "render");
      throw new GpuStreamError(`pipeline ${handle} is a ${kind(p.compute)} pipeline, the pass is a ${kind(state.compute)} pass`);
    }
    if (!sameFormats(p.colors, state.colors) || p.depth !== state.depth) {
      throw new GpuStreamError(`pipeline ${handle} draws to ${pyList(p.colors)} depth ${p.depth ?? "None"}, the pass has `
        + `${pyList(state.colors)} depth ${state.depth ?? "None"}`);
    }
    state.pipeline = p;
    state.pipelineHandle = handle;
    state.groupsChecked = false;
    state.limits = null;
  }

  setVertexBuffer(slot, handle, offset, size) {
    if (slot >= L.MAX_VERTEX_BUFFERS) throw new GpuStreamError(`slot ${slot} is not below ${L.MAX_VERTEX_BUFFERS}`);
    const state = this.pass();
    state.vertex.set(slot, this.range(handle, offset, size, GPU_BUFFER_USAGE.VERTEX, "VERTEX", 4));
    state.limits = null;
  }

  setIndexBuffer(handle, format, offset, size) {
    const bytes = enumName(GPU_INDEX_FORMATS, format, "index format") === "uint16" ? 2 : 4;
    this.pass().index = [this.range(handle, offset, size, GPU_BUFFER_USAGE.INDEX, "INDEX", bytes), bytes];
  }

  dispatch(x, y, z) {
    const state = this.pass();
    if (!state.compute) throw new GpuStreamError("a render pass draws, it does not dispatch");
    if (state.pipeline === null) throw new GpuStreamError("no pipeline is set");
    const limit = L.MAX_WORKGROUPS_PER_DIMENSION;
    if (Math.max(x, y, z) > limit) throw new GpuStreamError(`${x}x${y}x${z} workgroups: each dimension must be at most ${limit}`);
    this.workgroups += x * y * z; // each below 2^16: exact in a double
    if (this.workgroups > L.MAX_WORKGROUPS) throw new GpuStreamError(`over the frame's limit of ${L.MAX_WORKGROUPS} workgroups`);
    if (!state.groupsChecked) this.checkGroups(state, state.pipeline);
  }

  range(handle, offset, size, usage, name, align) {
    if (this.pass().compute) throw new GpuStreamError("a compute pass binds no vertex or index buffers");
    const buf = this.bufferOf(handle, usage, name);
    const bound = size || buf.size - offset;
    if (offset % align || bound < 0 || offset + bound > buf.size) {
      throw new GpuStreamError(`range ${offset}+${bound} is misaligned or outside the buffer's ${buf.size} bytes`);
    }
    return bound;
  }

  /** A batch of draws: the same checks as one draw, on the batch's totals and furthest reads. */
  drawBatch(cmd, indexed) {
    const state = this.pass();
    const b = this.stream.bits;
    const words = cmd.op.record.size / 4;
    const n = cmd.draws;
    // draw: vertex_count instance_count first_vertex first_instance;
    // indexed: index_count instance_count first_index base_vertex first_instance
    const firstInstanceAt = indexed ? 4 : 3;
    if (indexed) {
      if (state.index === null) throw new GpuStreamError("no index buffer is bound");
      const [bound, size] = state.index;
      let end = 0;
      for (let i = 0, w = cmd.w; i < n; i++, w += words) end = Math.max(end, b[w + 2] + b[w]);
      if (n && end * size > bound) {
        throw new GpuStreamError(`draws read indices up to ${end}, the index buffer holds ${Math.floor(bound / size)}`);
      }
    }
    let vertices = 0;
    let vertexEnd = 0;
    let instanceEnd = 0;
    for (let i = 0, w = cmd.w; i < n; i++, w += words) {
      const count = b[w];
      const instances = b[w + 1];
      vertices += count * instances; // a double: past 2^53 only when far past the limit
      if (!indexed && count > 0) vertexEnd = Math.max(vertexEnd, b[w + 2] + count);
      if (instances > 0) instanceEnd = Math.max(instanceEnd, b[w + firstInstanceAt] + instances);
    }
    this.drawn(state, n, vertices, vertexEnd, instanceEnd);
  }
}

/** Python's str.strip() would leave nothing (its whitespace, not JS's trim(), which also takes U+FEFF). */
function isBlank(text) { return /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/.test(text); }
