// Symbols: a build's source-line table (layerw/symbols.py has the layout), so a crash on the page
// names each wasm frame's function and file:line.
//
//   wasmFrames(stack) -> [{index, offset}]    V8's wasm frames ("wasm-function[N]:0xOFFSET"), innermost first
//   loadSymbols(url) -> Promise<Symbols | null>   null where the server has none or refuses them
//   new Symbols(doc).frames(offset) -> [{offset, function, file, line}]   inlined calls first
//   sourceFrames(frames, symbols) -> [{offset, function, file, line}]     every frame, named where known (a
//       frame's own `name`: a cart's, from its name section, for it has no symbols)
//   describe(frames) -> "\n  at FUNCTION (FILE:LINE) @0xOFFSET" per frame, as the native host writes them
//
// Offsets count bytes from the start of the module, in V8 as in wasmtime, so the stripped module a
// player runs maps through the table built from its debug twin. Players get no symbols from a
// published store unless its operator allows it (`layerw serve --serve-symbols`); their crash
// reports carry offsets, and the server names them (layerw/server/symbolizer.py).

const FORMAT = "layerw-symbols";
const TABLE_VERSION = 1;
const WASM_FRAME = /wasm-function\[(\d+)\]:0x([0-9a-f]+)/i;

/** The index of the last element of sorted `starts` that is <= `x`, or -1. */
function floor(starts, x) {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class Symbols {
  /** @param {any} doc the parsed game.symbols.json */
  constructor(doc) {
    if (!doc || doc.format !== FORMAT || doc.version !== TABLE_VERSION) {
      throw new Error(`not a ${FORMAT} table of version ${TABLE_VERSION}`);
    }
    this.moduleSha256 = doc.module_sha256;
    this.strings = doc.strings;
    this.functions = [...doc.functions].sort((a, b) => a[0] - b[0]);
    this.rows = [...doc.rows].sort((a, b) => a[0] - b[0]);
    this.chains = doc.chains;
    this.funcStarts = this.functions.map((f) => f[0]);
    this.rowStarts = this.rows.map((r) => r[0]);
  }

  /**
   * The source frames at a code offset, innermost first (see layerw/symbols.py `Symbols.frames`).
   * @param {number} offset
   */
  frames(offset) {
    const f = floor(this.funcStarts, offset);
    if (f < 0 || offset >= this.functions[f][1]) return [];
    const [start, , name] = this.functions[f];
    const r = floor(this.rowStarts, offset);
    const row = r >= 0 ? this.rows[r] : [0, -1];
    const chain = row[0] >= start && row[1] >= 0 ? this.chains[row[1]] : [];
    if (!chain.length) return [{ offset, function: this.strings[name], file: "", line: 0 }];
    return chain.map(([n, file, line]) => ({ offset, function: this.strings[n], file: file >= 0 ? this.strings[file] : "", line }));
  }
}

/** V8's wasm frames in an error's stack, innermost first. @param {string} stack */
export function wasmFrames(stack) {
  const out = [];
  for (const line of String(stack || "").split("\n")) {
    const m = WASM_FRAME.exec(line);
    if (m) out.push({ index: Number(m[1]), offset: parseInt(m[2], 16) });
  }
  return out;
}

/** The table at `url`, or null when there is none (404) or it is refused (403). @param {string | URL} url */
export async function loadSymbols(url) {
  try {
    const response = await fetch(url);
    return response.ok ? new Symbols(await response.json()) : null;
  } catch {
    return null; // a crash report without source lines is still a crash report
  }
}

/**
 * Every wasm frame as a source frame: from `symbols` where given, else by the name the frame carries (a
 * cart's, from its name section: worker-client.js), else by function index.
 * @param {{index: number, offset: number, name?: string}[]} frames
 * @param {Symbols | null} symbols
 */
export function sourceFrames(frames, symbols) {
  return frames.flatMap(({ index, offset, name }) => {
    const found = symbols ? symbols.frames(offset) : [];
    return found.length ? found : [{ offset, function: name || `wasm-function[${index}]`, file: "", line: 0 }];
  });
}

/** Frames as the lines the native host appends to a crash's message. */
export function describe(frames) {
  return frames.map((f) => {
    const where = f.file && f.line ? ` (${f.file}:${f.line})` : f.file ? ` (${f.file})` : "";
    return `\n  at ${f.function}${where} @0x${f.offset.toString(16)}`;
  }).join("");
}
