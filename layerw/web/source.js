// Source: where a game's config, module and assets come from. Every loader hands `boot` the same
// shape, so a manifest/chunk loader plugs in beside this one:
//
//   {config: {name, tick_rate, width, height, preload: [names], assets: [names], memory_mb,
//             component, ...},
//    module: Response | ArrayBuffer | Uint8Array | WebAssembly.Module (or a Promise of one),
//    component: (a component build, config.component) {glue: Promise<the jco-transpiled ES
//               module>, glueBytes() -> Promise<its source text's bytes> (a game worker imports them),
//               coreModule(name) -> Promise<Response | bytes>} instead of `module`,
//    readAsset(name) -> Promise<ArrayBuffer>, readStream(name, sink) -> Promise<void>: a streamed
//    sound's bytes into a SoundStream as they arrive,
//    readSymbols() -> Promise<Symbols | null> (symbols.js: a crash names source lines; null: none here),
//    readReplayTwin() -> Promise<{twin, map} | null> (replay.js: a game worker's timeout names its frames; a build
//    directory's only)}
//
// `dirSource` (here) and `storeSource` (store-source.js, manifests and verified chunks) are the two
// loaders. `dirSource` reads a build directory served over HTTP (what `layerw build` writes, plus a
// `game.json` descriptor of its config, asset names and, for a component build, the names of its
// `transpiled/` files), the browser's counterpart of DirBundle.

import { LayerWError } from "./errors.js";
import { loadReplayTwin } from "./replay.js";
import { loadSymbols } from "./symbols.js";

export const DESCRIPTOR = "game.json";
export const SYMBOLS = "game.symbols.json";
export const COMPONENT_SYMBOLS = "game.component.symbols.json"; // a component build's: of its core module that holds the game's code
export const REPLAY_TWIN = "game.replay.wasm"; // the module with a poll at each loop head, and its offset map (replay.js)
export const REPLAY_MAP = "game.replay.json";
export const DEBUG_MODULE = "game.debug.wasm"; // game.wasm with its DWARF (`layerw build` writes both) // the build's source-line table, beside game.wasm (symbols.js)
/** The verified bytes each compiled module a loader hands over was compiled from: a WASM-4 cart's
 *  host (cart-game.js) needs them, to export the cart's globals before compiling it its way. */
export const MODULE_BYTES = new WeakMap();
export const TRANSPILED_DIR = "transpiled/";

/**
 * Import an ES module from its source text's bytes (a blob: URL, revoked once imported): a component
 * build's transpiled glue, verified chunk by chunk (store-source.js) or handed to a game worker.
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @returns {Promise<any>}
 */
export async function importBytes(bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
  try {
    return await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The transpiled glue's name among a component build's transpiled files (its one ES module). */
export function glueName(files) {
  return files.find((name) => name.endsWith(".js")) || null;
}

/** Counts bytes and items as they arrive; `onProgress({bytes, total, items, itemsTotal})`. */
export class Progress {
  /** @param {(p: {bytes: number, total: number, items: number, itemsTotal: number}) => void} [onProgress] */
  constructor(onProgress = () => {}) {
    this.onProgress = onProgress;
    this.bytes = 0;
    this.total = 0;
    this.items = 0;
    this.itemsTotal = 0;
  }

  report() {
    this.onProgress({ bytes: this.bytes, total: this.total, items: this.items, itemsTotal: this.itemsTotal });
  }

  /** Count `bytes` arrived and `items` finished (known totals). */
  add(bytes, items = 0) {
    this.bytes += bytes;
    this.items += items;
    this.report();
  }

  /** A ReadableStream that counts the bytes of `stream` as they pass (no item counted). */
  count(stream) {
    return stream.pipeThrough(new TransformStream({
      transform: (chunk, controller) => {
        this.add(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }));
  }

  /** A Response whose body reports its bytes as they stream (for streaming compilation). */
  track(response) {
    this.itemsTotal++;
    this.total += Number(response.headers.get("content-length") || 0);
    this.report();
    if (!response.body) return response;
    const counted = response.body.pipeThrough(new TransformStream({
      transform: (chunk, controller) => {
        this.bytes += chunk.byteLength;
        this.report();
        controller.enqueue(chunk);
      },
      flush: () => {
        this.items++;
        this.report();
      },
    }));
    return new Response(counted, { status: response.status, headers: response.headers });
  }
}

async function fetchOk(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new LayerWError(`could not fetch ${what} from ${url}: ${e.message || e} (is the server running?)`);
  }
  if (!response.ok) throw new LayerWError(`could not fetch ${what} from ${url}: HTTP ${response.status}`);
  return response;
}

/**
 * A source for the build directory at `base` (a URL ending in '/'). With `debug` it loads
 * game.debug.wasm, the same code with its DWARF: Chromium DevTools (with the C/C++ DevTools Support
 * extension) then shows the game's C sources, breakpoints and variables.
 * @param {string} base
 * @param {{onProgress?: (p: {bytes: number, total: number, items: number, itemsTotal: number}) => void,
 *          debug?: boolean}} [options]
 */
export async function dirSource(base, { onProgress, debug = false } = {}) {
  const root = new URL(base, location.href);
  const progress = new Progress(onProgress);
  const config = await (await fetchOk(new URL(DESCRIPTOR, root), "the game descriptor")).json();
  const assetUrl = (name) => new URL(`assets/${name.split("/").map(encodeURIComponent).join("/")}`, root);
  const glue = config.component ? glueName(config.transpiled || []) : null;
  return {
    readSymbols: () => loadSymbols(new URL(config.component ? COMPONENT_SYMBOLS : SYMBOLS, root)),
    readReplayTwin: () => loadReplayTwin(new URL(REPLAY_TWIN, root), new URL(REPLAY_MAP, root)),
    config,
    module: config.component ? null
      : progress.track(await fetchOk(new URL(debug ? DEBUG_MODULE : "game.wasm", root), `${config.name}'s module`)),
    component: glue && {
      glue: import(new URL(TRANSPILED_DIR + glue, root).href),
      glueBytes: async () => new Uint8Array(await (await fetchOk(new URL(TRANSPILED_DIR + glue, root), `${config.name}'s ${glue}`)).arrayBuffer()),
      coreModule: async (name) => progress.track(await fetchOk(new URL(TRANSPILED_DIR + name, root), `${config.name}'s ${name}`)),
    },
    progress,
    async readAsset(name) {
      const response = progress.track(await fetchOk(assetUrl(name), `${config.name}'s asset '${name}'`));
      return response.arrayBuffer();
    },
    /** A streamed sound's bytes into `sink` (sound-stream.js) as the response body arrives. */
    async readStream(name, sink) {
      const response = await fetchOk(assetUrl(name), `${config.name}'s asset '${name}'`);
      const length = Number(response.headers.get("content-length"));
      if (!response.body || !(length >= 0) || response.headers.get("content-encoding")) {
        const all = new Uint8Array(await response.arrayBuffer()); // no length to lay the parts out by: at once
        sink.begin(all.length);
        sink.part(0, all);
      } else {
        sink.begin(length);
        const reader = response.body.getReader();
        for (let at = 0; ;) {
          const { done, value } = await reader.read();
          if (done) break;
          sink.part(at, value);
          at += value.length;
        }
      }
      sink.finish();
    },
  };
}
