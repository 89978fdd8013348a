// Delta: apply a module delta in the browser (mirrors layerw/store/delta.py).
//
// A delta is one standard zstd frame that decompresses, with the previous module loaded as a
// raw-content dictionary, to the new module. Chromium has no zstd-with-dictionary API for page
// code, so this uses a vendored wasm build of zstd (vendor/zstd-wasm, @bokuweb/zstd-wasm 0.0.27),
// loaded on first use only.

import { IntegrityError } from "./errors.js";

let zstd = null;

async function decoder() {
  if (!zstd) {
    zstd = (async () => {
      const { Module } = await import("./vendor/zstd-wasm/zstd.js");
      const ready = new Promise((resolve) => { Module.onRuntimeInitialized = resolve; });
      Module.init(new URL("./vendor/zstd-wasm/zstd.wasm", import.meta.url).href);
      await ready;
      return Module;
    })();
  }
  return zstd;
}

/** SHA-256 of bytes, as lowercase hex. */
export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The new module from `old` and `delta` (Uint8Arrays), verified to hash to `newSha256`, whose
 *  decoded size the manifest gives as `size`. */
export async function applyDelta(old, delta, newSha256, size) {
  const M = await decoder();
  const src = M._malloc(delta.byteLength);
  const dict = M._malloc(old.byteLength);
  const dst = M._malloc(Math.max(size, 1));
  const dctx = M._ZSTD_createDCtx();
  let out;
  try {
    M.HEAPU8.set(delta, src);
    M.HEAPU8.set(old, dict);
    const n = M._ZSTD_decompress_usingDict(dctx, dst, size, src, delta.byteLength, dict, old.byteLength) >>> 0;
    if (M._ZSTD_isError(n)) throw new IntegrityError(`the module delta does not apply (zstd error ${-n >>> 0})`);
    out = M.HEAPU8.slice(dst, dst + n);
  } finally {
    M._ZSTD_freeDCtx(dctx);
    M._free(dst);
    M._free(dict);
    M._free(src);
  }
  const got = await sha256(out);
  if (got !== newSha256) {
    throw new IntegrityError(`the module delta gives a module that hashes to ${got}, not ${newSha256}`);
  }
  return out;
}
