// GpuStream: a frame's GPU commands, split off the command list in order (the same rules and
// messages as layerw/gfx/gpustream.py).
//
// GPU commands share the 2D list's 16-byte header; their op is in the GPU range (abi.js GPU_OPS),
// `count` is 1 (or the number of draws of a batched draw) and `arg` bytes of tail follow the
// records, padded to 4. A pass command with one record and no tail (the hot path: a draw and its
// state per object drawn) is kept as its byte offset alone, a number, and read in place; any other
// command is decoded into a GpuCommand. A block of such commands drawing one object
// (SET_BIND_GROUP then DRAW or DRAW_INDEXED) repeated is taken whole as a GpuRun (layerw/gfx/gpurun.py's
// PassRun), its columns folded as it is found (gpucolumns.js), checked a column at a time and replayed in one loop. What commands refer to is checked by gpucheck.js.

import { GPU_LIMITS, GPU_OPS, GPU_STRUCTS, STRUCTS } from "./abi.js";
import { GpuStreamError } from "./errors.js";
import { MAX_BLOCK, RunColumns, RunScanner } from "./gpucolumns.js";
import { pyRepr } from "./pyformat.js";

const HEADER = STRUCTS.lw_cmd.size;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** op code -> {name, code, record: {name, size, fields}, batch} */
export const GPU_OP = Object.freeze(Object.fromEntries(Object.entries(GPU_OPS).map(([name, op]) => [op.code, Object.freeze({
  name, code: op.code, batch: op.batch, record: { name: op.record, ...GPU_STRUCTS[op.record] },
})])));
/** op name -> code */
export const CODE = Object.freeze(Object.fromEntries(Object.entries(GPU_OPS).map(([name, op]) => [name, op.code])));
const PASS_OPS = ["SET_PIPELINE", "SET_BIND_GROUP", "SET_VERTEX_BUFFER", "SET_INDEX_BUFFER", "DRAW", "DRAW_INDEXED", "DISPATCH"];
/** code -> bytes of a pass command with one record (header included) */
export const PASS_SIZE = Object.freeze(Object.fromEntries(PASS_OPS.map((n) => [CODE[n], HEADER + GPU_STRUCTS[GPU_OPS[n].record].size])));
// The same, indexed by op code in a typed array (0: not a pass command), read once per command parsed: a
// frozen object's integer keys are a dictionary lookup in V8, this is an indexed load.
export const FAST_SIZE = new Uint16Array(Math.max(...Object.values(CODE)) + 1);
for (const n of PASS_OPS) FAST_SIZE[CODE[n]] = PASS_SIZE[CODE[n]];
// 1 for the ops a run's block may hold (as layerw/gfx/gpurun.py's RUN_OPS), by op code
const RUN_OP = new Uint8Array(FAST_SIZE.length);
for (const n of ["SET_BIND_GROUP", "DRAW", "DRAW_INDEXED"]) RUN_OP[CODE[n]] = 1;
export { MAX_BLOCK }; // commands per block
export const MIN_REPEATS = 8; // fewer repeats are taken one command at a time

/** Round `n` up to a multiple of 4, in exact arithmetic (`n` may be any u32). */
export function pad4(n) { return n + ((4 - (n % 4)) % 4); }

/** A struct of the GPU section decoded from the list's u32/i32/f32 views at word `w`. */
export class Layout {
  constructor(name) {
    const s = GPU_STRUCTS[name];
    this.name = name;
    this.size = s.size;
    this.fields = Object.entries(s.fields).map(([field, [offset, type, count]]) => ({ field, word: offset / 4, type, count }));
  }

  /** @param {GpuStream} list @param {number} w */
  read(list, w) {
    /** @type {Record<string, any>} */
    const rec = {};
    for (const { field, word, type, count } of this.fields) {
      const view = type === "f32" ? list.floats : type === "i32" ? list.ints : list.bits;
      rec[field] = count === 1 ? view[w + word] : Array.from(view.subarray(w + word, w + word + count));
    }
    return rec;
  }

  readMany(list, w, n) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(this.read(list, w + (i * this.size) / 4));
    return out;
  }
}

export const LAYOUTS = Object.fromEntries(Object.keys(GPU_STRUCTS).map((name) => [name, new Layout(name)]));

/** Field name -> word of struct `name` (what its records are read with). @returns {Record<string, number>} */
function words(name) { return Object.fromEntries(LAYOUTS[name].fields.map((f) => [f.field, f.word])); }
// The records every frame's passes hold, read into object literals of one shape each (the general
// reader's stores by field name, per field, cost more than the rest of a pass's parse, once per frame)
const PASS = words("lw_gpu_pass_rec");
const ATTACHMENT = words("lw_gpu_color_attachment");
const END = words("lw_gpu_end_pass_rec");
/** @param {GpuStream} list @param {number} w */
LAYOUTS.lw_gpu_pass_rec.read = (list, w) => ({
  color_count: list.bits[w + PASS.color_count], depth_texture: list.bits[w + PASS.depth_texture],
  depth_load_op: list.bits[w + PASS.depth_load_op], depth_store_op: list.bits[w + PASS.depth_store_op],
  depth_clear: list.floats[w + PASS.depth_clear], reserved: list.bits[w + PASS.reserved],
});
/** @param {GpuStream} list @param {number} w */
LAYOUTS.lw_gpu_color_attachment.read = (list, w) => {
  const c = w + ATTACHMENT.clear;
  const f = list.floats;
  return {
    texture: list.bits[w + ATTACHMENT.texture], load_op: list.bits[w + ATTACHMENT.load_op],
    store_op: list.bits[w + ATTACHMENT.store_op], clear: [f[c], f[c + 1], f[c + 2], f[c + 3]],
  };
};
/** @param {GpuStream} list @param {number} w */
LAYOUTS.lw_gpu_end_pass_rec.read = (list, w) => ({ reserved: list.bits[w + END.reserved] });
const ENTRY = LAYOUTS.lw_gpu_layout_entry;
const BIND = LAYOUTS.lw_gpu_bind_entry;
const COLOR = LAYOUTS.lw_gpu_color_target;
const VBUF = LAYOUTS.lw_gpu_vertex_buffer;
const ATTR = LAYOUTS.lw_gpu_attribute;
const ATTACH = LAYOUTS.lw_gpu_color_attachment;

// What a command's tail holds when it has none: shared, never written (a command's own are assigned)
const NO_ITEMS = Object.freeze([]);
const NO_BYTES = new Uint8Array(0);
const NO_NAMES = Object.freeze(["", ""]);

/** One decoded GPU command: its op, byte offset, record and what its tail holds (sub-records in
 *  `items`, and `buffers`/`attributes` for a pipeline; bytes in `data`; WGSL in `text`; entry point
 *  names in `names`), read only. A batched draw keeps `draws` (how many records) at word `w`. */
export class GpuCommand {
  constructor(op, at, rec) {
    this.op = op;
    this.name = op.name;
    this.code = op.code;
    this.at = at;
    this.rec = rec;
    this.w = (at + HEADER) / 4; // the first record's word
    this.size = 0; // bytes from `at` to the next command (header, records and padded tail)
    // A copy of those bytes' words, so that the next frame's command at the same byte with the same words
    // is this one again (GpuStream.add): null for a write (whose `data` is a view of its own frame's list)
    // and a batched draw (read in place, its records not decoded)
    /** @type {Uint32Array | null} */ this.words = null;
    this.draws = 0;
    /** @type {readonly any[]} */ this.items = NO_ITEMS;
    /** @type {readonly any[]} */ this.buffers = NO_ITEMS;
    /** @type {readonly any[]} */ this.attributes = NO_ITEMS;
    this.data = NO_BYTES;
    this.text = "";
    /** @type {readonly string[]} */ this.names = NO_NAMES;
  }

  /** Whether this command was parsed from the `size` bytes at byte `at` of a list whose words are `b` now. */
  sameAs(b, at, size) {
    const words = this.words;
    if (words === null || this.at !== at || this.size !== size) return false;
    const w = at >> 2;
    for (let i = 0; i < words.length; i++) if (b[w + i] !== words[i]) return false;
    return true;
  }
}

/** `rows` repeats of one block of pass commands (each with one record and no tail) from byte `at`
 *  on: the block holds the ops `codes`, the header of op `codes[i]` at word `offsets[i]` of a block
 *  of `words` words. Read in place, like the numbers of single pass commands; `columns` holds what
 *  repeats 1 .. rows - 1 hold, folded column by column while the run was found (gpucolumns.js). A
 *  GpuStream keeps its GpuRuns and writes them over frame by frame (set), as it does `commands`. */
export class GpuRun {
  constructor() {
    this.at = 0;
    /** @type {number[]} */ this.codes = [];
    /** @type {number[]} */ this.offsets = [];
    this.words = 0;
    this.rows = 0;
    this.columns = new RunColumns();
  }

  /** Be the run of `rows` repeats of blocks of the ops `codes` at `offsets` (`words` each) from byte `at`. */
  set(at, codes, offsets, words, rows) {
    this.at = at;
    this.codes.length = codes.length;
    this.offsets.length = codes.length;
    for (let i = 0; i < codes.length; i++) {
      this.codes[i] = codes[i];
      this.offsets[i] = offsets[i];
    }
    this.words = words;
    this.rows = rows;
    return this;
  }

  /** How many commands the run holds. */
  get length() { return this.rows * this.codes.length; }

  /** The byte after the run. */
  get end() { return this.at + 4 * this.rows * this.words; }

  /** The byte offset of the command of slot `slot` in repeat `row` (a single pass command's number). */
  commandAt(row, slot) { return this.at + 4 * (row * this.words + this.offsets[slot]); }
}

function fail(at, op, what) { return new GpuStreamError(`GPU ${op.name} at byte ${at}: ${what}`); }

/** A frame's GPU commands in order: numbers (the byte offset of a one-record pass command) and
 *  GpuCommands, over views of the command list they came from (valid while the frame is drawn).
 *  They are the first `length` entries of `commands`, an array kept between frames and written over
 *  in place, so a frame of thousands of draws allocates nothing to hold them. */
export class GpuStream {
  constructor() {
    /** @type {Array<number | GpuCommand | GpuRun>} */
    this.commands = [];
    this.count = 0; // how many of `commands` are this frame's
    this.scanned = 0; // no run starts before this byte (a look for one stopped here): parsing stays linear
    this.scanner = new RunScanner(); // counts a run's repeats and folds their columns for the checker
    /** @type {GpuRun[]} */ this.runs = []; // this frame's runs are the first `runCount`, the others kept for later frames
    this.runCount = 0;
    /** @type {number[]} */ this.codes = []; // a block's ops and their words, as findRun finds them
    /** @type {number[]} */ this.offsets = [];
    this.bits = new Uint32Array(0);
    this.ints = new Int32Array(0);
    this.floats = new Float32Array(0);
    this.bytes = new Uint8Array(0);
  }

  get length() { return this.count; }

  /** Start a frame over the (4-byte aligned) list `bytes`. */
  reset(bytes, bits, floats) {
    this.count = 0;
    this.scanned = 0;
    this.runCount = 0;
    this.scanner.startFrame();
    this.bytes = bytes;
    this.bits = bits;
    this.floats = floats;
    const ints = this.ints;
    if (ints.buffer !== bits.buffer || ints.byteOffset !== bits.byteOffset || ints.length !== bits.length) { // else the last frame's
      this.ints = new Int32Array(bits.buffer, bits.byteOffset, bits.length);
    }
  }

  /** The op name of command `cmd`. */
  nameOf(cmd) { return GPU_OP[typeof cmd === "number" ? this.bits[cmd >> 2] : cmd.code].name; }

  /** Where command `cmd` (the `index`th) is, as the native checker says it. */
  where(cmd, index) {
    const at = typeof cmd === "number" ? "" : `, byte ${cmd.at}`;
    return `GPU ${this.nameOf(cmd)} (GPU command ${index}${at})`;
  }

  /** Take the GPU command whose header is at byte `at` (`end`: the list's length); returns its size.
   *  A pass command with one record takes the run of such commands after it too (the bytes of all):
   *  a frame's draws and their state, taken here in one loop rather than one call per command, and
   *  repeated blocks of them as GpuRuns. */
  add(at, code, count, arg, end) {
    let fast = code < FAST_SIZE.length ? FAST_SIZE[code] : 0;
    if (fast !== 0 && count === 1 && arg === 0 && at + fast <= end) {
      const commands = this.commands;
      const b = this.bits;
      let n = this.count;
      let next = at;
      for (;;) {
        const run = RUN_OP[code] === 1 && next >= this.scanned ? this.findRun(next, end) : null;
        if (run === null) {
          commands[n++] = next;
          next += fast;
        } else {
          commands[n++] = run;
          next = run.end;
        }
        if (next + HEADER > end) break; // the same test as above, on the commands that follow
        const h = next >> 2;
        code = b[h];
        fast = code < FAST_SIZE.length ? FAST_SIZE[code] : 0;
        if (fast === 0 || b[h + 1] !== 1 || b[h + 2] !== 0 || next + fast > end) break;
      }
      this.count = n;
      return next - at;
    }
    const op = GPU_OP[code];
    const size = commandSize(op, at, count, arg);
    if (at + HEADER + size > end) {
      throw new GpuStreamError(`GPU ${op.name} command at byte ${at} (${size} bytes) overruns the command list of ${end} bytes`);
    }
    // The last frame's command at this index, where it was parsed from the same bytes at the same byte
    // (a frame's passes mostly are): kept as it is, rather than its records decoded into new objects again
    const kept = this.commands[this.count];
    let cmd;
    if (kept instanceof GpuCommand && kept.sameAs(this.bits, at, HEADER + size)) cmd = kept;
    else {
      cmd = this.parseCommand(at, op, count, arg);
      cmd.size = HEADER + size;
      if (!op.batch && op.name !== "WRITE_BUFFER" && op.name !== "WRITE_TEXTURE") cmd.words = this.bits.slice(at >> 2, (at + cmd.size) >> 2);
    }
    this.commands[this.count] = cmd;
    this.count += 1;
    return HEADER + size;
  }

  /** The run of blocks starting at byte `at` (a run op's header), or null, having set `scanned` to
   *  where this look stopped (a later look starts past it, so no byte is looked at twice). */
  findRun(at, end) {
    const b = this.bits;
    const codes = this.codes;
    const offsets = this.offsets;
    codes.length = 0;
    offsets.length = 0;
    let words = 0;
    let p = at;
    for (;;) {
      const h = p >> 2;
      const code = p + HEADER <= end ? b[h] : 0;
      if (code >= RUN_OP.length || RUN_OP[code] === 0 || b[h + 1] !== 1 || b[h + 2] !== 0) {
        this.scanned = p;
        return null;
      }
      if (codes.length && code === codes[0]) break;
      if (codes.length === MAX_BLOCK) {
        this.scanned = p;
        return null;
      }
      codes.push(code);
      offsets.push(words);
      words += FAST_SIZE[code] >> 2;
      p = at + 4 * words;
    }
    const total = Math.floor((end - at) / (4 * words));
    const rows = this.scanner.scan(b, at >> 2, total, codes, offsets, words);
    if (rows < MIN_REPEATS) {
      this.scanned = Math.max(p, at + 4 * rows * words);
      return null;
    }
    if (this.runCount === this.runs.length) this.runs.push(new GpuRun());
    const run = this.runs[this.runCount++].set(at, codes, offsets, words, rows);
    this.scanner.columns(codes, rows, run.columns);
    return run;
  }

  parseCommand(at, op, count, arg) {
    const body = at + HEADER;
    if (op.batch) {
      const cmd = new GpuCommand(op, at, null);
      cmd.draws = count;
      return cmd;
    }
    const rec = LAYOUTS[op.record.name].read(this, body / 4);
    const tailAt = body + op.record.size;
    const cmd = new GpuCommand(op, at, rec);
    switch (op.name) {
      case "WRITE_BUFFER": case "WRITE_TEXTURE":
        cmd.data = this.bytes.subarray(tailAt, tailAt + arg);
        break;
      case "SHADER":
        if (arg > GPU_LIMITS.MAX_SHADER_BYTES) throw fail(at, op, `${arg} bytes of WGSL, over the limit of ${GPU_LIMITS.MAX_SHADER_BYTES}`);
        try {
          cmd.text = UTF8.decode(this.bytes.subarray(tailAt, tailAt + arg));
        } catch (e) {
          throw fail(at, op, `the WGSL source is not UTF-8 (${e instanceof Error ? e.message : e})`);
        }
        break;
      case "LAYOUT": cmd.items = this.items(op, at, rec.entry_count, ENTRY, GPU_LIMITS.MAX_BINDINGS, arg, tailAt); break;
      case "BIND_GROUP": cmd.items = this.items(op, at, rec.entry_count, BIND, GPU_LIMITS.MAX_BINDINGS, arg, tailAt); break;
      case "BEGIN_PASS": cmd.items = this.items(op, at, rec.color_count, ATTACH, GPU_LIMITS.MAX_COLOR_TARGETS, arg, tailAt); break;
      case "PIPELINE": this.pipelineTail(cmd, tailAt, arg); break;
      case "COMPUTE_PIPELINE":
        if (rec.layout_count > GPU_LIMITS.MAX_BIND_GROUPS || rec.entry_len > 128 || rec.entry_len !== arg) {
          throw fail(at, op, `${rec.layout_count} layouts (at most ${GPU_LIMITS.MAX_BIND_GROUPS}) and an entry point of `
            + `${rec.entry_len} bytes (at most 128) need a tail of entry_len bytes, got ${arg}`);
        }
        cmd.names = [this.entryPoint(cmd, tailAt, arg), ""];
        break;
      default:
        if (arg) throw fail(at, op, `this op has no tail, got ${arg} bytes`);
    }
    return cmd;
  }

  items(op, at, n, layout, limit, arg, tailAt) {
    if (n > limit) throw fail(at, op, `${n} entries, over the limit of ${limit}`);
    if (n * layout.size !== arg) {
      throw fail(at, op, `${n} entries of ${layout.size} bytes need a tail of ${n * layout.size}, got ${arg}`);
    }
    return layout.readMany(this, tailAt / 4, n);
  }

  pipelineTail(cmd, at, arg) {
    const r = cmd.rec;
    const limits = [[r.color_count, GPU_LIMITS.MAX_COLOR_TARGETS, "colour targets"],
      [r.buffer_count, GPU_LIMITS.MAX_VERTEX_BUFFERS, "vertex buffers"],
      [r.attribute_count, GPU_LIMITS.MAX_ATTRIBUTES, "attributes"],
      [r.layout_count, GPU_LIMITS.MAX_BIND_GROUPS, "bind group layouts"],
      [r.vs_len, 128, "bytes of vertex entry point"], [r.fs_len, 128, "bytes of fragment entry point"]];
    for (const [n, limit, what] of limits) {
      if (n > limit) throw fail(cmd.at, cmd.op, `${n} ${what}, over the limit of ${limit}`);
    }
    const need = r.color_count * COLOR.size + r.buffer_count * VBUF.size + r.attribute_count * ATTR.size + r.vs_len + r.fs_len;
    if (need !== arg) throw fail(cmd.at, cmd.op, `its counts need a tail of ${need} bytes, got ${arg}`);
    cmd.items = COLOR.readMany(this, at / 4, r.color_count);
    at += r.color_count * COLOR.size;
    cmd.buffers = VBUF.readMany(this, at / 4, r.buffer_count);
    at += r.buffer_count * VBUF.size;
    cmd.attributes = ATTR.readMany(this, at / 4, r.attribute_count);
    at += r.attribute_count * ATTR.size;
    cmd.names = [this.entryPoint(cmd, at, r.vs_len), this.entryPoint(cmd, at + r.vs_len, r.fs_len)];
  }

  /** The `n` bytes at byte `at` as an entry point's name ("" when n is 0). */
  entryPoint(cmd, at, n) {
    const text = Array.from(this.bytes.subarray(at, at + n), (b) => (b < 128 ? String.fromCharCode(b) : "\ufffd")).join("");
    if (n && !IDENT.test(text)) throw fail(cmd.at, cmd.op, `entry point ${pyRepr(text)} is not a WGSL identifier`);
    return text;
  }
}

/** Bytes after the header: `count` records plus the tail; a count or tail the op cannot have is an error. */
export function commandSize(op, at, count, arg) {
  if (op.batch) {
    if (arg !== 0) throw fail(at, op, `a batched op has no tail (arg ${arg})`);
    if (count > GPU_LIMITS.MAX_DRAWS) throw fail(at, op, `${count} draws, over the limit of ${GPU_LIMITS.MAX_DRAWS}`);
    return op.record.size * count;
  }
  if (count !== 1) throw fail(at, op, `count ${count}, expected 1`);
  return op.record.size + pad4(arg);
}
