// storeSource: a game streamed from a Layer-W store over HTTP (the browser's StoreBundle).
//
//   storeSource(game, {channel, version, base, delta, onProgress}) -> Promise<Source>  (see source.js)
//       delta: "auto" (default: use a module delta when it saves more than the decoder costs),
//       "always" or "never".
//
// It fetches the manifest (`/games/GAME/manifest?channel=C`, revalidated on every visit: 304 when
// unchanged; or the immutable `/manifests/GAME/V.json` for ?version=), then the module's chunks and
// the preload assets' chunks in parallel. Every chunk is verified against its id (SHA-256 of the
// decoded bytes, WebCrypto) before anything uses it; a mismatch is an IntegrityError. Chunks stored
// as zstd arrive with `Content-Encoding: zstd`, which Chromium decodes itself. Verified chunks go
// into Cache Storage, so a second visit fetches no chunk at all. A module that arrives as one chunk
// is compiled while it streams (the stream is teed into the hash; the compiled module is handed
// over only once its hash checks out). When the manifest lists a delta from a module this browser
// holds, only the delta is fetched and applied (delta.js). Other assets stream on demand.
// A component build (game.component) is run from its `transpiled` files instead of its module (the
// component itself, which only native hosts run): the glue is imported from a blob: URL once its
// chunks check out, and its core modules come from verified chunks like everything else.

import { ReplayMap, loadReplayTwin } from "./replay.js";
import { loadSymbols } from "./symbols.js";
import { LoadError, IntegrityError, InvalidModule } from "./errors.js";
import { applyDelta, sha256 } from "./delta.js";
import { MODULE_BYTES, Progress, glueName, importBytes } from "./source.js";

export const CACHE = "layerw-chunks-v1";
const SCHEMA = 1;
const CHUNK_ID = /^[0-9a-f]{64}$/;
// The vendored zstd decoder (vendor/zstd-wasm) is about this big on the wire the first time: a delta
// is worth fetching ("auto") only when it saves more than that, or once the decoder has been used.
export const DECODER_BYTES = 264_000;
const BASE_KEY = (origin, game) => `${origin}/layerw/module-of/${encodeURIComponent(game)}`;

/** What the loader did, for tests and benchmarks (window.layerw.load). */
export class LoadStats {
  constructor() {
    this.chunksFetched = 0;
    this.chunksCached = 0;
    this.bytesFetched = 0;
    this.deltaBytes = 0;
    this.deltaSaved = 0;
    /** @type {string | null} where the module came from: "cache", "delta" or "full" */
    this.moduleFrom = null;
    this.startedAt = performance.now();
    this.manifestMs = 0;
    this.moduleMs = 0;
  }
}

function checkManifest(doc, where) {
  const bad = (what) => { throw new LoadError(`${where}: ${what}; is this a Layer-W store (manifest schema ${SCHEMA})?`); };
  if (!doc || typeof doc !== "object") bad("not a JSON object");
  if (doc.schema !== SCHEMA) bad(`schema ${doc.schema}, this client reads schema ${SCHEMA}: reload, or upgrade the server`);
  const entry = (e, name) => {
    if (!e || !Array.isArray(e.chunks) || !CHUNK_ID.test(e.sha256)) bad(`${name} has no chunk list`);
    let size = 0;
    for (const c of e.chunks) {
      if (!CHUNK_ID.test(c.id) || !(c.size >= 0)) bad(`${name} lists a chunk without an id or size`);
      size += c.size;
    }
    if (size !== e.size) bad(`${name}: chunk sizes add up to ${size}, not ${e.size}`);
  };
  entry(doc.module, "module");
  for (const [name, e] of Object.entries(doc.assets || {})) entry(e, `asset '${name}'`);
  for (const [name, e] of Object.entries(doc.transpiled || {})) entry(e, `transpiled file '${name}'`);
  if (doc.replay) for (const name of ["twin", "map"]) entry(doc.replay[name], `replay ${name}`);
  for (const d of doc.deltas || []) if (!CHUNK_ID.test(d.id) || !CHUNK_ID.test(d.from_sha256)) bad("bad delta");
  for (const name of doc.game.preload || []) if (!doc.assets[name]) bad(`preload names unknown asset '${name}'`);
  for (const name of doc.game.stream || []) if (!doc.assets[name]) bad(`stream names unknown asset '${name}'`);
  return doc;
}

async function fetchOk(url, what, init = {}) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new LoadError(`could not fetch ${what} from ${url}: ${e.message || e} (is the server running?)`);
  }
  if (response.status === 502) {
    // the server verifies every chunk before sending it; 502 means the stored bytes are corrupt
    const body = await response.text();
    throw new IntegrityError(`${what} failed its integrity check at the server (HTTP 502: ${body.slice(0, 200)}); `
      + "the store is corrupt: re-publish the game");
  }
  if (!response.ok) throw new LoadError(`could not fetch ${what} from ${url}: HTTP ${response.status}`);
  return response;
}

function concat(parts, size) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Chunks by id: Cache Storage first, else the network; every byte verified before it is returned. */
class Chunks {
  /**
   * @param {string} base the store's URL
   * @param {Cache | null} cache Cache Storage, where the browser offers it
   * @param {Progress} progress
   * @param {LoadStats} stats
   * @param {string} game
   */
  constructor(base, cache, progress, stats, game) {
    this.base = base;
    this.cache = cache;
    this.progress = progress;
    this.stats = stats;
    this.game = game;
    /** @type {Map<string, Promise<Uint8Array>>} */
    this.inflight = new Map();
  }

  url(id) { return `${this.base}/chunks/${id}`; }

  async cached(id) {
    if (!this.cache) return null;
    const hit = await this.cache.match(this.url(id));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  }

  async keep(id, bytes) {
    if (this.cache) await this.cache.put(this.url(id), new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
  }

  async verify(id, bytes, what) {
    const got = await sha256(bytes);
    if (got !== id) {
      throw new IntegrityError(`${what}: chunk ${id} failed its integrity check (the bytes received hash to ${got}); `
        + "it was not used. The store or a cache between it and this browser is corrupt: re-publish the game or clear the cache");
    }
  }

  /** The chunk's verified bytes (ref: {id, size}); `what` names it in errors. */
  get(ref, what) {
    if (!this.inflight.has(ref.id)) {
      const p = this.load(ref, what);
      this.inflight.set(ref.id, p);
      p.catch(() => this.inflight.delete(ref.id));
    }
    return this.inflight.get(ref.id);
  }

  async load(ref, what) {
    const hit = await this.cached(ref.id);
    if (hit && hit.length === ref.size && await sha256(hit) === ref.id) { // a cache can rot too
      this.stats.chunksCached++;
      this.progress.add(ref.size, 1);
      return hit;
    }
    if (hit && this.cache) await this.cache.delete(this.url(ref.id));
    const response = await fetchOk(this.url(ref.id), `${what} (chunk ${ref.id.slice(0, 12)})`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.stats.chunksFetched++;
    this.stats.bytesFetched += Number(response.headers.get("content-length") || bytes.length);
    await this.verify(ref.id, bytes, what);
    this.progress.add(bytes.length, 1);
    await this.keep(ref.id, bytes);
    return bytes;
  }

  /** A whole file (module or asset) from its manifest entry, chunks fetched in parallel. */
  async file(entry, what) {
    const parts = await Promise.all(entry.chunks.map((c) => this.get(c, what)));
    return concat(parts, entry.size);
  }

  /** A whole file, verified as a whole too (its one chunk's check covers it where it has one). */
  async verifiedFile(entry, what) {
    const bytes = await this.file(entry, what);
    if (entry.chunks.length > 1) await this.verify(entry.sha256, bytes, what);
    return bytes;
  }

  /** Compile a one-chunk module while it streams; the Module is returned only once the bytes that
   *  made it hash to the chunk id (and are cached). */
  async compileStreaming(ref, what) {
    const response = await fetchOk(this.url(ref.id), `${what} (chunk ${ref.id.slice(0, 12)})`);
    this.stats.chunksFetched++;
    this.stats.bytesFetched += Number(response.headers.get("content-length") || ref.size);
    const [forCompile, forHash] = response.body.tee();
    const compiling = WebAssembly.compileStreaming(new Response(forCompile, { headers: { "content-type": "application/wasm" } }));
    compiling.catch(() => {}); // reported below, after the integrity check
    const bytes = new Uint8Array(await new Response(this.progress.count(forHash)).arrayBuffer());
    await this.verify(ref.id, bytes, what);
    this.progress.add(0, 1);
    await this.keep(ref.id, bytes);
    return { module: await compiling, bytes };
  }
}

/** A source for `game` from the store served at `base` (default: this page's origin). */
/**
 * @param {string} game
 * @param {{channel?: string | null, version?: string | null, base?: string, delta?: string,
 *          onProgress?: (p: {bytes: number, total: number, items: number, itemsTotal: number}) => void}} [options]
 */
export async function storeSource(game, { channel = null, version = null, base = location.origin, delta = "auto", onProgress } = {}) {
  const stats = new LoadStats();
  const progress = new Progress(onProgress);
  const cache = globalThis.caches ? await caches.open(CACHE).catch(() => null) : null;
  const g = encodeURIComponent(game);
  const url = version ? `${base}/manifests/${g}/${encodeURIComponent(version)}.json`
    : `${base}/games/${g}/manifest?channel=${encodeURIComponent(channel || "latest")}`;
  // no-cache: always revalidate with the server (If-None-Match -> 304), never trust a stale copy
  const response = await fetchOk(url, `${game}'s manifest`, { cache: version ? "default" : "no-cache" });
  const doc = checkManifest(await response.json(), `${game}'s manifest`);
  stats.manifestMs = performance.now() - stats.startedAt;
  const chunks = new Chunks(base, cache, progress, stats, game);
  const config = { ...doc.game, assets: Object.keys(doc.assets), manifest: doc };

  const preload = new Set(config.preload || []);
  const moduleEntry = doc.module;
  const code = config.component ? Object.values(doc.transpiled || {}) : [moduleEntry];
  progress.total = [...code, ...[...preload].map((a) => doc.assets[a])].reduce((n, e) => n + e.size, 0);
  progress.itemsTotal = [...code, ...[...preload].map((a) => doc.assets[a])].reduce((n, e) => n + e.chunks.length, 0);
  progress.report();

  const assetBytes = new Map();
  const readAsset = (name) => {
    if (!assetBytes.has(name)) {
      const e = doc.assets[name];
      if (!e) return Promise.reject(new LoadError(`${game} has no asset '${name}'`));
      assetBytes.set(name, chunks.file(e, `${game}'s asset '${name}'`).then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    }
    return assetBytes.get(name);
  };
  for (const name of preload) readAsset(name).catch(() => {}); // start now, in parallel with the module
  /** A streamed sound's verified chunks into `sink` (sound-stream.js) as each arrives. */
  const readStream = async (name, sink) => {
    const e = doc.assets[name];
    if (!e) throw new LoadError(`${game} has no asset '${name}'`);
    sink.begin(e.size);
    let at = 0;
    const offsets = e.chunks.map((c) => { const o = at; at += c.size; return o; });
    await Promise.all(e.chunks.map(async (c, i) => sink.part(offsets[i], await chunks.get(c, `${game}'s asset '${name}'`))));
    sink.finish();
  };

  // a server gives players symbols only when its operator allows it (`layerw serve --serve-symbols`)
  const debug = `${base}/debug/${g}/${encodeURIComponent(doc.game.version)}`;
  const readSymbols = () => loadSymbols(`${debug}/symbols.json`);
  // the replay twin a game worker's timeout is replayed on (replay.js; a component build's: of its core module that holds
  // the game's code): `layerw publish` stores it with the version, read (as chunks) on a timeout only; a version published
  // before that has one where the server makes it on request
  const replayTwinListed = !!doc.replay;
  const readReplayTwin = replayTwinListed ? () => storedReplayTwin(game, doc.replay, chunks)
    : () => loadReplayTwin(`${debug}/replay.wasm`, `${debug}/replay.json`);
  if (config.component) {
    return { config, module: null, component: transpiledComponent(game, doc.transpiled || {}, chunks), progress, stats, readAsset,
      readStream, readSymbols, readReplayTwin, replayTwinListed };
  }
  const deltas = delta === "never" ? [] : (doc.deltas || []).filter((d) => delta === "always"
    || localStorage.getItem("layerw-zstd-used") || moduleEntry.chunks.reduce((n, c) => n + c.stored_size, 0) - d.size > DECODER_BYTES);
  const module = loadModule(game, moduleEntry, deltas, chunks, cache, base, stats, progress);
  module.catch(() => {});
  return { config, module, progress, stats, readAsset, readStream, readSymbols, readReplayTwin, replayTwinListed };
}

/**
 * The replay twin and offset map the manifest lists (its `replay`), verified like the module.
 * @param {string} game
 * @param {{twin: any, map: any}} replay
 * @param {Chunks} chunks
 */
async function storedReplayTwin(game, replay, chunks) {
  const [twin, map] = await Promise.all([chunks.verifiedFile(replay.twin, `${game}'s replay twin`),
    chunks.verifiedFile(replay.map, `${game}'s replay map`)]);
  return { twin, map: new ReplayMap(JSON.parse(new TextDecoder().decode(map))) };
}

/** A component build's browser form (source.js `component`), or null when it was published
 *  without one. Every file is verified chunk by chunk and as a whole before it is used. */
function transpiledComponent(game, files, chunks) {
  const name = glueName(Object.keys(files));
  if (!name) return null;
  const file = async (n, what) => {
    const e = files[n];
    if (!e) throw new LoadError(`${game} has no transpiled file '${n}'; re-publish the component build`);
    return chunks.verifiedFile(e, what);
  };
  const glueFile = file(name, `${game}'s transpiled component`);
  glueFile.catch(() => {}); // reported when the game awaits it
  const glue = glueFile.then(importBytes);
  glue.catch(() => {}); // reported when the game awaits it
  return { glue, glueBytes: () => glueFile, coreModule: (n) => file(n, `${game}'s ${n}`) };
}

async function loadModule(game, entry, deltas, chunks, cache, base, stats, progress) {
  const what = `${game}'s module`;
  const t0 = performance.now();
  const remember = () => cache && cache.put(BASE_KEY(base, game), new Response(JSON.stringify(entry)));
  const compile = async (bytes) => {
    try {
      return await WebAssembly.compile(bytes);
    } catch (e) {
      throw new InvalidModule(`${game}: the module is not valid WebAssembly: ${e.message || e}`);
    }
  };
  const done = async (module, from, bytes) => {
    MODULE_BYTES.set(module, bytes);
    stats.moduleFrom = from;
    stats.moduleMs = performance.now() - t0;
    await remember();
    return module;
  };
  // 1. every chunk already cached: no request at all
  const cachedParts = await Promise.all(entry.chunks.map((c) => chunks.cached(c.id)));
  if (cachedParts.every((p, i) => p && p.length === entry.chunks[i].size)) {
    const bytes = concat(cachedParts, entry.size);
    await chunks.verify(entry.sha256, bytes, what); // a cache can rot too
    stats.chunksCached += entry.chunks.length;
    progress.add(entry.size, entry.chunks.length);
    return done(await compile(bytes), "cache", bytes);
  }
  // 2. a delta from the module this browser last ran
  const previous = cache ? await cache.match(BASE_KEY(base, game)) : null;
  if (previous) {
    const old = await previous.json().catch(() => null);
    const delta = old && deltas.find((d) => d.from_sha256 === old.sha256);
    if (delta) {
      const parts = await Promise.all(old.chunks.map((c) => chunks.cached(c.id)));
      if (parts.every((p, i) => p && p.length === old.chunks[i].size)) {
        const blob = await chunks.get({ id: delta.id, size: delta.size }, `${what} delta`);
        const bytes = await applyDelta(concat(parts, old.size), blob, entry.sha256, entry.size);
        localStorage.setItem("layerw-zstd-used", "1"); // the decoder now sits in the HTTP cache
        stats.deltaBytes = delta.size;
        stats.deltaSaved = entry.chunks.reduce((n, c) => n + c.stored_size, 0) - delta.size;
        // cut the new module into its manifest chunks, verify and cache each (the next visit hits them)
        let at = 0;
        for (const c of entry.chunks) {
          const part = bytes.subarray(at, at + c.size);
          at += c.size;
          await chunks.verify(c.id, part, what);
          await chunks.keep(c.id, part.slice());
        }
        progress.add(entry.size - delta.size, entry.chunks.length - 1);
        return done(await compile(bytes), "delta", bytes);
      }
    }
  }
  // 3. the network: streaming compilation when the module is one chunk
  if (entry.chunks.length === 1 && typeof WebAssembly.compileStreaming === "function") {
    let result;
    try {
      result = await chunks.compileStreaming(entry.chunks[0], what);
    } catch (e) {
      if (e instanceof LoadError) throw e;
      throw new InvalidModule(`${game}: the module is not valid WebAssembly: ${e.message || e}`);
    }
    return done(result.module, "network", result.bytes);
  }
  const bytes = await chunks.file(entry, what);
  await chunks.verify(entry.sha256, bytes, what);
  return done(await compile(bytes), "network", bytes);
}
