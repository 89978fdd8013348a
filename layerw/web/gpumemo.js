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
// What an entry of the kept frame is, in `kinds`
const SINGLE = 1; // a pass command with one record: its words
const COMMAND = 2; // a GpuCommand: its words (for a write, its header and record)
const RUN = 3; // a GpuRun: its shape, folds and first and last repeats (`runWords`)
/** Frames of more commands (a run counted as one) are not kept: copying them would cost what their check saves. */
export const MEMO_COMMANDS = 1024;

/** The words a check reads of GpuCommand `cmd` (from its header on). */
function commandWords(cmd) {
  if (cmd.name === "WRITE_BUFFER" || cmd.name === "WRITE_TEXTURE") return HEADER_WORDS + cmd.op.record.size / 4;
  return cmd.size / 4;
}

/** A GpuRun's words kept: rows, words per repeat, slots, then per slot its code, its offset and how
 *  many distinct handles it lists, then those handles slot by slot, then repeat 0's and the last
 *  repeat's words. */
function runWords(run) {
  let handles = 0;
  for (const h of run.columns.handles) if (h !== null) handles += h.length;
  return 3 + 3 * run.codes.length + handles + 2 * run.words;
}

export class CheckMemo {
  constructor() {
    /** @type {object | null} */ this.table = null; // the GpuTable the kept frame was checked against; null: none kept
    this.drew = false; // the kept frame's verdict: a pass drew into the frame
    this.count = 0; // its commands (a run counted as one)
    this.kinds = new Uint8Array(64);
    this.starts = new Uint32Array(64); // where each entry's words start in `words`
    this.words = new Uint32Array(1024);
    this.values = new Float64Array(64); // the runs' folds, one after another in the frame's order
    this.hits = 0; // frames that took the kept verdict (a count for tests and profiles)
  }

  forget() { this.table = null; }

  /** Whether `stream` (a GpuStream) reads, to a check against `table`, as the kept frame does. */
  matches(stream, table) {
    const n = stream.count;
    if (this.table !== table || n !== this.count) return false;
    const b = stream.bits;
    const commands = stream.commands;
    const kinds = this.kinds;
    const starts = this.starts;
    const words = this.words;
    let value = 0;
    for (let k = 0; k < n; k++) {
      const cmd = commands[k];
      let s = starts[k];
      if (typeof cmd === "number") {
        if (kinds[k] !== SINGLE) return false;
        const w = cmd >> 2;
        if (b[w] !== words[s]) return false; // the same op, so the same size
        const end = w + (FAST_SIZE[b[w]] >> 2);
        for (let i = w + 1; i < end; i++) if (b[i] !== words[++s]) return false;
      } else if (cmd instanceof GpuRun) {
        if (kinds[k] !== RUN) return false;
        const slots = cmd.codes.length;
        if (cmd.rows !== words[s] || cmd.words !== words[s + 1] || slots !== words[s + 2]) return false;
        s += 3;
        const handles = cmd.columns.handles;
        for (let i = 0; i < slots; i++, s += 3) {
          const listed = handles[i];
          if (cmd.codes[i] !== words[s] || cmd.offsets[i] !== words[s + 1] || (listed === null ? 0 : listed.length) !== words[s + 2]) {
            return false;
          }
        }
        for (let i = 0; i < slots; i++) {
          const listed = handles[i];
          if (listed === null) continue;
          for (let j = 0; j < listed.length; j++) if (listed[j] !== words[s++]) return false;
        }
        const v = cmd.columns.values;
        for (let i = 0; i < slots * FIELDS; i++) if (v[i] !== this.values[value++]) return false;
        const first = cmd.at >> 2;
        const last = first + (cmd.rows - 1) * cmd.words;
        for (let i = 0; i < cmd.words; i++) if (b[first + i] !== words[s + i] || b[last + i] !== words[s + cmd.words + i]) return false;
      } else {
        if (kinds[k] !== COMMAND) return false;
        const w = cmd.at >> 2;
        const end = w + commandWords(cmd);
        if (end - w !== starts[k + 1] - s) return false;
        for (let i = w; i < end; i++) if (b[i] !== words[s++]) return false;
      }
    }
    this.hits += 1;
    return true;
  }

  /** Keep `stream`, whose check against `table` passed, changed nothing and read no run row by row,
   *  with its verdict `drew` (a frame of more than MEMO_COMMANDS commands is not kept). */
  keep(stream, table, drew) {
    const n = stream.count;
    this.table = null;
    if (n > MEMO_COMMANDS) return;
    const b = stream.bits;
    const commands = stream.commands;
    let size = 0;
    let folds = 0;
    for (let k = 0; k < n; k++) {
      const cmd = commands[k];
      if (typeof cmd === "number") size += FAST_SIZE[b[cmd >> 2]] >> 2;
      else if (cmd instanceof GpuRun) {
        size += runWords(cmd);
        folds += cmd.codes.length * FIELDS;
      } else size += commandWords(cmd);
    }
    if (this.kinds.length < n + 1) {
      this.kinds = new Uint8Array(2 * (n + 1));
      this.starts = new Uint32Array(2 * (n + 1));
    }
    if (this.words.length < size) this.words = new Uint32Array(2 * size);
    if (this.values.length < folds) this.values = new Float64Array(2 * folds);
    const words = this.words;
    let s = 0;
    let value = 0;
    for (let k = 0; k < n; k++) {
      const cmd = commands[k];
      this.starts[k] = s;
      if (typeof cmd === "number") {
        this.kinds[k] = SINGLE;
        const w = cmd >> 2;
        const end = w + (FAST_SIZE[b[w]] >> 2);
        for (let i = w; i < end; i++) words[s++] = b[i];
      } else if (cmd instanceof GpuRun) {
        this.kinds[k] = RUN;
        const slots = cmd.codes.length;
        const handles = cmd.columns.handles;
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
        for (let i = 0; i < slots * FIELDS; i++) this.values[value++] = cmd.columns.values[i];
        const first = cmd.at >> 2;
        const last = first + (cmd.rows - 1) * cmd.words;
        for (let i = 0; i < cmd.words; i++) words[s++] = b[first + i];
        for (let i = 0; i < cmd.words; i++) words[s++] = b[last + i];
      } else {
        this.kinds[k] = COMMAND;
        const w = cmd.at >> 2;
        const end = w + commandWords(cmd);
        for (let i = w; i < end; i++) words[s++] = b[i];
      }
    }
    this.starts[n] = s;
    this.count = n;
    this.drew = drew;
    this.table = table;
  }
}
