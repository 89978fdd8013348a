// AssetTable: the host side of `asset_request` — handles, readiness and ready events
// (mirrors layerw/runtime/assets.py).
//
// Handles are given out in request order (1, 2, ...), so they are the same on every host.
// Preloaded assets are fetched before the game starts and are ready the moment they are
// requested. Any other asset becomes ready through an ASSET_READY (or ASSET_FAILED) event stamped
// request tick + 1, exactly as the native host stamps it; the browser fetches it meanwhile and the
// loop holds that tick back until the fetch settles (`blocked`), so the simulation never depends on
// load timing.
//
// Streamed sounds ([assets] stream) get no event and never become readable by the game: their bytes
// flow into a SoundStream as they arrive, the mixer is given it at the tick after the request (the
// same tick as natively), and the game host holds that tick until its first frames are in.

import { EVENTS } from "./abi.js";
import { isSound } from "./audio.js";
import { AssetError, ProtocolError } from "./errors.js";
import { SoundStream } from "./sound-stream.js";

const IMAGE_SUFFIXES = [".png"];

export function isImage(name) {
  const lower = name.toLowerCase();
  return IMAGE_SUFFIXES.some((s) => lower.endsWith(s));
}

/** Decode image bytes exactly (no premultiplication, no colour management), like PIL's RGBA. */
export async function decodeImage(name, data) {
  try {
    return await createImageBitmap(new Blob([data], { type: "image/png" }),
      { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch (e) {
    throw new AssetError(`asset '${name}' is not a decodable image: ${e.message || e}`);
  }
}

class Asset {
  constructor(name) {
    this.name = name;
    this.data = null; // Uint8Array once loaded (maybe before its ready tick)
    this.image = null; // ImageBitmap for images
    this.ready = false;
    this.failed = false;
    /** @type {SoundStream | null} a streamed sound's bytes as they arrive */
    this.stream = null;
    /** @type {Promise<void> | null} */
    this.streaming = null;
  }
}

export class AssetTable {
  /** names: every asset the game may request; preload: names ready before the first tick;
   *  read(name) -> Promise<ArrayBuffer>; stream: the sounds played while they arrive, through
   *  readStream(name, sink) (none: read, handed over at once). */
  constructor(names, preload, read, stream = [], readStream = null) {
    this.names = new Set(names);
    this.preload = new Set(preload);
    this.read = read;
    this.stream = new Set(stream);
    this.readStream = readStream || (async (name, sink) => {
      const bytes = new Uint8Array(await read(name));
      sink.begin(bytes.length);
      sink.part(0, bytes);
      sink.finish();
    });
    /** @type {Array<{tick: number, handle: number, given: boolean}>} when the mixer gets each streamed sound */
    this.streams = [];
    /** @type {Map<string, {stream: SoundStream, streaming: Promise<void>}>} each streamed sound's bytes, fetched
     *  once: a restore (rollback, heal, rejoin) that requests it again goes on with what already arrived */
    this.flowing = new Map();
    this.assets = []; // handle = index + 1
    this.byName = new Map();
    this.loaded = new Map(); // preloaded name -> {data, image}
    this.pending = []; // {tick, handle, kind (null while its fetch is in flight)}
    this.newlyReady = []; // handles whose images the renderer has not seen
    /** @type {number[]} */
    this.readySounds = []; // handles of sounds the mixer has not been given
  }

  /** Fetch and decode every preload asset; `onItem(name, bytes)` reports each one. */
  /** @param {(name: string, bytes: number) => void} [onItem] */
  async preloadAll(onItem = () => {}) {
    await Promise.all([...this.preload].map(async (name) => {
      let buf;
      try {
        buf = await this.read(name);
      } catch (e) {
        throw new AssetError(`preloaded asset '${name}' could not be loaded: ${e.message || e}`);
      }
      const data = new Uint8Array(buf);
      const image = isImage(name) ? await decodeImage(name, data) : null;
      this.loaded.set(name, { data, image });
      onItem(name, data.byteLength);
    }));
  }

  get(handle) {
    return handle >= 1 && handle <= this.assets.length ? this.assets[handle - 1] : null;
  }

  /** Handle for `name` (same handle on repeat), or -1 for an unknown name. */
  request(name, tick) {
    if (this.byName.has(name)) return this.byName.get(name);
    if (!this.names.has(name)) return -1;
    const asset = new Asset(name);
    this.assets.push(asset);
    const handle = this.assets.length;
    this.byName.set(name, handle);
    if (this.preload.has(name)) {
      const got = this.loaded.get(name);
      if (!got) throw new AssetError(`preloaded asset '${name}' was requested before it loaded`);
      asset.data = got.data;
      asset.image = got.image;
      this.makeReady(handle);
    } else if (this.stream.has(name)) {
      this.startStream(asset);
      this.streams.push({ tick: tick + 1, handle, given: false });
    } else {
      const event = { tick: tick + 1, handle, kind: null };
      this.pending.push(event);
      this.load(asset).then((ok) => {
        event.kind = ok ? EVENTS.ASSET_READY : EVENTS.ASSET_FAILED;
      });
    }
    return handle;
  }

  /** Start a streamed sound's bytes flowing into its SoundStream, or go on with the one already
   *  flowing (its bytes are the asset's, whatever the game state: a restore keeps what arrived; one
   *  that failed is fetched again). */
  startStream(asset) {
    const flowing = this.flowing.get(asset.name);
    if (flowing && !flowing.stream.error) {
      asset.stream = flowing.stream;
      asset.streaming = flowing.streaming;
      return;
    }
    const stream = new SoundStream(asset.name);
    asset.stream = stream;
    asset.streaming = this.readStream(asset.name, stream).catch((e) => {
      stream.fail(e);
      console.warn(`streamed sound '${asset.name}' failed to load: ${e.message || e}`);
    });
    this.flowing.set(asset.name, { stream, streaming: asset.streaming });
  }

  async load(asset) {
    try {
      asset.data = new Uint8Array(await this.read(asset.name));
      if (isImage(asset.name)) asset.image = await decodeImage(asset.name, asset.data);
      return true;
    } catch (e) {
      asset.failed = true;
      console.warn(`asset '${asset.name}' failed to load: ${e.message || e}`);
      return false;
    }
  }

  makeReady(handle) {
    const asset = this.assets[handle - 1];
    asset.ready = true;
    if (asset.image) this.newlyReady.push(handle);
    if (isSound(asset.name)) this.readySounds.push(handle);
  }

  /**
   * Sound assets that became ready (or, streamed, due to the mixer) since the last call, as
   * [handle, name, bytes, stream], for the mixer.
   * @returns {Array<[number, string, Uint8Array | null, SoundStream | null]>}
   */
  takeReadySounds() {
    /** @type {Array<[number, string, Uint8Array | null, SoundStream | null]>} */
    const out = this.readySounds.map((h) => {
      const a = this.assets[h - 1];
      return [h, a.name, a.data, a.stream || null];
    });
    this.readySounds = [];
    return out;
  }

  /** True while an event due at `tick` still waits for its fetch: hold the tick back (streamed
   *  sounds due by then: dueStreams, which the game's Audio checks). */
  blocked(tick) {
    return this.pending.some((e) => e.tick <= tick && e.kind === null);
  }

  /** The streamed sounds due to the mixer by `tick` and not given yet (their SoundStreams). */
  dueStreams(tick) {
    return this.streams.filter((s) => !s.given && s.tick <= tick).map((s) => this.assets[s.handle - 1].stream);
  }

  /** Events for `tick` as [kind, player, a, b]: removed from the queue and applied. */
  due(tick) {
    for (const s of this.streams) {
      if (!s.given && s.tick <= tick) {
        s.given = true;
        this.readySounds.push(s.handle);
      }
    }
    const now = this.pending.filter((e) => e.tick <= tick);
    if (!now.length) return now;
    this.pending = this.pending.filter((e) => e.tick > tick);
    for (const e of now) if (e.kind === EVENTS.ASSET_READY) this.makeReady(e.handle);
    return now.map((e) => [e.kind, e.player || 0, e.handle, e.b || 0]);
  }

  // --- snapshot support (the same JSON as layerw/runtime/assets.py) ---------------------------

  state() {
    return {
      requested: this.assets.map((a) => a.name),
      ready: this.assets.map((a) => a.ready),
      pending: this.pending.map((e) => [e.tick, e.kind || 0, e.player || 0, e.handle, e.b || 0]),
      streams: this.streams.map((s) => [s.tick, s.handle, s.given ? 1 : 0]),
    };
  }

  /** Replace the table with a snapshot's: every requested asset is loaded (awaited) first, so the
   *  next tick finds the bytes the snapshot's host had. */
  async restore(state) {
    const { requested, ready, pending, streams = [] } = state || {};
    if (!Array.isArray(requested) || !Array.isArray(ready) || !Array.isArray(pending) || requested.length !== ready.length) {
      throw new ProtocolError("the snapshot's asset state is malformed");
    }
    const unknown = requested.filter((n) => !this.names.has(n));
    if (unknown.length) throw new ProtocolError(`the snapshot names assets this game does not have: ${unknown.join(", ")}`);
    if (!Array.isArray(streams) || streams.some((s) => !Array.isArray(s) || !this.stream.has(requested[s[1] - 1]))) {
      throw new ProtocolError("the snapshot's streamed sounds are malformed");
    }
    const assets = requested.map((name) => new Asset(name));
    await Promise.all(assets.map(async (asset) => {
      const got = this.loaded.get(asset.name);
      if (got) Object.assign(asset, { data: got.data, image: got.image });
      else if (this.stream.has(asset.name)) this.startStream(asset);
      else await this.load(asset);
    }));
    this.assets = assets;
    this.byName = new Map(requested.map((n, i) => [n, i + 1]));
    this.newlyReady = [];
    this.readySounds = [];
    ready.forEach((r, i) => { if (r) this.makeReady(i + 1); });
    this.pending = pending.map(([tick, kind, player, a, b]) => ({ tick, kind, player, handle: a, b }));
    this.streams = streams.map(([tick, handle, given]) => ({ tick, handle, given: Boolean(given) }));
    for (const s of this.streams) if (s.given) this.readySounds.push(s.handle);
  }

  /** Images that became ready since the last call, as [handle, ImageBitmap]. */
  takeNewTextures() {
    const out = this.newlyReady.map((h) => [h, this.assets[h - 1].image]);
    this.newlyReady = [];
    return out;
  }
}
