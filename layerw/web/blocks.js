// Blocks: memory compared and copied in 4 KiB blocks, so that a copy writes only what differs (the
// browser's copy of layerw/runtime/blocks.py). An in-place restore writes a snapshot back into the
// live memory of the instance that took it: a rollback a few ticks deep changes a few blocks of a
// megabyte, so comparing (a read of both) and copying the blocks that differ costs a fraction of a
// fresh instance (a compile-cached instantiate, a full copy and the page faults of new memory).

import { BLOCK } from "./snapshot.js";

const WORDS = BLOCK / 4;

/**
 * True when `a` and `b` (the same length, 4-byte aligned views) hold the same words in [from, to).
 * @param {Uint32Array} a @param {Uint32Array} b @param {number} from @param {number} to
 */
function sameWords(a, b, from, to) {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when `a` and `b` hold the same bytes in [from, to).
 * @param {Uint8Array} a @param {Uint8Array} b @param {number} from @param {number} to
 */
function sameBytes(a, b, from, to) {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Make `target` (a view of live memory) equal `source` (the same length), copying only the 4 KiB
 * blocks that differ; how many bytes were copied.
 * @param {Uint8Array} target
 * @param {Uint8Array} source
 * @returns {number}
 */
export function patch(target, source) {
  if (target.length !== source.length) throw new RangeError(`patching ${target.length} bytes with ${source.length}`);
  const n = target.length;
  const aligned = target.byteOffset % 4 === 0 && source.byteOffset % 4 === 0;
  const words = aligned ? n >>> 2 : 0;
  const live = aligned ? new Uint32Array(target.buffer, target.byteOffset, words) : null;
  const want = aligned ? new Uint32Array(source.buffer, source.byteOffset, words) : null;
  let copied = 0;
  for (let at = 0; at < n; at += BLOCK) {
    const end = Math.min(at + BLOCK, n);
    let same;
    if (live && want && end - at === BLOCK) same = sameWords(live, want, at >>> 2, (at >>> 2) + WORDS);
    else same = sameBytes(target, source, at, end);
    if (!same) {
      target.set(source.subarray(at, end), at);
      copied += end - at;
    }
  }
  return copied;
}
