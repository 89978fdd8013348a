// CartImports: WASM-4's 17 `env` functions for one instance of a cart (mirrors
// layerw/runtime/wasm4/cartimports.py): drawing into the framebuffer in the cart's memory by the
// drawing module (wasm4fb.wasm, built from layerw/toolchain/runtime/lw_wasm4fb.c, the module the
// native host runs), instantiated over the cart's memory and its exports handed to the cart, so a
// draw is a wasm-to-wasm call; wasm4-framebuffer.js draws what the module hands back (a sprite
// past the end of memory or over the framebuffer, a string in it) and the UTF-8/UTF-16 text;
// tone() as ToneEvents (wasm4-tone.js), diskr/diskw on the cart's Disk
// (wasm4-disk.js), and the trace functions, as bounded log lines. Every u32 argument is read with
// >>> 0 (a blit's width and height stay i32, as WASM-4 reads them) and every pointer bounded by the
// 64 KiB, as the native host reads them.
// Spec: https://wasm4.org/docs/reference/functions

import { AssetNotFound } from "./errors.js";
import { Framebuffer, MEMORY_SIZE } from "./wasm4-framebuffer.js";
import { decodeTone } from "./wasm4-tone.js";

export const MAX_TONES_PER_TICK = 1024;
const MAX_WARNINGS = 16;
const MAX_TRACES = 256;
const MAX_TRACE = 4096; // characters (code points) of one trace line (trace.py MAX_TRACE)
const CUT = "... (cut)"; // ends a tracef line cut at MAX_TRACE (trace.py CUT)
const utf8 = new TextDecoder("utf-8");
const utf16 = new TextDecoder("utf-16le");
/** @type {Promise<WebAssembly.Module> | null} */
let drawing = null;

/** The drawing module, fetched and compiled once per page. @returns {Promise<WebAssembly.Module>} */
export function compileDrawing() {
  if (!drawing) {
    drawing = fetch(new URL("./wasm4fb.wasm", import.meta.url)).then(async (response) => {
      if (!response.ok) throw new AssetNotFound(`the drawing module (wasm4fb.wasm) did not load: HTTP ${response.status}`);
      return WebAssembly.compile(await response.arrayBuffer());
    });
  }
  return drawing;
}

export class CartImports {
  /**
   * @param {object} parts
   * @param {string} parts.name the cart's name, in log lines
   * @param {(level: string, text: string) => void} parts.log
   * @param {Uint8Array} parts.ram the instance's whole 64 KiB
   * @param {import("./wasm4-disk.js").Disk} parts.disk the cart's disk (it outlives instances)
   * @param {import("./wasm4-tone.js").ToneEvent[]} parts.tones where tone() calls go, in call order (the game's)
   * @param {string[]} parts.traces the last trace lines (the game's)
   * @param {() => number} parts.tick the tick now
   */
  constructor({ name, log, ram, disk, tones, traces, tick }) {
    this.name = name;
    this.log = log;
    this.ram = ram;
    this.disk = disk;
    this.tones = tones;
    this.traces = traces;
    this.tick = tick;
    this.warnings = 0;
    this.tonesDropped = 0; // tone() calls refused since the game last took the count
    this.fb = new Framebuffer(ram, (text) => this.warn(text));
  }

  /** @param {string} text */
  warn(text) {
    this.warnings += 1;
    if (this.warnings <= MAX_WARNINGS) this.log("warn", `[${this.name}] ${text}`);
  }

  /** @param {string} text */
  trace(text) {
    this.traces.push(text);
    if (this.traces.length > MAX_TRACES) this.traces.shift();
    this.log("info", `[${this.name}] ${text}`);
  }

  /** The NUL-terminated bytes at `ptr` (cut at the end of memory). @param {number} ptr */
  cstring(ptr) {
    if (!(ptr >= 0 && ptr < MEMORY_SIZE)) return new Uint8Array(0);
    const end = this.ram.indexOf(0, ptr);
    return this.ram.subarray(ptr, end < 0 ? MEMORY_SIZE : end);
  }

  /** @param {number} ptr @param {number} len */
  span(ptr, len) {
    if (!(ptr >= 0 && ptr < MEMORY_SIZE) || len <= 0) return new Uint8Array(0);
    return this.ram.subarray(ptr, ptr + Math.min(len, MEMORY_SIZE - ptr));
  }

  /**
   * WASM-4's env functions (u32 arguments read with >>> 0, as the native host reads them): the
   * drawing module's over `memory` (the cart's), these for the rest.
   * @param {WebAssembly.Memory} memory
   */
  async functions(memory) {
    const fb = () => this.fb;
    // each code unit (a UTF-8 byte, a UTF-16 unit) is one character, up to the first NUL, as WASM-4
    // draws them (a byte string's "\x80".."\x87" are the button and arrow glyphs)
    /** @param {ArrayLike<number>} all @returns {number[]} */
    const units = (all) => {
      const list = Array.from(all);
      const end = list.indexOf(0);
      return end < 0 ? list : list.slice(0, end);
    };
    const host = {
      blit: (p, x, y, w, h, sx, sy, stride, f) => fb().blit(p >>> 0, x, y, w, h, sx >>> 0, sy >>> 0, stride >>> 0, f >>> 0),
      text: (p, x, y) => fb().text(Array.from(this.cstring(p >>> 0)), x, y),
    };
    const draw = (await WebAssembly.instantiate(await compileDrawing(), { env: { memory }, host })).exports;
    return {
      blit: draw.blit,
      blitSub: draw.blitSub,
      line: draw.line,
      hline: draw.hline,
      vline: draw.vline,
      oval: draw.oval,
      rect: draw.rect,
      text: draw.text,
      textUtf8: (p, len, x, y) => fb().text(units(this.span(p >>> 0, len >>> 0)), x, y),
      textUtf16: (p, len, x, y) => {
        const bytes = this.span(p >>> 0, evenLength(len));
        fb().text(units(Array.from({ length: bytes.length >> 1 }, (_, i) => bytes[2 * i] | bytes[2 * i + 1] << 8)), x, y);
      },
      tone: (freq, dur, vol, flags) => this.tone(freq >>> 0, dur >>> 0, vol >>> 0, flags >>> 0),
      diskr: (p, size) => {
        p >>>= 0;
        if (p >= MEMORY_SIZE) return 0;
        const data = this.disk.data.subarray(0, Math.min(size >>> 0, MEMORY_SIZE - p));
        this.ram.set(data, p);
        return data.length;
      },
      diskw: (p, size) => this.disk.write(this.span(p >>> 0, size >>> 0)),
      trace: (p) => this.trace(bounded(utf8.decode(this.cstring(p >>> 0)))),
      traceUtf8: (p, len) => this.trace(bounded(utf8.decode(this.span(p >>> 0, len >>> 0)))),
      traceUtf16: (p, len) => this.trace(bounded(utf16.decode(this.span(p >>> 0, evenLength(len))))),
      tracef: (fmt, args) => this.trace(this.tracef(fmt >>> 0, args >>> 0)),
    };
  }

  /** A tone() call: its event, unless the tick already made MAX_TONES_PER_TICK (then counted as dropped).
   * @param {number} frequency @param {number} duration @param {number} volume @param {number} flags */
  tone(frequency, duration, volume, flags) {
    const kept = this.tones.filter((t) => t.tick === this.tick()).length;
    if (kept >= MAX_TONES_PER_TICK) {
      this.warn(`more than ${MAX_TONES_PER_TICK} tone() calls in tick ${this.tick()}: the rest are dropped`);
      this.tonesDropped += 1;
      return;
    }
    this.tones.push(decodeTone(this.tick(), frequency, duration, volume, flags));
  }

  /** tracef's documented subset (%c %d %x %s %f %%), "like printf", as layerw/runtime/wasm4/trace.py
   * formats it: %c the int's low byte (C's unsigned char) as that Latin-1 character, %x the int as
   * unsigned lowercase hex with no prefix, anything else printed as written. */
  /** @param {number} fmtPtr @param {number} argsPtr */
  tracef(fmtPtr, argsPtr) {
    const fmt = latin1(this.cstring(fmtPtr));
    const view = new DataView(this.ram.buffer);
    let at = argsPtr;
    let out = "";
    for (let i = 0; i < fmt.length && out.length <= MAX_TRACE; i++) { // every piece is Latin-1: a unit is a character
      if (fmt[i] !== "%") { out += fmt[i]; continue; }
      if (i + 1 >= fmt.length) break; // a lone % at the end ends the line, as WASM-4's tracef does
      const conv = fmt[++i];
      if (conv === "%") { out += "%"; continue; }
      if ("cdxs".includes(conv)) {
        const ok = at >= 0 && at <= MEMORY_SIZE - 4;
        const v = ok ? view.getInt32(at, true) : 0;
        at += 4;
        if (!ok) out += "<?>";
        else if (conv === "c") out += String.fromCharCode(v & 0xff);
        else if (conv === "d") out += String(v);
        else if (conv === "x") out += (v >>> 0).toString(16);
        else out += (v >>> 0) < MEMORY_SIZE ? latin1(this.cstring(v >>> 0)) : "<?>";
      } else if (conv === "f") {
        at = Math.ceil(at / 8) * 8;
        out += at <= MEMORY_SIZE - 8 ? fixed6(view.getFloat64(at, true)) : "<?>";
        at += 8;
      } else out += `%${conv}`;
    }
    return out.length <= MAX_TRACE ? out : out.slice(0, MAX_TRACE) + CUT;
  }
}

/** A u32 byte length less its odd last byte (a UTF-16 string's units): `& ~1` alone would read a
 * length past 2^31 as negative. @param {number} len */
function evenLength(len) {
  return (len >>> 0) - ((len >>> 0) % 2);
}

/** A trace line cut at MAX_TRACE characters, saying how many more it had (trace.py bounded: code
 * points, not UTF-16 units). @param {string} text */
function bounded(text) {
  if (text.length <= MAX_TRACE) return text;
  const chars = Array.from(text);
  return chars.length <= MAX_TRACE ? text : `${chars.slice(0, MAX_TRACE).join("")}... (${chars.length - MAX_TRACE} more)`;
}

/** Bytes as ISO-8859-1, each byte the code point of its value (as Python's "latin-1"; a TextDecoder's
 * "latin1" is windows-1252, which maps 0x80..0x9f elsewhere). @param {Uint8Array} bytes */
function latin1(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

/**
 * A double as C's %f (and Python's f"{v:f}") prints it: the exact value rounded half to even at six
 * decimals, every integer digit written, "-0.000000", "nan", "inf" (toFixed differs on each).
 * @param {number} v
 */
export function fixed6(v) {
  if (Number.isNaN(v)) return "nan";
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  if (!Number.isFinite(v)) return `${sign}inf`;
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, Math.abs(v));
  const hi = bits.getUint32(0);
  const biased = hi >>> 20;
  const mantissa = (BigInt(hi & 0xfffff) << 32n | BigInt(bits.getUint32(4))) + (biased ? 1n << 52n : 0n);
  const exp = BigInt((biased || 1) - 1075); // |v| = mantissa * 2^exp
  let n; // |v| * 10^6, rounded half to even
  if (exp >= 0n) n = (mantissa << exp) * 1000000n;
  else {
    const scaled = mantissa * 1000000n;
    const q = scaled >> -exp;
    const rest = scaled - (q << -exp);
    const half = 1n << (-exp - 1n);
    n = rest > half || (rest === half && (q & 1n)) ? q + 1n : q;
  }
  const digits = n.toString().padStart(7, "0");
  return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}
