// SaveStore: one game's save slots in the browser, kept in IndexedDB (mirrors layerw/saves.py and
// layerw/runtime/saveslots.py: same names, limits and LW_SAVE_* codes). The game's calls are
// synchronous and IndexedDB is not, so `open` loads every slot of the game into memory first and a
// write goes through to IndexedDB in one transaction per write (a slot record is replaced whole:
// old bytes or new, never a mix). A write IndexedDB refuses (quota exceeded, storage disabled)
// puts the slot back to its last stored bytes, tells the page (`onError`) at once, and the game's
// next save_write answers LW_SAVE_STORAGE. With online saves (online-saves.js) each slot the game
// commits is kept marked `unsent` until the server has it (`markSent`), and `onCommit` hears it.

import { SAVE_NAME_MAX, SAVE_RESULTS, SAVE_SLOT_BYTES, SAVE_TOTAL_BYTES } from "./abi.js";

const DB_NAME = "layerw-saves";
const STORE = "slots";
const NAME = new RegExp(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,${SAVE_NAME_MAX - 1}}$`);
const R = SAVE_RESULTS;

/** @typedef {{version: number, data: Uint8Array, unsent?: boolean}} Slot  unsent: not yet on the save server */

/**
 * @param {IDBRequest | IDBTransaction} request
 * @returns {Promise<any>}
 */
function done(request) {
  return new Promise((resolve, reject) => {
    if (request instanceof IDBTransaction) {
      request.oncomplete = () => resolve(undefined);
      request.onabort = request.onerror = () => reject(request.error || new Error("transaction aborted"));
    } else {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }
  });
}

/** A slot name as the native host accepts it (bytes of [A-Za-z0-9_.-]), or null. */
export function slotName(bytes) {
  if (!(bytes.length > 0 && bytes.length <= SAVE_NAME_MAX)) return null;
  const name = String.fromCharCode(...bytes);
  return NAME.test(name) ? name : null;
}

export class SaveStore {
  /**
   * Open `game`'s slots (all loaded into memory).
   * @param {string} game
   * @param {{slotBytes?: number, totalBytes?: number, onError?: (message: string) => void, log?: (level: string, text: string) => void}} [options]
   */
  static async open(game, { slotBytes = SAVE_SLOT_BYTES, totalBytes = SAVE_TOTAL_BYTES, onError, log } = {}) {
    const opening = indexedDB.open(DB_NAME, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    const db = await done(opening);
    const tx = db.transaction(STORE, "readonly");
    const range = IDBKeyRange.bound(`${game}/`, `${game}/\uffff`);
    const [keys, values] = await Promise.all([done(tx.objectStore(STORE).getAllKeys(range)), done(tx.objectStore(STORE).getAll(range))]);
    const slots = new Map();
    keys.forEach((key, i) => {
      const v = values[i];
      const name = String(key).slice(game.length + 1);
      slots.set(name, v && Number.isInteger(v.version) && v.data instanceof Uint8Array
        ? { version: v.version, data: v.data, unsent: v.unsent === true } : null);
    });
    return new SaveStore(game, db, slots, { slotBytes, totalBytes, onError, log });
  }

  constructor(game, db, slots, { slotBytes, totalBytes, onError, log }) {
    this.game = game;
    this.db = db;
    /** @type {Map<string, Slot | null>} stored slots; null: a record that is not a slot (corrupt) */
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.totalBytes = totalBytes;
    this.onError = onError || (() => {});
    this.log = log || ((level, text) => console.warn(text));
    /** @type {{code: number, text: string} | null} a failed write the game has not been told of yet */
    this.failed = null;
    /** @type {((name: string, slot: Slot) => void) | null} hears each slot the game committed */
    this.onCommit = null;
    /** the game's writes are marked unsent until `markSent` (on while online saves run) */
    this.tracksSent = false;
    this.reported = new Set();
    /** @type {Promise<void>} the latest write on its way to IndexedDB (they commit in order) */
    this.pending = Promise.resolve();
  }

  report(name, kind, text) {
    const key = `${name}/${kind}`;
    if (this.reported.has(key) || this.reported.size >= 64) return;
    this.reported.add(key);
    this.log("warn", `[${this.game}] save slot '${name}': ${kind}: ${text}`);
  }

  /** The slot named by `bytes`, or its LW_SAVE_* code. */
  slot(bytes) {
    const name = slotName(bytes);
    if (name === null) return R.BAD_ARGUMENT;
    if (!this.slots.has(name)) return R.EMPTY;
    const slot = this.slots.get(name);
    if (!slot) {
      this.report(name, "SaveCorrupt", "the stored record is not a save slot");
      return R.CORRUPT;
    }
    return slot;
  }

  size(bytes) {
    const s = this.slot(bytes);
    return typeof s === "number" ? s : s.data.length;
  }

  version(bytes) {
    const s = this.slot(bytes);
    return typeof s === "number" ? s : s.version;
  }

  /**
   * Replace a slot: LW_SAVE_OK, or the error code (the slot keeps its old bytes then).
   * @param {Uint8Array} bytes the name
   * @param {Uint8Array} data copied
   * @param {number} version
   */
  write(bytes, data, version) {
    const name = slotName(bytes);
    if (name === null || !(version >= 0 && version <= 0x7FFFFFFF)) return R.BAD_ARGUMENT;
    if (this.failed !== null) {
      const { code } = this.failed;
      this.failed = null;
      return code;
    }
    if (data.length > this.slotBytes) {
      this.report(name, "SaveTooBig", `${data.length} bytes, over [saves] slot_bytes = ${this.slotBytes}`);
      return R.TOO_BIG;
    }
    let used = 0;
    for (const [other, s] of this.slots) if (other !== name && s) used += s.data.length;
    if (used + data.length > this.totalBytes) {
      this.report(name, "SaveTooBig", `over [saves] total_bytes = ${this.totalBytes}`);
      return R.FULL;
    }
    const old = this.slots.has(name) ? this.slots.get(name) : undefined;
    const slot = { version, data: data.slice(), unsent: this.tracksSent };
    this.slots.set(name, slot);
    this.pending = this.put(name, slot, old);
    return R.OK;
  }

  async put(name, slot, old) {
    try {
      const tx = this.db.transaction(STORE, "readwrite", { durability: "strict" });
      tx.objectStore(STORE).put(slot, `${this.game}/${name}`);
      await done(tx);
      if (this.onCommit && this.slots.get(name) === slot) this.onCommit(name, slot);
    } catch (e) {
      if (this.slots.get(name) === slot) { // no later write replaced it: back to what is stored
        if (old === undefined) this.slots.delete(name); else this.slots.set(name, old);
      }
      const text = `${this.game} could not save '${name}': ${(e && e.name) || "Error"}: ${(e && e.message) || e}`;
      this.report(name, "SaveError", text);
      this.refuse(R.STORAGE, text);
    }
  }

  /** A save failed after the game's write returned: the page hears `text` now, the game's next
   *  save_write answers `code` (an LW_SAVE_* error). */
  refuse(code, text) {
    this.failed = { code, text };
    this.onError(text);
  }

  /** Store `slot` (from the save server) as `name` and wait until IndexedDB has it. */
  async adopt(name, slot) {
    await this.pending;
    const tx = this.db.transaction(STORE, "readwrite", { durability: "strict" });
    tx.objectStore(STORE).put(slot, `${this.game}/${name}`);
    await done(tx);
    this.slots.set(name, slot);
  }

  /** The server has `slot`: unless the game wrote `name` again since, clear its unsent mark. */
  async markSent(name, slot) {
    if (this.slots.get(name) !== slot || !slot.unsent) return;
    const sent = { version: slot.version, data: slot.data, unsent: false };
    this.slots.set(name, sent);
    const tx = this.db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(sent, `${this.game}/${name}`);
    await done(tx);
  }

  /** Every write so far has reached IndexedDB (or failed). */
  async flush() {
    await this.pending;
  }

  close() {
    this.db.close();
  }
}
