// Endless WGSL loops (a port of layerw/gfx/wgslloops.py, the same lines): `loop {}`, `while true`
// and `for (;;)` whose body has no `break` or `return` (in it or in a loop inside it). Whether a
// loop ends is undecidable in general; these cannot end at all, and a GPU would run them until a
// driver stops it. `boundLoops` makes every loop break once the invocation's loops have gone round
// GPU_LIMITS.MAX_LOOP_ITERATIONS times in all (a loop holding a collective operation: its nest's
// loops), the same text as natively (layerw/gfx/wgslloops.py says why loops stay uniform).

import { GPU_LIMITS } from "./abi.js";

// A loop head up to its body's "{": `loop`, `while true` (parenthesised or not), `for` with an empty condition
const HEADS = /\bloop\s*\{|\bwhile\s*(?:\(\s*true\s*\)|true)\s*\{|\bfor\s*\([^;()]*;\s*;[^)]*\)\s*\{/g;
const EXIT = /\b(?:break|return)\b/g;
const TOKENS = /\/\/|\/\*|\*\/|\n/g;
const BRACES = /[{}]/g;
// Any loop head up to its body's "{" (a WGSL condition or for-header holds no braces)
const LOOPS = /\bloop\s*\{|\bwhile\b[^{]*\{|\bfor\s*\([^{]*\{/g;
const BLANK = "[\\t\\n\\v\\f\\r \\u0085\\u200e\\u200f\\u2028\\u2029]"; // Spec: WGSL 3.2 (blankspace), spelled out as in wgslloops.py
// Spec: WGSL 15.2 (uniformity): the builtins that must be called in uniform control flow
const COLLECTIVE = new RegExp("\\b(?:textureSample(?:Bias|Compare)?|dpd[xy](?:Coarse|Fine)?|fwidth(?:Coarse|Fine)?|workgroupBarrier"
  + `|storageBarrier|textureBarrier|workgroupUniformLoad|subgroup[A-Z][A-Za-z]*|quad(?:Broadcast|Swap[A-Z][A-Za-z]*))${BLANK}*\\(`);
const FUNCTIONS = new RegExp(`\\bfn${BLANK}+([A-Za-z_][A-Za-z0-9_]*)${BLANK}*\\([^{]*\\{`, "g"); // head up to its body's "{"
const CALLS = new RegExp(`\\b([A-Za-z_][A-Za-z0-9_]*)${BLANK}*\\(`, "g");
const COUNTER = "lw_loop_"; // + the loop's number: the counter boundLoops declares before the loop
const TOTAL = "lw_loops"; // the invocation's count of loop iterations, a var<private>

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
  const closing = closingBraces(text);
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

/** Each "{" of `text` -> its "}" (an unclosed one is left out). @returns {Map<number, number>} */
function closingBraces(text) {
  const closing = new Map();
  const opened = [];
  for (const m of text.matchAll(BRACES)) {
    if (m[0] === "{") opened.push(m.index);
    else if (opened.length) closing.set(/** @type {number} */ (opened.pop()), /** @type {number} */ (m.index));
  }
  return closing;
}

/** Whether `text` calls a collective builtin or one of `functions` (a Set of names). */
function collective(text, functions) {
  if (COLLECTIVE.test(text)) return true;
  for (const m of text.matchAll(CALLS)) if (functions.has(m[1])) return true;
  return false;
}

/** Names of the functions of `text` (comments stripped) that call a collective builtin, or a function that does. */
function collectiveFunctions(text, closing) {
  /** @type {Map<string, Set<string>>} */
  const calls = new Map();
  const found = new Set();
  for (const m of text.matchAll(FUNCTIONS)) {
    const open = /** @type {number} */ (m.index) + m[0].length - 1;
    const body = text.slice(open, closing.get(open) ?? text.length);
    calls.set(m[1], new Set(Array.from(body.matchAll(CALLS), (c) => c[1])));
    if (COLLECTIVE.test(body)) found.add(m[1]);
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, called] of calls) {
      if (!found.has(name) && Array.from(called).some((c) => found.has(c))) {
        found.add(name);
        grew = true;
      }
    }
  }
  return found;
}

/**
 * `code` without comments, each loop preceded by a counter and its body opening with a break once
 * that counter reaches GPU_LIMITS.MAX_LOOP_ITERATIONS: the invocation's count, or for a loop holding
 * a collective operation its nest's (layerw/gfx/wgslloops.py's bound_loops, character for
 * character). Lines stay where they were, and uniform loops stay uniform.
 * @param {string} code
 * @returns {string}
 */
export function boundLoops(code) {
  const text = stripComments(code);
  const closing = closingBraces(text);
  const functions = collectiveFunctions(text, closing);
  const cap = `${GPU_LIMITS.MAX_LOOP_ITERATIONS}u`;
  /** @type {Array<[number, number, string]>} (where, order there: hand back, check, declare; text) */
  const edits = [];
  /** @type {Array<[number, string]>} the loops around this one: (the end of its body, its counter) */
  const enclosing = [];
  let n = 0;
  for (const head of text.matchAll(LOOPS)) {
    const start = /** @type {number} */ (head.index);
    const headEnd = start + head[0].length;
    const name = `${COUNTER}${n++}`;
    const body = headEnd - 1;
    const end = closing.get(body) ?? text.length;
    while (enclosing.length && enclosing[enclosing.length - 1][0] < start) enclosing.pop();
    if (!collective(text.slice(start, end), functions)) {
      edits.push([start, 2, `var ${name}: u32 = ${TOTAL}; `],
        [headEnd, 1, ` if ${name} >= ${cap} { break; } ${TOTAL} += 1u; ${name} = ${TOTAL};`]);
    } else { // the loops around it hold it, so they are collective too: it counts in its nest's counter
      const outer = enclosing.length ? enclosing[enclosing.length - 1][1] : "";
      edits.push([start, 2, `var ${name}: u32 = ${outer || "0u"}; `],
        [headEnd, 1, ` if ${name} >= ${cap} { break; } ${name} += 1u; ${TOTAL} += 1u;`]);
      if (outer && closing.has(body)) edits.push([end + 1, 0, ` ${outer} = ${name};`]);
    }
    enclosing.push([end, name]);
  }
  edits.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = [];
  let at = 0;
  for (const [where, , insert] of edits) {
    out.push(text.slice(at, where), insert);
    at = where;
  }
  out.push(text.slice(at));
  if (edits.length) out.push(` var<private> ${TOTAL}: u32;`);
  return out.join("");
}
