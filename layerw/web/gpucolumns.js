// RunColumns: what a GpuRun's repeats hold, folded column by column (per command slot) in the same
// loop that counts the repeats (RunScanner.scan, called by gpustream.js), so that gpucheck.js checks
// a run's columns in a few compares each instead of a second pass over its rows: a frame's list is
// read once before it is replayed. The folds leave out the first repeat, which the checker may take
// as single commands (GpuChecker.run) and otherwise folds in itself (repeat 0 is read in place).

import { GPU_LIMITS, GPU_OPS } from "./abi.js";

const SET_BIND_GROUP = GPU_OPS.SET_BIND_GROUP.code;
const DRAW = GPU_OPS.DRAW.code;
const DRAW_INDEXED = GPU_OPS.DRAW_INDEXED.code;
/** numbers folded per slot, in `values` from slot * FIELDS */
export const FIELDS = 4;
export const MAX_BLOCK = 4; // commands per block of a run (as layerw/gfx/gpurun.py's)

/** The folds of one run's repeats 1 .. rows - 1, per slot, at values[slot * FIELDS ..]:
 *  - SET_BIND_GROUP: [index of repeat 1, 1 when every repeat has that index (else 0), 1 when a handle is
 *    at or past MAX_HANDLE (no table holds one), 0], and `handles[slot]` its distinct handles below it;
 *  - DRAW and DRAW_INDEXED: [the furthest vertex (or index) read, first + count, the furthest instance
 *    read, first_instance + instance_count, the most count x instances of one draw, their sum].
 *  Each is over u32s in doubles: exact, but for a sum that includes a draw over MAX_VERTICES, which
 *  the check refuses (on the most) before it reads the sum. */
export class RunColumns {
  /** Written by RunScanner.columns for each run found (a GpuStream keeps its runs' between frames). */
  constructor() {
    this.values = new Float64Array(MAX_BLOCK * FIELDS); // the first FIELDS x slots are the run's
    /** @type {Array<number[] | null>} */ this.handles = [];
    /** @type {number[][]} */ this.lists = Array.from({ length: MAX_BLOCK }, () => []); // what `handles` holds, by slot
    // A bind group and a draw per object, every repeat drawing what repeat 0 draws at its index: the replay
    // then reads each repeat's handle from the scanner's `rowHandles` at `rowsAt` .. (4 bytes a repeat,
    // written by the scan) rather than the list's 56 bytes, a second pass over memory the scan left (a
    // 10,000-draw list is 560 KB); -1 when the run is not uniform
    this.rowsAt = -1;
  }

  /** Whether the run is uniform (its repeats' handles are at `rowsAt`). */
  get uniform() { return this.rowsAt >= 0; }
}

/** Whether the block at word `w` of `b` is a SET_BIND_GROUP and a DRAW (its header at word `w + d`),
 *  each with one record and no tail (a function of the module's, not a closure made per scan). */
function groupDraw(b, w, d) {
  return b[w] === SET_BIND_GROUP && b[w + 1] === 1 && b[w + 2] === 0 && b[w + d] === DRAW && b[w + d + 1] === 1 && b[w + d + 2] === 0;
}

/** Counts a run's repeats and folds their columns (one per GpuStream, its scratch kept between frames). */
export class RunScanner {
  constructor() {
    // handle -> the mark of the slot scan that listed it (each scan takes a new mark: past 2^32 scans
    // no stored mark matches, and a handle is listed once per repeat, which only costs time)
    this.marks = new Uint32Array(GPU_LIMITS.MAX_HANDLE);
    this.mark = 0;
    this.values = new Float64Array(MAX_BLOCK * FIELDS);
    /** @type {number[][]} */ this.lists = Array.from({ length: MAX_BLOCK }, () => []);
    /** @type {number[]} */ this.slotMarks = [0, 0, 0, 0];
    // The bind group handle of each repeat of this frame's uniform runs (RunColumns.uniform), the frame's
    // runs one after another from 0; `rowsUsed` of them are taken, the last scan's after them
    this.rowHandles = new Uint32Array(1024);
    this.rowsUsed = 0;
    this.uniform = false; // the last scan's run is uniform (its handles at rowsUsed ..)
  }

  /** Begin a frame: its runs' handles start at 0 again (the last frame's runs are replayed). */
  startFrame() { this.rowsUsed = 0; }

  /** How many repeats (at most `total`) of the block of ops `codes` (op `codes[s]`'s header at word
   *  `offsets[s]` of `words`) follow word `first` of `b`, each command with one record and no tail;
   *  `columns()` then has the folds of repeats 1 .. that count - 1. */
  scan(b, first, total, codes, offsets, words) {
    const slots = codes.length;
    this.uniform = false;
    this.values.fill(0);
    for (let s = 0; s < slots; s++) {
      if (codes[s] !== SET_BIND_GROUP) continue;
      this.values[s * FIELDS + 1] = 1;
      this.lists[s].length = 0;
      this.slotMarks[s] = ++this.mark;
    }
    if (slots === 2 && codes[0] === SET_BIND_GROUP && codes[1] === DRAW) return this.groupDraws(b, first, total, offsets[1], words);
    return this.any(b, first, total, codes, offsets, words);
  }

  /** scan() of the commonest block, a bind group and a draw per object drawn (the draw's header at
   *  word `d`): the same folds in locals, one read of each repeat, in a loop V8 keeps to word compares
   *  (the block's words up to `end`, repeat 0 checked apart since its columns are the checker's). */
  groupDraws(b, first, total, d, words) {
    if (total === 0 || !groupDraw(b, first, d)) return 0;
    if (total === 1 || !groupDraw(b, first + words, d)) return 1;
    const marks = this.marks;
    const far = marks.length;
    const mark = this.slotMarks[0];
    const list = this.lists[0];
    const index = b[first + words + 4]; // repeat 1's
    let same = 1;
    let beyond = 0;
    // Repeat 1's draw, folded in here: a repeat drawing the same (most frames' draws, one mesh after
    // another) only counts itself, in `again`, its count x instances added once at the end
    const r1 = first + words + d;
    const count1 = b[r1 + 4];
    const instances1 = b[r1 + 5];
    const first1 = b[r1 + 6];
    const firstInstance1 = b[r1 + 7];
    let read = first1 + count1;
    let instanceRead = firstInstance1 + instances1;
    let most = count1 * instances1;
    let sum = 0;
    let again = 0;
    const end = first + total * words;
    if (this.rowHandles.length < this.rowsUsed + total) { // room for every repeat's handle, the frame's earlier runs' kept
      const grown = new Uint32Array(Math.max(this.rowsUsed + total, 2 * this.rowHandles.length));
      grown.set(this.rowHandles.subarray(0, this.rowsUsed));
      this.rowHandles = grown;
    }
    const rowHandles = this.rowHandles;
    let row = this.rowsUsed;
    rowHandles[row++] = b[first + 5]; // repeat 0's (the checker reads the rest of it in place)
    let w = first + words;
    for (; w < end; w += words) {
      const h = w + d;
      if (b[w] !== SET_BIND_GROUP || b[w + 1] !== 1 || b[w + 2] !== 0 || b[h] !== DRAW || b[h + 1] !== 1 || b[h + 2] !== 0) break;
      if (b[w + 4] !== index) same = 0;
      const handle = b[w + 5];
      rowHandles[row++] = handle;
      if (handle >= far) beyond = 1;
      else if (marks[handle] !== mark) {
        marks[handle] = mark;
        list.push(handle);
      }
      const count = b[h + 4];
      const instances = b[h + 5];
      if (count === count1 && instances === instances1 && b[h + 6] === first1 && b[h + 7] === firstInstance1) {
        again += 1;
        continue;
      }
      const each = count * instances;
      const vertexEnd = b[h + 6] + count;
      const instanceEnd = b[h + 7] + instances;
      if (vertexEnd > read) read = vertexEnd;
      if (instanceEnd > instanceRead) instanceRead = instanceEnd;
      if (each > most) most = each;
      sum += each;
    }
    const v = this.values;
    v[0] = index;
    v[1] = same;
    v[2] = beyond;
    v[4] = read;
    v[5] = instanceRead;
    v[6] = most;
    v[7] = sum + again * (count1 * instances1); // exact where it is read (see RunColumns)
    const rows = (w - first) / words;
    const r0 = first + d; // repeat 0's draw, and its bind group index, as repeat 1's
    this.uniform = same === 1 && again === rows - 1 && b[first + 4] === index && b[r0 + 4] === count1
      && b[r0 + 5] === instances1 && b[r0 + 6] === first1 && b[r0 + 7] === firstInstance1;
    return rows;
  }

  /** scan() of any block, slot by slot. */
  any(b, first, total, codes, offsets, words) {
    const slots = codes.length;
    const v = this.values;
    const marks = this.marks;
    let rows = 0;
    for (let w = first; rows < total; rows++, w += words) {
      for (let s = 0; s < slots; s++) {
        const h = w + offsets[s];
        if (b[h] !== codes[s] || b[h + 1] !== 1 || b[h + 2] !== 0) return rows;
      }
      if (rows === 0) continue; // repeat 0 is the checker's
      for (let s = 0; s < slots; s++) {
        const f = w + offsets[s] + 4; // the command's record
        const o = s * FIELDS;
        const code = codes[s];
        if (code === SET_BIND_GROUP) {
          if (rows === 1) v[o] = b[f];
          else if (b[f] !== v[o]) v[o + 1] = 0;
          const handle = b[f + 1];
          if (handle >= marks.length) v[o + 2] = 1;
          else if (marks[handle] !== this.slotMarks[s]) {
            marks[handle] = this.slotMarks[s];
            this.lists[s].push(handle);
          }
          continue;
        }
        // draw: vertex_count instance_count first_vertex first_instance;
        // indexed: index_count instance_count first_index base_vertex first_instance
        const count = b[f];
        const instances = b[f + 1];
        const read = b[f + 2] + count;
        const instanceRead = b[f + (code === DRAW_INDEXED ? 4 : 3)] + instances;
        const each = count * instances;
        if (read > v[o]) v[o] = read;
        if (instanceRead > v[o + 1]) v[o + 1] = instanceRead;
        if (each > v[o + 2]) v[o + 2] = each;
        v[o + 3] += each;
      }
    }
    return rows;
  }

  /** Write the folds of the last scan, of `rows` repeats of the ops `codes`, into `out` (copied: the
   *  scratch is reused by the next scan). */
  columns(codes, rows, out) {
    const slots = codes.length;
    for (let i = 0; i < slots * FIELDS; i++) out.values[i] = this.values[i];
    out.handles.length = slots;
    for (let s = 0; s < slots; s++) {
      if (codes[s] !== SET_BIND_GROUP) {
        out.handles[s] = null;
        continue;
      }
      const from = this.lists[s];
      const to = out.lists[s];
      to.length = from.length;
      for (let i = 0; i < from.length; i++) to[i] = from[i];
      out.handles[s] = to;
    }
    out.rowsAt = -1;
    if (this.uniform) { // its handles are taken: the frame's next run's go after them
      out.rowsAt = this.rowsUsed;
      this.rowsUsed += rows;
    }
  }
}
