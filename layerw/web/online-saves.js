// OnlineSaves: a page's save slots kept in step with the player's slots on the `layerw serve` that
// served it (save_routes.py: /saves/GAME and /saves/GAME/SLOT), so a player continues on another
// device or browser. The browser's twin of layerw/play/save_sync.py, with the same key scheme
// (player-key.js) and slot format (saves.py: a 48-byte header with the data's SHA-256).
//
// `pull` runs before the game starts: every slot the server holds replaces the one in IndexedDB,
// except a slot this browser committed and never got to the server (`unsent`), which is newer and
// is sent instead. Then every slot the game commits is sent as soon as IndexedDB has it, not when
// play ends: a page can be closed at any moment, and neither `beforeunload` nor `sendBeacon` can
// carry the key. Sends are coalesced per slot (the latest bytes only, one request in flight), so a
// game saving every tick stays within the server's rate limit. The server's refusals:
//   401/403  the key is refused: the page shows it, the game's next save_write answers LW_SAVE_STORAGE
//            (its saves live in this browser only), and nothing more is sent;
//   413      over the player's quota: the page shows it, the game's next save_write answers LW_SAVE_FULL;
//   429      sent too often: the page shows it and the slot is sent again after Retry-After (nothing lost);
//   5xx, no network: shown, retried a few times, then shown as not saved online (the slot stays
//            marked unsent, so the next play sends it).

import { SAVE_RESULTS } from "./abi.js";
import { sha256 } from "./delta.js";
import { SaveCorrupt, SaveError, SaveTooBig, SaveUnauthorized } from "./errors.js";

const MAGIC = [0x4c, 0x57, 0x53, 0x56]; // "LWSV"
const FORMAT = 1;
export const HEADER_BYTES = 48; // magic, format u32, version i32, length u32, sha256
const RETRIES = 5; // a send the server cannot take (5xx, no network) is tried this often
const RETRY_MS = 2000; // between those tries, and for a 429 without Retry-After

const hexBytes = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A slot as saves.py stores it: header, then data. */
export async function encodeSlot(slot) {
  const blob = new Uint8Array(HEADER_BYTES + slot.data.length);
  const view = new DataView(blob.buffer);
  blob.set(MAGIC, 0);
  view.setUint32(4, FORMAT, true);
  view.setInt32(8, slot.version, true);
  view.setUint32(12, slot.data.length, true);
  blob.set(hexBytes(await sha256(slot.data)), 16);
  blob.set(slot.data, HEADER_BYTES);
  return blob;
}

/** The slot `blob` holds; SaveCorrupt when its header, length or checksum is wrong. */
export async function decodeSlot(name, blob) {
  if (blob.length < HEADER_BYTES) throw new SaveCorrupt(`save slot '${name}' is truncated (${blob.length} bytes)`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const data = blob.slice(HEADER_BYTES);
  if (!MAGIC.every((b, i) => blob[i] === b) || view.getUint32(4, true) !== FORMAT) {
    throw new SaveCorrupt(`save slot '${name}' is not a Layer-W save of format ${FORMAT}`);
  }
  const version = view.getInt32(8, true);
  const digest = Array.from(blob.subarray(16, 48), (b) => b.toString(16).padStart(2, "0")).join("");
  if (view.getUint32(12, true) !== data.length || version < 0 || digest !== await sha256(data)) {
    throw new SaveCorrupt(`save slot '${name}' fails its length or checksum`);
  }
  return { version, data, unsent: false };
}

/** The server's refusal of one request, typed as online_saves.py types it. */
class Refused extends SaveError {
  constructor(status, message, retryMs) {
    super(message);
    this.status = status;
    this.retryMs = retryMs;
  }
}

export class OnlineSaves {
  /**
   * @param {import("./saves.js").SaveStore} store the game's slots in IndexedDB
   * @param {import("./player-key.js").PlayerKey} key
   * @param {{base?: string, onMessage?: (text: string) => void}} [options] base: the server (default: this page's)
   */
  constructor(store, key, { base = location.href, onMessage = () => {} } = {}) {
    this.store = store;
    this.key = key;
    this.url = (slot) => new URL(`/saves/${encodeURIComponent(store.game)}${slot === undefined ? "" : `/${slot}`}`, base).href;
    this.onMessage = onMessage;
    /** @type {Map<string, import("./saves.js").Slot>} the latest commit of each slot not sent yet */
    this.queued = new Map();
    /** @type {Promise<void>} the send loop while it runs */
    this.sending = Promise.resolve();
    this.running = false;
    /** @type {string | null} why the server stopped taking this player's saves (401/403) */
    this.refused = null;
    this.sent = 0; // slots the server took
    this.message = null; // the last message shown
    store.tracksSent = true;
    store.onCommit = (name, slot) => this.queue(name, slot);
  }

  tell(text) {
    this.message = text;
    this.onMessage(text);
  }

  async request(method, slot, body) {
    let response;
    try {
      response = await fetch(this.url(slot), { method, body, cache: "no-store", headers: { Authorization: this.key.header } });
    } catch (e) {
      throw new Refused(0, `the save server cannot be reached: ${(e && e.message) || e}`, RETRY_MS);
    }
    if (response.ok || (response.status === 404 && method === "GET")) return response;
    let reason;
    try {
      reason = (await response.json()).error;
    } catch {
      reason = `HTTP ${response.status}`;
    }
    const after = Number(response.headers.get("Retry-After"));
    throw new Refused(response.status, `the save server refused ${method} of '${slot || this.store.game}' (${response.status}): ${reason}`,
      after > 0 ? after * 1000 : RETRY_MS);
  }

  /** Bring the server's slots into IndexedDB (before the game starts); returns the names taken.
   *  Refusals are shown on the page and play goes on with the slots this browser has. */
  async pull() {
    const taken = [];
    try {
      const listing = await (await this.patiently(() => this.request("GET"))).json();
      for (const { slot: name } of listing) {
        const local = this.store.slots.get(name);
        if (local && local.unsent) continue; // committed here after the server's copy: sent below
        const response = await this.patiently(() => this.request("GET", name));
        if (response.status === 404) continue;
        let slot;
        try {
          slot = await decodeSlot(name, new Uint8Array(await response.arrayBuffer()));
        } catch (e) { // a torn or altered copy: this browser's stays, the other slots still come
          if (!(e instanceof SaveCorrupt)) throw e;
          this.tell(`${e.message}: the server's copy is not used`);
          continue;
        }
        if (local && local.version === slot.version && sameBytes(local.data, slot.data)) continue;
        await this.store.adopt(name, slot);
        taken.push(name);
      }
    } catch (e) {
      this.fail(e, null);
    }
    for (const [name, slot] of this.store.slots) if (slot && slot.unsent) this.queue(name, slot);
    return taken;
  }

  /** Retry `call` while the server answers 429 (a few times): the page says so meanwhile. */
  async patiently(call) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!(e instanceof Refused && e.status === 429) || attempt >= RETRIES) throw e;
        this.tell(`saves are sent too often: retrying in ${Math.ceil(e.retryMs / 1000)} s`);
        await sleep(e.retryMs);
      }
    }
  }

  /** Send `slot` as `name` (after what is being sent now); a later commit of `name` replaces it. */
  queue(name, slot) {
    if (this.refused !== null) return;
    this.queued.set(name, slot);
    if (!this.running) {
      this.running = true;
      this.sending = this.drain().finally(() => { this.running = false; });
    }
  }

  async drain() {
    while (this.queued.size && this.refused === null) {
      const [name, slot] = this.queued.entries().next().value;
      this.queued.delete(name);
      await this.send(name, slot);
    }
  }

  async send(name, slot) {
    const body = await encodeSlot(slot);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request("PUT", name, body);
        this.sent += 1;
        await this.store.markSent(name, slot);
        return;
      } catch (e) {
        if (this.queued.has(name)) return; // a newer commit of the slot goes instead
        if (!(e instanceof Refused) || ![0, 429, 500, 502, 503, 504].includes(e.status) || attempt >= RETRIES) {
          this.fail(e, name);
          return;
        }
        this.tell(e.status === 429 ? `saves are sent too often: '${name}' goes again in ${Math.ceil(e.retryMs / 1000)} s`
          : `${e.message}: '${name}' goes again in ${Math.ceil(e.retryMs / 1000)} s`);
        await sleep(e.retryMs);
      }
    }
  }

  /** A refusal nothing will fix by retrying: the page is told, and the game where the contract has a code for it;
   *  typed as online_saves.py's REFUSALS type it (401 and 403: SaveUnauthorized, 413: SaveTooBig). */
  fail(e, name) {
    const status = e instanceof Refused ? e.status : -1;
    const where = name === null ? "" : ` '${name}' is saved in this browser only.`;
    if (status === 401 || status === 403) {
      this.refused = e.message;
      this.queued.clear();
      const text = new SaveUnauthorized(`${e.message}.${where} Online saves are off for this page`).message;
      if (name === null) this.tell(text); else this.store.refuse(SAVE_RESULTS.STORAGE, text);
      this.message = text;
    } else if (status === 413) {
      const text = new SaveTooBig(`${e.message}.${where}`, { limit: "total" }).message;
      if (name === null) this.tell(text); else this.store.refuse(SAVE_RESULTS.FULL, text);
      this.message = text;
    } else {
      this.tell(`${(e && e.message) || e}.${where || " Playing with the saves of this browser."}`);
    }
  }

  /** Every commit so far has reached the server (or failed). */
  async flush() {
    await this.store.flush();
    while (this.running) await this.sending;
  }
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
