// Endless WGSL loops (a port of layerw/gfx/wgslloops.py, the same lines): `loop {}`, `while true`
// and `for (;;)` whose body has no `break` or `return` (in it or in a loop inside it). Whether a
// loop ends is undecidable in general; these cannot end at all, and a GPU would run them until a
// driver stops it. `boundLoops` gives every loop a counter that breaks it after
// GPU_LIMITS.MAX_LOOP_ITERATIONS iterations each time it is entered, the same text as natively.

import { GPU_LIMITS } from "./abi.js";

// A loop head up to its body's "{": `loop`, `while true` (parenthesised or not), `for` with an empty condition
const HEADS = /\bloop\s*\{|\bwhile\s*(?:\(\s*true\s*\)|true)\s*\{|\bfor\s*\([^;()]*;\s*;[^)]*\)\s*\{/g;
const EXIT = /\b(?:break|return)\b/g;
const TOKENS = /\/\/|\/\*|\*\/|\n/g;
const BRACES = /[{}]/g;
// Any loop head up to its body's "{" (a WGSL condition or for-header holds no braces)
const LOOPS = /\bloop\s*\{|\bwhile\b[^{]*\{|\bfor\s*\([^{]*\{/g;
const COUNTER = "lw_loop_"; // + the loop's number: the counter boundLoops declares before the loop

/** `code` with its comments (line comments, and block comments, which nest) dropped, its newlines kept. */
export function stripComments(code) {
  const out = [];
  let depth = 0;
  let at = 0;
  for (const m of code.matchAll(TOKENS)) {
    const token = m[0];
    const start = /** @type {number} */ (m.index);
    if (start < at || (token === "\n" && !depth)) continue; // inside a line comment skipped already, or a line of code
    if (depth === 0) {
      if (token === "*/") continue; // a stray "*/": the compiler reports it
      out.push(code.slice(at, start));
      if (token === "//") {
        const end = code.indexOf("\n", start);
        at = end < 0 ? code.length : end;
        continue;
      }
    }
    if (token === "\n") out.push("\n");
    depth += token === "/*" ? 1 : token === "*/" ? -1 : 0;
    at = start + token.length;
  }
  if (depth === 0) out.push(code.slice(at));
  return out.join("");
}

/** Lines (1-based) of the loops in `code` whose body has no break or return (linear in its length). */
export function endlessLoops(code) {
  const text = stripComments(code);
  /** @type {Map<number, number>} */
  const closing = new Map(); // "{" -> its "}"
  const opened = [];
  for (const m of text.matchAll(BRACES)) {
    if (m[0] === "{") opened.push(m.index);
    else if (opened.length) closing.set(/** @type {number} */ (opened.pop()), /** @type {number} */ (m.index));
  }
  const exits = Array.from(text.matchAll(EXIT), (m) => /** @type {number} */ (m.index));
  const lines = [];
  let line = 1;
  let counted = 0;
  for (const head of text.matchAll(HEADS)) {
    const body = /** @type {number} */ (head.index) + head[0].length - 1;
    const end = closing.get(body) ?? text.length;
    let lo = 0;
    let hi = exits.length;
    while (lo < hi) { // the first exit at or after the body's "{"
      const mid = (lo + hi) >> 1;
      if (exits[mid] < body) lo = mid + 1;
      else hi = mid;
    }
    if (lo === exits.length || exits[lo] > end) {
      for (let i = counted; i < /** @type {number} */ (head.index); i++) if (text.charCodeAt(i) === 10) line++;
      counted = /** @type {number} */ (head.index);
      lines.push(line);
    }
  }
  return lines;
}

/**
 * `code` without comments, each loop preceded by a counter of its own and its body opening with a
 * break once the counter reaches GPU_LIMITS.MAX_LOOP_ITERATIONS (layerw/gfx/wgslloops.py's
 * bound_loops, character for character). Lines stay where they were.
 * @param {string} code
 * @returns {string}
 */
export function boundLoops(code) {
  const text = stripComments(code);
  const out = [];
  let at = 0;
  let n = 0;
  for (const head of text.matchAll(LOOPS)) {
    const name = `${COUNTER}${n++}`;
    const start = /** @type {number} */ (head.index);
    out.push(text.slice(at, start), `var ${name}: u32 = 0u; `, head[0],
      ` if ${name} >= ${GPU_LIMITS.MAX_LOOP_ITERATIONS}u { break; } ${name} += 1u;`);
    at = start + head[0].length;
  }
  out.push(text.slice(at));
  return out.join("");
}
