// PlayerKey: the browser's player identity for online saves, as the native client's (layerw/play/
// online_saves.py): 32 random bytes made on first play and kept in IndexedDB (database
// "layerw-player"), never sent except as the proof `Authorization: Bearer <64 hex>` that the save
// server turns into the player (its SHA-256; save_routes.py). Whoever holds the key is the player:
// `PlayerKey.store(hex)` puts a key copied from another device or browser here (same saves there).

import { SaveError } from "./errors.js";

export const KEY_BYTES = 32;
const DB_NAME = "layerw-player";
const STORE = "keys";
const ID = "player";
const HEX = /^[0-9a-f]{64}$/;

/** @param {IDBRequest} request @returns {Promise<any>} */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Run `change` on the key store in one transaction and wait until it is committed. */
function commit(db, change) {
  const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
  change(tx.objectStore(STORE));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onabort = tx.onerror = () => reject(tx.error || new Error("transaction aborted"));
  });
}

async function database() {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return done(opening);
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export class PlayerKey {
  /** @param {string} hex 64 lowercase hex digits */
  constructor(hex) {
    if (!HEX.test(hex)) throw new SaveError(`a player key is ${KEY_BYTES} bytes as 64 lowercase hex digits`);
    this.hex = hex;
  }

  /** The header that proves the player to a save server. */
  get header() {
    return `Bearer ${this.hex}`;
  }

  /** This browser's key, made (and kept) on first use. Two pages making one at once agree: the
   *  first stored wins (`add` never replaces), the other reads it back. */
  static async loadOrCreate() {
    const db = await database();
    try {
      const kept = await done(db.transaction(STORE, "readonly").objectStore(STORE).get(ID));
      if (kept !== undefined) return new PlayerKey(String(kept));
      const made = toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
      try {
        await commit(db, (store) => store.add(made, ID));
        return new PlayerKey(made);
      } catch (e) {
        if (!(e && e.name === "ConstraintError")) throw e;
        return new PlayerKey(String(await done(db.transaction(STORE, "readonly").objectStore(STORE).get(ID))));
      }
    } finally {
      db.close();
    }
  }

  /** Keep `hex` as this browser's key (a key carried over from another device), replacing any. */
  static async store(hex) {
    const key = new PlayerKey(hex);
    const db = await database();
    try {
      await commit(db, (store) => store.put(key.hex, ID));
    } finally {
      db.close();
    }
    return key;
  }
}
