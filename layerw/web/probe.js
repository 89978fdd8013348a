// Probes: what the page's public API (window.layerw, main.js) may read of a running game, answered
// in the same way wherever the game runs: on the page (main.js asks its Client) or in a game worker
// (game-worker.js asks its WorkerGame, and the answer crosses back by message). The values are
// structured-clonable (strings, numbers, arrays, Uint8Arrays), so both paths return the same thing.
//
//   stateHash, audioHash        the game's hashes (hex), as natively
//   readPixels                  the renderer's last frame (RGBA bytes, rows top first)
//   lastInput                   the last tick's packed input (bytes) or null (a cart has none)
//   tick                        the game's tick
//   kind                        the GameHost backend: "Game" (core module), "ComponentGame", "CartGame"
//   traces                      a WASM-4 cart's trace lines (tracef/trace), [] for a Layer-W game
//   memory {offset, length}     {size, bytes}: the guest's linear memory size and a slice of it
//   snapshotInfo                {tick, pages, sha256} of a snapshot taken now (the memory's SHA-256)
//   reported                    in a room: the [tick, hash] pairs this page reported (session.js), else []
//   saved                       once every slot the game committed is in IndexedDB (and sent, with online
//                               saves): the names of its slots ([] without saves)
//   slot {name}                 {version, data} of one save slot as stored, or null

import { sha256 } from "./delta.js";
import { LayerWError } from "./errors.js";

export const PROBES = ["stateHash", "audioHash", "readPixels", "lastInput", "tick", "kind", "traces", "memory",
  "snapshotInfo", "reported", "saved", "slot"];

/**
 * Answer one probe of a running game.
 * @param {{game: any, renderer: any, loop: any, online?: any}} parts  the loop is a Loop, a Session (a room) or
 *   null; online the game's OnlineSaves (online-saves.js) or null
 * @param {string} what  one of PROBES
 * @param {any} [args]  memory's {offset, length}
 * @returns {Promise<any>}
 */
export async function probe({ game, renderer, loop, online = null }, what, args) {
  if (!game) throw new LayerWError("the game has not started");
  if (what === "stateHash") return game.stateHash();
  if (what === "audioHash") return game.audioHash();
  if (what === "readPixels") return renderer.readPixels();
  if (what === "lastInput") return game.lastInput ? game.lastInput.slice() : null;
  if (what === "tick") return game.tickCount;
  if (what === "kind") return game.constructor.name;
  if (what === "traces") return game.traces ? Array.from(game.traces) : [];
  if (what === "memory") {
    const buffer = game.memory ? game.memory.buffer : new ArrayBuffer(0);
    const { offset = 0, length = 0 } = args || {};
    return { size: buffer.byteLength, bytes: new Uint8Array(buffer, offset, length).slice() };
  }
  if (what === "snapshotInfo") {
    const snap = game.snapshot();
    return { tick: snap.tick, pages: snap.pages, sha256: await sha256(snap.memory) };
  }
  if (what === "reported") return loop && loop.reported ? loop.reported.map(([t, h]) => [t, h]) : [];
  if (what === "saved") {
    if (online) await online.flush(); // its store's too
    else if (game.saves) await game.saves.flush();
    return game.saves ? Array.from(game.saves.slots.keys()) : [];
  }
  if (what === "slot") {
    const slot = game.saves ? game.saves.slots.get(args && args.name) : null;
    return slot ? { version: slot.version, data: slot.data.slice() } : null;
  }
  throw new LayerWError(`no probe '${what}': one of ${PROBES.join(", ")}`);
}
