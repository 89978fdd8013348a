// Host: the imports a game instance gets — the `layerw` namespace (abi IMPORTS) and the WASI
// preview 1 subset libc needs (abi WASI_IMPORTS). Bit-exact with the native host
// (layerw/runtime/imports.py and wasi.py): same return codes, same bounds checks on the same
// signed i32 arguments, same virtual clock and the same SplitMix64 random stream. A component
// build gets the same functions lifted to the world's `host` interface (`componentImports`, as
// layerw/runtime/component_game.py offers them): strings and byte lists instead of pointers.
//
// Spec: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md

import { IMPORT_MODULE, IMPORTS, SAVE_NAME_MAX, SAVE_RESULTS, WASI_IMPORTS, WASI_MODULE, WIT_HOST, WIT_PACKAGE } from "./abi.js";
import { GameExited } from "./errors.js";

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_SPIPE = 70;
const FILETYPE_CHARACTER_DEVICE = 2;
const STDOUT = 1;
const STDERR = 2;
const MAX_NAME = 1024;
const MASK64 = (1n << 64n) - 1n;
const LEVELS = ["debug", "info", "warn", "error"];
const utf8 = new TextDecoder("utf-8"); // invalid bytes become U+FFFD, like Python's "replace"
const BAD_ARGUMENT = SAVE_RESULTS.BAD_ARGUMENT;
const encoder = new TextEncoder();

/** A tiny, fast, portable PRNG; the same stream as layerw.runtime.wasi.SplitMix64. */
export class SplitMix64 {
  constructor(seed) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }

  next() {
    this.state = (this.state + 0x9E3779B97F4A7C15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** Fill `out` (a Uint8Array) with little-endian 64-bit words, the last one truncated. */
  fill(out) {
    for (let at = 0; at < out.length; at += 8) {
      let w = this.next();
      for (let i = at; i < Math.min(at + 8, out.length); i++, w >>= 8n) out[i] = Number(w & 255n);
    }
  }
}

/**
 * The imports of one game instance. `memory()` returns the instance's memory (set once it is
 * instantiated), `tick()` the current tick, `clockNs()` game time as a BigInt, `log(level, text)`
 * writes a line already prefixed with the game's name, `saves` is the game's SaveStore (saves.js;
 * null in a room: every save call answers LW_SAVE_UNAVAILABLE).
 */
export class Host {
  /** @param {{game: string, assets: any, rng: any, tick: () => number, clockNs: () => bigint, memory: () => any,
   *   log: any, saves?: any, refused?: (func: string, reason: string) => void}} options */
  constructor({ game, assets, rng, tick, clockNs, memory, log, saves = null, refused = (_func, _reason) => {} }) {
    this.saves = saves;
    this.refused = refused; // (func, reason): a call the host refused, for the dev checks (devchecks.js)
    this.game = game;
    this.assets = assets;
    this.rng = rng;
    this.tick = tick;
    this.clockNs = clockNs;
    this.memory = memory;
    this.log = log;
    this.pending = { [STDOUT]: new Uint8Array(0), [STDERR]: new Uint8Array(0) };
  }

  bytes() { return new Uint8Array(this.memory().buffer); }
  view() { return new DataView(this.memory().buffer); }
  inBounds(ptr, n) { return ptr >= 0 && n >= 0 && ptr + n <= this.memory().buffer.byteLength; }

  /** The import object for WebAssembly.instantiate. */
  imports() {
    const layerw = {
      asset_request: (ptr, n) => this.assetRequest(ptr, n),
      asset_size: (handle) => this.assetSize(handle),
      asset_read: (handle, offset, dst, n) => this.assetRead(handle, offset, dst, n),
      image_size: (handle) => this.imageSize(handle),
      log: (level, ptr, n) => this.logMessage(level, ptr, n),
      save_write: (np, nl, dp, dl, version) => this.saveWrite(np, nl, dp, dl, version),
      save_read: (np, nl, dst, n) => this.saveRead(np, nl, dst, n),
      save_size: (np, nl) => this.saveCall(np, nl, (name) => this.saves.size(name)),
      save_version: (np, nl) => this.saveCall(np, nl, (name) => this.saves.version(name)),
    };
    const wasi = {
      fd_write: (fd, iovs, iovsLen, nwritten) => this.fdWrite(fd, iovs, iovsLen, nwritten),
      fd_close: (fd) => (fd === STDOUT || fd === STDERR ? ERRNO_SUCCESS : ERRNO_BADF),
      fd_seek: () => ERRNO_SPIPE,
      fd_fdstat_get: (fd, out) => this.fdFdstatGet(fd, out),
      fd_prestat_get: () => ERRNO_BADF,
      fd_prestat_dir_name: () => ERRNO_BADF,
      clock_time_get: (id, precision, out) => this.clockTimeGet(id, out),
      clock_res_get: (id, out) => this.clockResGet(id, out),
      random_get: (buf, n) => this.randomGet(buf, n),
      environ_get: () => ERRNO_SUCCESS,
      environ_sizes_get: (count, size) => this.sizesGet(count, size),
      args_get: () => ERRNO_SUCCESS,
      args_sizes_get: (count, size) => this.sizesGet(count, size),
      sched_yield: () => ERRNO_SUCCESS,
      proc_exit: (code) => {
        throw new GameExited(`${this.game} called proc_exit(${code})`, { game: this.game, code });
      },
    };
    console.assert(Object.keys(layerw).sort().join() === Object.keys(IMPORTS).sort().join());
    console.assert(Object.keys(wasi).sort().join() === [...WASI_IMPORTS].sort().join());
    return { [IMPORT_MODULE]: layerw, [WASI_MODULE]: wasi };
  }

  /** The import object of a jco-transpiled component: the `host` interface, keyed as jco keys it
   *  (package/interface without the version; functions in camelCase). */
  componentImports() {
    const host = {
      assetRequest: (name) => {
        const n = [...name].length; // code points, as the native host counts them
        return n > 0 && n <= MAX_NAME ? this.assets.request(name, this.tick()) : -1;
      },
      assetSize: (handle) => this.assetSize(handle),
      assetRead: (handle, offset, n) => { // option<list<u8>>: undefined is none
        const a = this.assets.get(handle);
        if (!a || !a.ready || !a.data || offset < 0 || n < 0) return undefined;
        return a.data.subarray(offset, offset + n);
      },
      imageSize: (handle) => this.imageSize(handle),
      log: (level, message) => this.log(LEVELS[Math.min(Math.max(level, 0), 3)], `[${this.game}] ${message.slice(0, 4096)}`),
      saveWrite: (name, data, version) => (this.saves ? this.saves.write(encoder.encode(name), data, version) : SAVE_RESULTS.UNAVAILABLE),
      saveRead: (name, n) => { // option<list<u8>>: none for an error (lw_component.c asks save-size for its code)
        const slot = this.saves ? this.saves.slot(encoder.encode(name)) : SAVE_RESULTS.UNAVAILABLE;
        return typeof slot === "number" || n < 0 ? undefined : slot.data.subarray(0, n);
      },
      saveSize: (name) => (this.saves ? this.saves.size(encoder.encode(name)) : SAVE_RESULTS.UNAVAILABLE),
      saveVersion: (name) => (this.saves ? this.saves.version(encoder.encode(name)) : SAVE_RESULTS.UNAVAILABLE),
    };
    const camel = (name) => name.replace(/_(.)/g, (_, c) => c.toUpperCase());
    console.assert(Object.keys(host).sort().join() === Object.keys(IMPORTS).map(camel).sort().join());
    return { [`${WIT_PACKAGE.split("@")[0]}/${WIT_HOST}`]: host };
  }

  // --- layerw -------------------------------------------------------------------------------

  assetRequest(ptr, n) {
    if (!(n > 0 && n <= MAX_NAME && this.inBounds(ptr, n))) {
      this.refused("asset_request", `a name of ${n} bytes at ${ptr} (1..${MAX_NAME}, inside memory)`);
      return -1;
    }
    const name = utf8.decode(this.bytes().subarray(ptr, ptr + n));
    const handle = this.assets.request(name, this.tick());
    if (handle < 0) this.refused("asset_request", `no asset named '${name}' in this game`);
    return handle;
  }

  assetSize(handle) {
    const a = this.assets.get(handle);
    return a && a.ready && a.data ? a.data.length : -1;
  }

  assetRead(handle, offset, dst, n) {
    const a = this.assets.get(handle);
    if (!a) this.refused("asset_read", `handle ${handle} is not an asset handle`);
    if (!a || !a.ready || !a.data || offset < 0 || !this.inBounds(dst, n)) return -1;
    const chunk = a.data.subarray(offset, offset + n);
    this.bytes().set(chunk, dst);
    return chunk.length;
  }

  imageSize(handle) {
    const a = this.assets.get(handle);
    if (!a || !a.ready || !a.image) return -1;
    return (a.image.width << 16) | a.image.height;
  }

  logMessage(level, ptr, n) {
    if (!(n >= 0 && n <= 4096 && this.inBounds(ptr, n))) return;
    const text = utf8.decode(this.bytes().subarray(ptr, ptr + n));
    this.log(LEVELS[Math.min(Math.max(level, 0), 3)], `[${this.game}] ${text}`);
  }

  // --- save slots: every bad pointer, length or name is LW_SAVE_BAD_ARGUMENT, never a trap -------

  saveName(ptr, n) {
    return n > 0 && n <= SAVE_NAME_MAX && this.inBounds(ptr, n) ? this.bytes().subarray(ptr, ptr + n) : null;
  }

  /** A save call taking only a name: `call(name bytes)`, or the code for a bad name or no saves. */
  saveCall(ptr, n, call) {
    const name = this.saveName(ptr, n);
    if (name === null) return BAD_ARGUMENT;
    return this.saves ? call(name) : SAVE_RESULTS.UNAVAILABLE;
  }

  saveWrite(namePtr, nameLen, dataPtr, dataLen, version) {
    const name = this.saveName(namePtr, nameLen);
    if (name === null || !this.inBounds(dataPtr, dataLen)) return BAD_ARGUMENT;
    if (!this.saves) return SAVE_RESULTS.UNAVAILABLE;
    return this.saves.write(name, this.bytes().subarray(dataPtr, dataPtr + dataLen), version);
  }

  saveRead(namePtr, nameLen, dst, n) {
    const name = this.saveName(namePtr, nameLen);
    if (name === null || !this.inBounds(dst, n)) return BAD_ARGUMENT;
    if (!this.saves) return SAVE_RESULTS.UNAVAILABLE;
    const slot = this.saves.slot(name);
    if (typeof slot === "number") return slot;
    const chunk = slot.data.subarray(0, n);
    this.bytes().set(chunk, dst);
    return chunk.length;
  }

  // --- WASI ---------------------------------------------------------------------------------

  fdWrite(fd, iovs, iovsLen, nwritten) {
    if (fd !== STDOUT && fd !== STDERR) return ERRNO_BADF;
    if (iovsLen < 0 || iovs + 8 * iovsLen > this.memory().buffer.byteLength) return ERRNO_INVAL;
    const view = this.view();
    const mem = this.bytes();
    const parts = [];
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = view.getUint32(iovs + 8 * i, true);
      const len = view.getUint32(iovs + 8 * i + 4, true);
      if (ptr + len > mem.length) return ERRNO_INVAL;
      parts.push(mem.slice(ptr, ptr + len));
      total += len;
    }
    view.setUint32(nwritten, total, true);
    this.emit(fd, parts, total);
    return ERRNO_SUCCESS;
  }

  /** Log whole lines, prefixed with the game's name; keep a partial line for later. */
  emit(fd, parts, total) {
    const prev = this.pending[fd];
    const all = new Uint8Array(prev.length + total);
    all.set(prev);
    let at = prev.length;
    for (const p of parts) { all.set(p, at); at += p.length; }
    let start = 0;
    for (let i = 0; i < all.length; i++) {
      if (all[i] !== 10) continue;
      this.log(fd === STDOUT ? "info" : "warn", `[${this.game}] ${utf8.decode(all.subarray(start, i))}`);
      start = i + 1;
    }
    const rest = all.subarray(start);
    this.pending[fd] = rest.slice(Math.max(0, rest.length - 4096));
  }

  fdFdstatGet(fd, out) {
    if (fd !== STDOUT && fd !== STDERR) return ERRNO_BADF;
    // Spec: fdstat = {u8 filetype; u16 flags; u64 rights_base; u64 rights_inheriting}, 24 bytes.
    const view = this.view();
    const bytes = this.bytes();
    bytes.fill(0, out, out + 24);
    view.setUint8(out, FILETYPE_CHARACTER_DEVICE);
    view.setBigUint64(out + 8, 1n << 6n, true);
    return ERRNO_SUCCESS;
  }

  clockTimeGet(id, out) {
    if (!(id >= 0 && id <= 3)) return ERRNO_INVAL;
    this.view().setBigUint64(out, this.clockNs(), true);
    return ERRNO_SUCCESS;
  }

  clockResGet(id, out) {
    if (!(id >= 0 && id <= 3)) return ERRNO_INVAL;
    this.view().setBigUint64(out, 1000n, true);
    return ERRNO_SUCCESS;
  }

  randomGet(buf, n) {
    if (n < 0 || buf < 0 || buf + n > this.memory().buffer.byteLength) return ERRNO_INVAL;
    this.rng.fill(this.bytes().subarray(buf, buf + n));
    return ERRNO_SUCCESS;
  }

  sizesGet(count, size) {
    const view = this.view();
    view.setUint32(count, 0, true);
    view.setUint32(size, 0, true);
    return ERRNO_SUCCESS;
  }
}
