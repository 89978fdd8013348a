// CheckMemo: the last frame whose check passed without changing the game's resources, kept as a
// copy of everything the checker read of it (gpucheck.js), so that a frame the checker would read
// the same, against the same table, takes that frame's verdict without being checked again.
//
// A game's frames mostly repeat their shape: the same passes, pipelines and buffers, and the same
// meshes drawn with the same bind groups, with only buffer contents changing. The check of such a
// frame is a function of the table and of what it reads, so where both are the same the verdict is
// too. What a check reads: every word of a single pass command and of a GpuCommand (but the bytes a
// WRITE_BUFFER or WRITE_TEXTURE carries, of which it reads the length alone, in the header); of a
// GpuRun, its shape, the folds of its repeats (gpucolumns.js) and its first and last repeats, when
// the run was checked a column at a time (a frame whose run was checked row by row is not kept).
// Compared word for word this costs a few compares per command, where checking a frame from cold
// (a frame is its own task, 16 ms after the last) cost ~45 us at 1,000 draws in Chromium (a frame
// with its check left out, against one with it): the code of the checker's many small functions is
// out of the caches by then.

import { STRUCTS } from "./abi.js";
import { FIELDS } from "./gpucolumns.js";
import { FAST_SIZE, GpuRun } from "./gpustream.js";

const HEADER_WORDS = STRUCTS.lw_cmd.size / 4;
// What an entry of a reading is, its first word
const SINGLE = 1; // a pass command with one record: its words
const COMMAND = 2; // a GpuCommand: its words (for a write, its header and record)
const RUN = 3; // a GpuRun: its shape, folds and first and last repeats
/** Frames of more commands (a run counted as one) are not kept: copying them would cost what their check saves. */
export const MEMO_COMMANDS = 1024;

/** The words a check reads of GpuCommand `cmd` (from its header on). */
function commandWords(cmd) {
  if (cmd.name === "WRITE_BUFFER" || cmd.name === "WRITE_TEXTURE") return HEADER_WORDS + cmd.op.record.size / 4;
  return cmd.size / 4;
}

/** A frame's words as a check reads them, and its runs' folds, written by `read` (kept between frames). */
class Reading {
  constructor() {
    this.words = new Uint32Array(1024);
    this.length = 0; // words written
    this.values = new Float64Array(64); // the runs' folds, one run after another
    this.folds = 0; // values written
  }

  /** Write what a check reads of `stream` (a GpuStream): per command its kind and word count, then
   *  for a pass command with one record or a GpuCommand those words (a write's header and record); for
   *  a GpuRun its rows, words per repeat and slots, per slot its code, offset and how many distinct
   *  handles it lists, then those handles, then repeat 0's and the last repeat's words (its folds in
   *  `values`). False, with nothing written, for a frame of more than MEMO_COMMANDS commands. */
  read(stream) {
    const n = stream.count;
    this.length = 0;
    this.folds = 0;
    if (n > MEMO_COMMANDS) return false;
    const b = stream.bits;
    const commands = stream.commands;
    let size = 0;
    let folds = 0;
    for (let k = 0; k < n; k++) {
      const cmd = commands[k];
      if (typeof cmd === "number") size += 2 + (FAST_SIZE[b[cmd >> 2]] >> 2);
      else if (cmd instanceof GpuRun) {
        let handles = 0;
        for (const h of cmd.columns.handles) if (h !== null) handles += h.length;
        size += 2 + 3 + 3 * cmd.codes.length + handles + 2 * cmd.words;
        folds += cmd.codes.length * FIELDS;
      } else size += 2 + commandWords(cmd);
    }
    if (this.words.length < size) this.words = new Uint32Array(2 * size);
    if (this.values.length < folds) this.values = new Float64Array(2 * folds);
    const words = this.words;
    const values = this.values;
    let s = 0;
    let value = 0;
    for (let k = 0; k < n; k++) {
      const cmd = commands[k];
      if (!(cmd instanceof GpuRun)) { // its kind, its word count, its words
        const single = typeof cmd === "number";
        const w = single ? cmd >> 2 : cmd.at >> 2;
        const count = single ? FAST_SIZE[b[w]] >> 2 : commandWords(cmd);
        words[s++] = single ? SINGLE : COMMAND;
        words[s++] = count;
        for (let i = w; i < w + count; i++) words[s++] = b[i];
        continue;
      }
      const slots = cmd.codes.length;
      const handles = cmd.columns.handles;
      const at = s + 1; // the run's word count goes here once it is written
      words[s] = RUN;
      s += 2;
      words[s++] = cmd.rows;
      words[s++] = cmd.words;
      words[s++] = slots;
      for (let i = 0; i < slots; i++) {
        const listed = handles[i];
        words[s++] = cmd.codes[i];
        words[s++] = cmd.offsets[i];
        words[s++] = listed === null ? 0 : listed.length;
      }
      for (let i = 0; i < slots; i++) {
        const listed = handles[i];
        if (listed !== null) for (let j = 0; j < listed.length; j++) words[s++] = listed[j];
      }
      for (let i = 0; i < slots * FIELDS; i++) values[value++] = cmd.columns.values[i];
      const first = cmd.at >> 2;
      const last = first + (cmd.rows - 1) * cmd.words;
      for (let i = 0; i < cmd.words; i++) words[s++] = b[first + i];
      for (let i = 0; i < cmd.words; i++) words[s++] = b[last + i];
      words[at] = s - at - 1;
    }
    this.length = s;
    this.folds = value;
    return true;
  }

  /** Whether `other` read the same words and folds. */
  same(other) {
    if (this.length !== other.length || this.folds !== other.folds) return false;
    for (let i = 0; i < this.length; i++) if (this.words[i] !== other.words[i]) return false;
    for (let i = 0; i < this.folds; i++) if (this.values[i] !== other.values[i]) return false;
    return true;
  }
}

/** The last kept frame's reading and verdict; `matches` reads each frame (into `next`), and `keep`
 *  takes that reading, so a frame is read once whether it matches or is then checked and kept. */
export class CheckMemo {
  constructor() {
    /** @type {object | null} */ this.table = null; // the GpuTable the kept frame was checked against; null: none kept
    this.drew = false; // the kept frame's verdict: a pass drew into the frame
    this.kept = new Reading();
    this.next = new Reading(); // the last frame matches() read, which keep() takes
    this.read = false; // `next` holds a reading of the frame matches() was given
    this.hits = 0; // frames that took the kept verdict (a count for tests and profiles)
  }

  forget() { this.table = null; }

  /** Whether `stream` (a GpuStream) reads, to a check against `table`, as the kept frame does. */
  matches(stream, table) {
    this.read = this.next.read(stream);
    if (!this.read || this.table !== table || !this.next.same(this.kept)) return false;
    this.hits += 1;
    return true;
  }

  /** Keep the frame matches() last read, whose check against `table` passed, changed nothing and read
   *  no run row by row, with its verdict `drew` (a frame of more than MEMO_COMMANDS commands is not kept). */
  keep(table, drew) {
    if (!this.read) {
      this.table = null;
      return;
    }
    const kept = this.kept;
    this.kept = this.next;
    this.next = kept;
    this.read = false;
    this.drew = drew;
    this.table = table;
  }
}
