// WASM-4 carts in the browser (mirrors layerw/cart.py and layerw/runtime/wasm4/globals.py): tell a
// cart from a Layer-W game by its import section (only `env`), refuse what the profile cannot run,
// and export a cart's mutable number globals (`layerw:global:N`) so its state hash and the native
// one cover the same values. A cart has no symbols: its frames take the names of its own name section
// (functionNames, as wasmtime names them natively; layerw/runtime/aot/namesection.py).

import { GameOutOfMemory, InvalidModule } from "./errors.js";

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** WASM-4's functions (wasm4.h): [i32 parameters, i32 results] (layerw/cart.py CART_SIGNATURES). */
export const CART_SIGNATURES = {
  blit: [6, 0], blitSub: [9, 0], line: [4, 0], hline: [3, 0], vline: [3, 0], oval: [4, 0],
  rect: [4, 0], text: [3, 0], textUtf8: [4, 0], textUtf16: [4, 0], tone: [4, 0],
  diskr: [2, 1], diskw: [2, 1], trace: [1, 0], traceUtf8: [2, 0], traceUtf16: [2, 0], tracef: [2, 0],
};
export const CART_FUNCTIONS = new Set(Object.keys(CART_SIGNATURES));
export const EXPORT_PREFIX = "layerw:global:";
const KINDS = ["func", "table", "memory", "global", "tag"];
const NUMBER_TYPES = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };
/** @type {Record<number, string>} */
const VALUE_TYPES = { ...NUMBER_TYPES, 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Reads a wasm binary; past the end is InvalidModule. */
class Reader {
  /** @param {Uint8Array} data @param {number} at */
  constructor(data, at = 0) { this.data = data; this.at = at; }

  byte() {
    if (this.at >= this.data.length) throw new InvalidModule("wasm module ends early (truncated or malformed)");
    return this.data[this.at++];
  }

  u32() {
    let value = 0;
    let scale = 1;
    for (let shift = 0; ; shift += 7) {
      if (shift > 63) throw new InvalidModule("malformed LEB128 number in wasm module");
      const b = this.byte();
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return value;
    }
  }

  name() {
    const n = this.u32();
    if (this.at + n > this.data.length) throw new InvalidModule("wasm module ends inside an import name");
    const text = utf8.decode(this.data.subarray(this.at, this.at + n));
    this.at += n;
    return text;
  }

  limits() {
    const flags = this.byte();
    const low = this.u32();
    return [low, flags & 1 ? this.u32() : null];
  }
}

/** @param {Uint8Array} bytes */
function isCoreModule(bytes) {
  return bytes.length >= 8 && HEADER.every((b, i) => bytes[i] === b);
}

/**
 * Each section of a core module (none for anything else): its id, a reader at its contents (cart.py sections)
 * and their size.
 * @param {Uint8Array} bytes
 * @returns {Generator<[number, Reader, number]>}
 */
function* sections(bytes) {
  if (!isCoreModule(bytes)) return;
  const r = new Reader(bytes, 8);
  while (r.at < bytes.length) {
    const section = r.byte();
    const size = r.u32();
    yield [section, new Reader(bytes, r.at), size];
    r.at += size;
  }
}

/**
 * The ids of the sections of a core module (empty for anything else).
 * @param {Uint8Array} bytes
 * @returns {Set<number>}
 */
export function sectionIds(bytes) {
  return new Set(Array.from(sections(bytes), ([section]) => section));
}

/**
 * The function types of a core module's type section ([] without one), each [parameters, results]; null
 * when it holds a type this reader does not know (the GC proposal's), for the link to judge (cart.py func_types).
 * @param {Uint8Array} bytes
 * @returns {Array<[string[], string[]]> | null}
 */
export function funcTypes(bytes) {
  for (const [section, r] of sections(bytes)) {
    if (section !== 1) continue;
    /** @type {Array<[string[], string[]]>} */
    const out = [];
    for (let i = 0, n = r.u32(); i < n; i++) {
      if (r.byte() !== 0x60) return null;
      const sides = [];
      for (let side = 0; side < 2; side++) {
        const types = [];
        for (let j = 0, m = r.u32(); j < m; j++) {
          const type = VALUE_TYPES[r.byte()];
          if (!type) return null;
          types.push(type);
        }
        sides.push(types);
      }
      out.push([sides[0], sides[1]]);
    }
    return out;
  }
  return [];
}

/**
 * Where the code section's contents begin (-1 without one): exportGlobals moves them, and a frame's offset with them.
 * @param {Uint8Array} bytes
 */
export function codeAt(bytes) {
  for (const [section, r] of sections(bytes)) if (section === 10) return r.at;
  return -1;
}

/**
 * Function index -> name from a module's `name` section (empty without one). Spec: a malformed custom
 * section does not make a module invalid, so a name section that does not parse names none.
 * @param {Uint8Array} bytes
 * @returns {Map<number, string>}
 */
export function functionNames(bytes) {
  /** @type {Map<number, string>} */
  const names = new Map();
  try {
    for (const [section, r, size] of sections(bytes)) {
      const end = r.at + size;
      if (section !== 0 || r.name() !== "name") continue;
      while (r.at < end) {
        const sub = r.byte();
        const size = r.u32();
        const next = r.at + size;
        if (sub === 1) for (let i = 0, n = r.u32(); i < n; i++) names.set(r.u32(), r.name());
        r.at = next;
      }
    }
  } catch (e) {
    if (e instanceof InvalidModule) return new Map();
    throw e;
  }
  return names;
}

/** A function type as WAT writes it (cart.py wat_type). @param {[string[], string[]]} func */
function watType([params, results]) {
  const text = [["param", params], ["result", results]].filter(([, types]) => types.length)
    .map(([side, types]) => `(${side} ${/** @type {string[]} */ (types).join(" ")})`).join(" ");
  return text || "(no parameters or results)";
}

/** WASM-4's type of function `name`: every parameter and result an i32. @param {string} name @returns {[string[], string[]]} */
function cartSignature(name) {
  const [params, results] = /** @type {Record<string, number[]>} */ (CART_SIGNATURES)[name];
  return [Array(params).fill("i32"), Array(results).fill("i32")];
}

/**
 * The import section of a core module ([] for anything else).
 * @param {Uint8Array} bytes
 * @returns {{module: string, name: string, kind: string, limits: Array<number | null> | null, typeIndex: number | null}[]}
 */
export function imports(bytes) {
  for (const [section, r] of sections(bytes)) {
    if (section !== 2) continue;
    const out = [];
    for (let i = 0, n = r.u32(); i < n; i++) {
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      let limits = null;
      let typeIndex = null;
      if (kind === 0) typeIndex = r.u32();
      else if (kind === 1) { r.byte(); r.limits(); }
      else if (kind === 2) limits = r.limits();
      else if (kind === 3) { r.byte(); r.byte(); }
      else if (kind === 4) { r.byte(); r.u32(); }
      else throw new InvalidModule(`unknown import kind ${kind} in wasm module`);
      out.push({ module, name, kind: KINDS[kind], limits, typeIndex });
    }
    return out;
  }
  return [];
}

/** True for a WASM-4 cart: a core module importing WASM-4's memory or one of its functions from
 * `env`, and nothing from Layer-W's own module (checkCart refuses the imports WASM-4 does not offer).
 * @param {Uint8Array} bytes */
export function isCart(bytes) {
  try {
    const found = imports(bytes);
    return found.some((i) => i.module === "env" && (CART_FUNCTIONS.has(i.name) || i.name === "memory"))
      && found.every((i) => i.module !== "layerw");
  } catch (e) {
    if (e instanceof InvalidModule) return false;
    throw e;
  }
}

/** Refuse a cart the profile cannot run (as layerw/cart.py check_cart does): its memory, its imports, their types.
 * @param {Uint8Array} bytes @param {string} name */
export function checkCart(bytes, name) {
  const found = imports(bytes);
  const memories = found.filter((i) => i.kind === "memory");
  if (memories.length !== 1 || memories[0].name !== "memory") {
    const own = sectionIds(bytes).has(5)
      ? ": it defines its own memory, where WASM-4's registers and framebuffer are not; link it with --import-memory" : "";
    const names = memories.map((i) => `${i.module}.${i.name}`).join(", ") || "none";
    throw new InvalidModule(`${name}: a WASM-4 cart imports its memory as env.memory (found ${names})${own}`);
  }
  const low = memories[0].limits ? /** @type {number} */ (memories[0].limits[0]) : 0;
  if (low > 1) {
    throw new GameOutOfMemory(`${name} asks for ${low} pages of memory; a WASM-4 cart has exactly 1 (64 KiB)`,
      { game: name, tick: 0 });
  }
  const unknown = found.filter((i) => i.module !== "env"
    || (i.kind !== "memory" && (i.kind !== "func" || !CART_FUNCTIONS.has(i.name))));
  if (unknown.length) {
    throw new InvalidModule(`${name} imports ${unknown.map((i) => `${i.module}.${i.name} (${i.kind})`).sort().join(", ")}, `
      + `which WASM-4 does not offer; a cart may import env.${[...CART_FUNCTIONS].sort().join(", env.")} and env.memory`);
  }
  // a JavaScript function links whatever type a cart declares: check as the native host does
  const types = funcTypes(bytes);
  const wrong = types === null ? [] : found.filter((i) => i.kind === "func" && i.typeIndex !== null && i.typeIndex < types.length
      && watType(types[i.typeIndex]) !== watType(cartSignature(i.name)))
    .map((i) => `env.${i.name} as ${watType(types[/** @type {number} */ (i.typeIndex)])}, WASM-4's is ${watType(cartSignature(i.name))}`);
  if (wrong.length) {
    throw new InvalidModule(`${name} declares ${wrong.join("; ")}: the cart cannot be linked (fix its declarations to wasm4.h's)`);
  }
}

/** @param {number} value */
function uleb(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return out;
}

/** Skip a constant expression up to and including its `end`. @param {Reader} r */
function skipInit(r) {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return;
    if ([0x41, 0x42, 0x23, 0xd2].includes(op)) r.u32();
    else if (op === 0x43) r.at += 4;
    else if (op === 0x44) r.at += 8;
    else if (op === 0xd0) r.byte();
    else if (op === 0xfd) { r.u32(); r.at += 16; }
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) {
      throw new InvalidModule(`unsupported opcode 0x${op.toString(16)} in a global's initialiser`);
    }
  }
}

/**
 * `bytes` with every mutable number global exported as `layerw:global:N`, and what was exported.
 * @param {Uint8Array} bytes
 * @returns {{wasm: Uint8Array, names: string[], types: string[], unsaved: number}}
 */
export function exportGlobals(bytes) {
  if (!isCoreModule(bytes)) throw new InvalidModule("not a core wasm module");
  const imported = imports(bytes).filter((i) => i.kind === "global").length;
  const r = new Reader(bytes, 8);
  /** @type {Array<[number, Uint8Array]>} */
  const sections = [];
  const names = [];
  const types = [];
  let unsaved = 0;
  while (r.at < bytes.length) {
    const section = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (end > bytes.length) throw new InvalidModule("wasm section runs past the end of the module");
    const payload = bytes.subarray(r.at, end);
    if (section === 6) {
      const g = new Reader(payload);
      for (let index = imported, n = imported + g.u32(); index < n; index++) {
        const kind = g.byte();
        const mutable = g.byte();
        skipInit(g);
        const type = /** @type {Record<number, string>} */ (NUMBER_TYPES)[kind];
        if (mutable && type) { names.push(`${EXPORT_PREFIX}${index}`); types.push(type); }
        else if (mutable) unsaved += 1;
      }
    }
    sections.push([section, payload]);
    r.at = end;
  }
  if (!names.length) return { wasm: bytes, names, types, unsaved };
  const added = names.flatMap((n) => [...uleb(n.length), ...encoder.encode(n), 0x03, ...uleb(Number(n.slice(EXPORT_PREFIX.length)))]);
  /** @type {number[]} */
  const out = [...HEADER];
  /** @param {number} id @param {ArrayLike<number>} payload */
  const put = (id, payload) => { out.push(id, ...uleb(payload.length)); for (let i = 0; i < payload.length; i++) out.push(payload[i]); };
  let placed = false;
  for (const [section, payload] of sections) {
    if (section === 7) {
      const e = new Reader(payload);
      const count = e.u32();
      put(7, [...uleb(count + names.length), ...payload.subarray(e.at), ...added]);
      placed = true;
      continue;
    }
    if (!placed && ORDER.includes(section) && ORDER.indexOf(section) > ORDER.indexOf(7)) {
      put(7, [...uleb(names.length), ...added]);
      placed = true;
    }
    put(section, payload);
  }
  if (!placed) put(7, [...uleb(names.length), ...added]);
  return { wasm: new Uint8Array(out), names, types, unsaved };
}
