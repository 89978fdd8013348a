// Rollback: the browser's game run ahead of the room's confirmed frames, repaired when a guess was
// wrong; the browser's copy of layerw/session/rollback.py (one design, two languages).
//
// The page simulates ticks the room has not confirmed yet (at most `window` of them): remote players
// repeat their last confirmed input, the local player's own input applies at the tick it was sent
// for. Before each predicted tick it keeps the state (a snapshot) and the inputs it guessed. When
// the room's frame for the oldest predicted tick arrives, equal inputs and no events cost nothing;
// otherwise the game restores that tick's snapshot, applies the frame and resimulates to the present.
//
// What leaves the page is always of confirmed ticks: confirmedHash and confirmedSnapshot read the
// snapshot (and the hash) kept before the first unconfirmed tick. Resimulated ticks are never heard: the sound they
// mix is dropped (Audio.rolledBack) and what was mixed before the rollback, not yet played, is kept;
// a sound the rollback took back (started in a predicted tick, not again) fades out over 5 ms.

import { STRUCTS } from "./abi.js";
import { ProtocolError, SessionError } from "./errors.js";
import { InputState } from "./input.js";
import { MAX_AHEAD, NO_SEAT } from "./wire.js";

export const DEFAULT_WINDOW = 8; // predicted ticks at most (GGPO's default, 133 ms at 60 Hz)
export const MAX_WINDOW = 60; // a larger window would resimulate a second of game on one misprediction

const PLAYER_SIZE = STRUCTS.lw_player.size;
const CONNECTED = /** @type {number} */ (STRUCTS.lw_player.fields.connected[0]);
const OWN_KEPT = 8 * MAX_AHEAD; // own inputs the room has not shown yet, at most
const PLAYERS_AT = /** @type {number} */ (STRUCTS.lw_input.fields.players[0]);
const PLAYERS_END = PLAYERS_AT + /** @type {number} */ (STRUCTS.lw_input.fields.players[2]) * PLAYER_SIZE;

/**
 * One predicted tick: the state before it, the players' inputs guessed for it, and the state's hash
 * when `tick` is a hash tick (the game's own stateHash, started then: it copies the state at once).
 * `lent` once confirmedSnapshot handed `before` out: its memory is then never reused.
 * @typedef {{tick: number, before: import("./snapshot.js").Snapshot, players: Uint8Array,
 *            stateHash: Promise<string> | null, lent: boolean}} Predicted
 */

/** Until `game`'s next tick has what it waits for (a fetch, a streamed sound's frames: GameHost.blocked),
 *  so a tick simulated again, or a peek at what the voices play next, mixes the frames the native host
 *  would, never memory they have not reached yet.
 *  @param {{blocked(): boolean}} game */
export async function ready(game) {
  while (game.blocked()) await new Promise((r) => setTimeout(r, 4));
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Rollback {
  /** Prediction and rollback over one game host; `held` is the room's input record (an InputState)
   *  as of the first unconfirmed tick (confirmed frames update it), `seat` the local player. */
  constructor(game, held, { seat = NO_SEAT, window = DEFAULT_WINDOW, hashEvery = 0 } = {}) {
    if (!(Number.isInteger(window) && window >= 0 && window <= MAX_WINDOW)) {
      throw new SessionError(`a prediction window is 0..${MAX_WINDOW} ticks, not ${window}`);
    }
    this.game = game;
    this.held = held;
    this.seat = seat;
    this.window = window;
    this.hashEvery = hashEvery;
    /** @type {Predicted[]} one per tick in [confirmed, present), oldest first */
    this.ring = [];
    /** @type {Array<[number, Uint8Array]>} own inputs sent (target tick, lw_player), not yet confirmed */
    this.own = [];
    /** @type {Uint8Array<ArrayBuffer>[]} memory of snapshots no longer kept, reused by the next ones (at most window + 1) */
    this.spare = [];
    this.scratch = new InputState(1);
    this.confirmed = game.tickCount; // the first tick whose frame has not arrived
    this.predicted = 0; // ticks simulated ahead of the room, in all
    this.rollbacks = 0; // mispredictions repaired
    this.resimulated = 0; // ticks simulated again by those repairs
    this.resimulatingMs = 0; // wall time of those repairs (restore + resimulation), in all
  }

  /** The tick the game (and the screen) is at. */
  get present() { return this.game.tickCount; }

  get ahead() { return this.present - this.confirmed; }

  /** The game was given a confirmed state (a join or a heal): nothing is predicted any more. */
  reset() {
    this.recycle(this.ring);
    this.ring = [];
    this.confirmed = this.game.tickCount;
  }

  /** The local player's devices changed; the room was asked to apply `player` at `target`. */
  local(target, player) {
    if (this.seat !== NO_SEAT) this.own.push([target, player.slice()]);
  }

  // --- ahead of the room ------------------------------------------------------------------------

  /** Simulate the next tick ahead of the room; false when the window is full. */
  predict() {
    if (this.ahead >= this.window) return false;
    this.simulateAhead();
    this.predicted++;
    return true;
  }

  simulateAhead() {
    const tick = this.present;
    const players = this.guess(tick);
    const due = this.hashEvery && tick % this.hashEvery === 0;
    const stateHash = due ? this.game.stateHash() : null;
    if (stateHash) stateHash.catch(() => {}); // a failure is reported by confirmedHash, if it is ever asked
    this.ring.push({ tick, before: this.game.snapshot(this.spare.pop() || null), players, stateHash, lent: false });
    this.scratch.bytes.set(this.held.bytes);
    this.scratch.bytes.set(players, PLAYERS_AT);
    this.game.tick(this.scratch);
  }

  /** Every player's input for `tick`: the held ones, the local player's as last sent for it. */
  guess(tick) {
    const players = this.held.bytes.slice(PLAYERS_AT, PLAYERS_END);
    let mine = null;
    for (const [target, player] of this.own) if (target <= tick) mine = player;
    if (mine) players.set(mine, this.seat * PLAYER_SIZE);
    return players;
  }

  // --- the room's word --------------------------------------------------------------------------

  /** The room's frame for the first unconfirmed tick: tick with it (not ahead), accept the guess
   *  (it was right), or roll back to that tick and resimulate to the present.
   *  @param {import("./protocol.js").Frame} frame */
  async confirm(frame) {
    if (frame.tick !== this.confirmed) {
      throw new ProtocolError(`frame for tick ${frame.tick} arrived when tick ${this.confirmed} was due`);
    }
    this.forgetOwn(frame);
    for (const [seat, player] of frame.changes) this.held.bytes.set(player, this.held.player(seat));
    if (!this.ring.length) {
      if (frame.tick !== this.game.tickCount) throw new ProtocolError(`frame for tick ${frame.tick} arrived at tick ${this.game.tickCount}`);
      this.game.tick(this.held, frame.events);
      this.confirmed++;
      return;
    }
    const guess = /** @type {Predicted} */ (this.ring.shift());
    this.confirmed++;
    if (!frame.events.length && same(this.held.bytes.subarray(PLAYERS_AT, PLAYERS_END), guess.players)) {
      this.recycle([guess]);
      return;
    }
    const started = performance.now();
    const present = this.present;
    const heard = this.game.audio ? this.game.takeSamples() : null; // mixed before the rollback: still to be played
    const later = this.ring;
    this.ring = [];
    await this.game.restore(guess.before);
    this.recycle([guess, ...later]); // restored from: the resimulation takes their places
    if (this.game.blocked()) await ready(this.game); // a repaired tick may need a streamed sound's frames not in yet
    this.game.tick(this.held, frame.events);
    for (let i = 0; i < later.length; i++) {
      if (this.game.blocked()) await ready(this.game);
      this.simulateAhead();
    }
    if (this.present !== present) throw new ProtocolError(`resimulation reached tick ${this.present}, not ${present}`);
    if (this.game.blocked()) await ready(this.game); // rolledBack peeks at the next tick's mix
    if (heard) this.game.audio.rolledBack(heard); // resimulated ticks are never heard
    this.rollbacks++;
    this.resimulated += 1 + later.length;
    this.resimulatingMs += performance.now() - started;
  }

  /** Own inputs the room applied in `frame` (and older ones it overwrote) are held now. */
  forgetOwn(frame) {
    for (const [seat, player] of frame.changes) {
      if (seat === this.seat && this.own.some(([, sent]) => same(asApplied(sent), player))) {
        while (this.own.length && !same(asApplied(/** @type {[number, Uint8Array]} */ (this.own.shift())[1]), player)) { /* older */ }
      }
    }
    // nothing else is dropped: within a connection the room applies every input, in the order sent (a
    // late one at its own tick, when it runs far ahead of this client), so the frames show each in turn
    while (this.own.length > OWN_KEPT) this.own.shift(); // memory's bound only (one input a tick at most)
  }

  /** Keep the memory of snapshots no longer needed for the next ones (not those handed out).
   *  @param {Predicted[]} dropped */
  recycle(dropped) {
    for (const p of dropped) if (!p.lent && this.spare.length <= this.window) this.spare.push(/** @type {Uint8Array<ArrayBuffer>} */ (p.before.memory));
  }

  /** The state at the first unconfirmed tick (all frames before it confirmed); the caller may keep it. */
  confirmedSnapshot() {
    if (!this.ring.length) return this.game.snapshot();
    this.ring[0].lent = true;
    return this.ring[0].before;
  }

  /** The game's stateHash at the first unconfirmed tick, which must be a hash tick when the game is
   *  ahead (the hash kept when that tick was predicted).
   *  @returns {Promise<string>} */
  async confirmedHash() {
    if (!this.ring.length) return this.game.stateHash();
    const kept = this.ring[0].stateHash;
    if (!kept) throw new ProtocolError(`no hash kept for tick ${this.confirmed}: hashEvery is ${this.hashEvery}`);
    return kept;
  }
}

/** `player` as the room applies it: connected, whatever the client said (the room's `submit`).
 *  @param {Uint8Array} player */
function asApplied(player) {
  const applied = player.slice();
  new DataView(applied.buffer).setUint32(CONNECTED, 1, true);
  return applied;
}
