// Snapshot: a game's state at a tick boundary, read from the bytes a room sends (mirrors
// layerw/runtime/snapshot.py).
//
//   LWSNAP1\n  u32 header length, JSON header {module_sha256, tick, pages, state_begin, host,
//              hole: [at, size]}, then the memory [state_begin, pages * 64 KiB) minus the hole, zlib
//   LWDELTA1   u32 header length, JSON header {tick, pages, base_tick, changed: [block...], host},
//              then the changed 4 KiB blocks, concatenated, zlib
//
// zlib is what DecompressionStream calls "deflate". The random stream's state (host.rng) is a
// 64-bit integer, so the header is parsed with its source text to keep every digit (a BigInt).

import { ProtocolError } from "./errors.js";

export const PAGE = 65536;
export const BLOCK = 4096;
const MAGIC = "LWSNAP1\n";
const DELTA_MAGIC = "LWDELTA1";
const ascii = new TextDecoder("ascii");
const utf8 = new TextDecoder("utf-8");

export class Snapshot {
  /**
   * @param {{moduleSha256: string, tick: number, pages: number, stateBegin: number, memory: Uint8Array,
   *          host: any, holeAt?: number, holeSize?: number}} fields
   */
  constructor({ moduleSha256, tick, pages, stateBegin, memory, host, holeAt = 0, holeSize = 0 }) {
    this.moduleSha256 = moduleSha256;
    this.tick = tick;
    this.pages = pages;
    this.stateBegin = stateBegin;
    this.memory = memory;
    this.host = host;
    this.holeAt = holeAt;
    this.holeSize = holeSize;
  }

  get memorySize() { return this.pages * PAGE - this.stateBegin - this.holeSize; }
}

/** zlib-inflate `bytes` (a Uint8Array) with the browser's own DecompressionStream. */
export async function inflate(bytes) {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new ProtocolError(`snapshot memory does not inflate: ${e.message || e}`);
  }
}

function split(data, magic, what) {
  if (data.length < magic.length + 4 || ascii.decode(data.subarray(0, magic.length)) !== magic) {
    throw new ProtocolError(`not a Layer-W ${what} (bad magic)`);
  }
  const n = new DataView(data.buffer, data.byteOffset).getUint32(magic.length, true);
  const start = magic.length + 4;
  if (start + n > data.length) throw new ProtocolError(`${what} header overruns the message`);
  let header;
  try {
    // the source text of every integer, so the 64-bit rng state (and any integer past 2^53, e.g. a
    // cart's i64 global) stays exact
    header = JSON.parse(utf8.decode(data.subarray(start, start + n)),
      (key, value, context) => ((key === "rng" || (typeof value === "number" && !Number.isSafeInteger(value)))
        && context && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value));
  } catch (e) {
    throw new ProtocolError(`${what} header is corrupt: ${e.message}`);
  }
  if (typeof header.host?.rng !== "bigint") {
    throw new ProtocolError(`${what} header has no exact rng state (this browser lacks JSON.parse source text access)`);
  }
  return [header, data.subarray(start + n)];
}

/** Parse LWSNAP1 bytes (a Uint8Array). */
export async function parseSnapshot(data) {
  const [h, body] = split(data, MAGIC, "snapshot");
  const memory = await inflate(body);
  const snap = new Snapshot({
    moduleSha256: String(h.module_sha256), tick: h.tick, pages: h.pages, stateBegin: h.state_begin,
    memory, host: h.host, holeAt: h.hole[0], holeSize: h.hole[1],
  });
  if (memory.length !== snap.memorySize) throw new ProtocolError("snapshot memory size does not match its page count");
  return snap;
}

/** Rebuild the newer snapshot from `base` (a Snapshot) and LWDELTA1 bytes made against it. */
export async function applyDelta(base, data) {
  const [h, packed] = split(data, DELTA_MAGIC, "snapshot delta");
  if (h.base_tick !== base.tick) {
    throw new ProtocolError(`the delta was made against tick ${h.base_tick}, not this snapshot's tick ${base.tick}`);
  }
  const body = await inflate(packed);
  const size = h.pages * PAGE - base.stateBegin - base.holeSize;
  const memory = new Uint8Array(size);
  memory.set(base.memory.subarray(0, Math.min(size, base.memory.length)));
  let at = 0;
  for (const b of h.changed) {
    const n = Math.min(BLOCK, size - b * BLOCK);
    if (!(b >= 0 && n > 0) || at + n > body.length) throw new ProtocolError("snapshot delta blocks do not match its header");
    memory.set(body.subarray(at, at + n), b * BLOCK);
    at += n;
  }
  if (at !== body.length) throw new ProtocolError("snapshot delta blocks do not match its header");
  return new Snapshot({ ...base, tick: h.tick, pages: h.pages, memory, host: h.host });
}
