// Session: this browser in a multiplayer room (the browser's layerw/session/client.py + replica.py).
//
// The room's server runs the game authoritatively and broadcasts one FRAME per tick. The browser
// loads the room's STATE (a snapshot, or a block delta against a snapshot it took itself, plus the
// frames since), fast-forwards through those frames, then confirms each FRAME as it arrives. A
// player runs ahead of those frames by up to `window` ticks (rollback.js; 0: on confirmed frames
// only), as far as its measured round trip needs (lead.js, from PING/PONG every PING_EVERY_S), so
// its own input shows on the next tick; a wrong guess is repaired by restoring and resimulating.
// A spectator ticks on confirmed frames only. It sends its local player's lw_player only when it
// changes (for the present tick + input_delay), a HASH of a confirmed tick every hash_every ticks,
// and renders the present on requestAnimationFrame. A STATE arriving later (after a desync) replaces
// the game state: that heals it.
//
// A dropped connection (after the first WELCOME) is retried with backoff (RETRY_DELAYS_MS): the
// HELLO carries this seat's token and the tick of the newest snapshot this browser took, so within
// the room's grace period it gets the same seat and only the snapshot blocks that changed (a
// delta STATE), fast-forwards, and carries on. Close codes that say retrying cannot help
// (NO_RETRY) fail at once, like running out of retries. A rejoin starts from the server the page
// came from, which sends it on to the room's owner (CLOSE_ELSEWHERE); when that owner cannot be
// reached (its process died), the page asks its server again at once naming it (`?gone=OWNER`):
// the server waits for that owner's lease to lapse and resumes the room from its checkpoint (as
// layerw/session/client.py does).

import { STRUCTS } from "./abi.js";
import { LayerWError, ProtocolError, SessionError } from "./errors.js";
import { InputState } from "./input.js";
import { Lead } from "./lead.js";
import * as p from "./protocol.js";
import { DEFAULT_WINDOW, Rollback, ready } from "./rollback.js";
import { applyDelta, parseSnapshot } from "./snapshot.js";
import {
  CLOSE_ELSEWHERE, DELTA, KEPT_SNAPSHOTS, MAX_REDIRECTS, NO_BASE, NO_RETRY, NO_SEAT, PING_EVERY_S, PLAYER, PONG,
  RETRY_DELAYS_MS, SPECTATOR, STATE, TOKEN_SIZE, WELCOME,
} from "./wire.js";

const PLAYER_SIZE = STRUCTS.lw_player.size;
const CONNECTED = /** @type {number} */ (STRUCTS.lw_player.fields.connected[0]);
const REPORTED = 64; // hash reports a session remembers (replica.py's REPORTED)

export const SessionState = Object.freeze({
  CONNECTING: "connecting", PLAYING: "running", RECONNECTING: "reconnecting", STOPPED: "stopped", CLOSED: "closed",
  FAILED: "failed",
});
const NEXT = {
  connecting: ["running", "stopped", "closed", "failed"], running: ["reconnecting", "stopped", "closed", "failed"],
  reconnecting: ["running", "stopped", "closed", "failed"], stopped: ["closed"], closed: [], failed: [],
};

/** The room's WebSocket URL for the page at `location` (or a server base URL). */
export function roomSocketUrl(base, game, room) {
  const u = new URL(base);
  const scheme = u.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${u.host}/rooms/${encodeURIComponent(game)}/${encodeURIComponent(room)}`;
}

/**
 * @typedef {{attempt: number, of: number, delayMs: number, code: number, reason: string}} Reconnecting
 * @typedef {{game: any, renderer: any, devices?: any, base: string, room: string, spectate?: boolean,
 *            stopAt?: number | null, window?: number, lead?: number | null, onStop?: () => void, onError?: (e: Error) => void,
 *            onReconnecting?: (r: Reconnecting) => void, onReconnected?: () => void,
 *            onBase?: ((snap: import("./snapshot.js").Snapshot) => void) | null, baseEvery?: number}} SessionOptions
 */

export class Session {
  /** game (a started Game), renderer, devices (or null), base (server URL), room id; options:
   *  spectate, stopAt (stop applying frames at this tick), window (ticks a player may predict, 0:
   *  none), lead (a fixed lead in ticks instead of the measured one), onStop(), onError(error),
   *  onReconnecting({attempt, of, delayMs, code, reason}) before each retry, onReconnected(), onBase(snapshot)
   *  (a confirmed state: the room's as loaded, then one every `baseEvery` confirmed ticks; a game worker posts
   *  them to the page, which replays a timed-out call from the latest on the ticks since: a rollback never
   *  goes back past a confirmed tick, so those ticks, as last entered, lead to the call; replay.js).
   *  @param {SessionOptions} options */
  constructor({ game, renderer, devices = null, base, room, spectate = false, stopAt = null, window = DEFAULT_WINDOW,
    lead = null, onStop = () => {},
    onError = (e) => { throw e; }, onReconnecting = () => {}, onReconnected = () => {}, onBase = null, baseEvery = 0 }) {
    this.game = game;
    this.renderer = renderer;
    this.devices = devices;
    this.base = base;
    this.room = room;
    this.spectate = spectate;
    this.stopAt = stopAt;
    this.window = window;
    this.fixedLead = lead;
    this.onStop = onStop;
    this.onError = onError;
    this.onReconnecting = onReconnecting;
    this.onReconnected = onReconnected;
    this.onBase = onBase;
    this.baseEvery = baseEvery;
    this.lastBase = -Infinity; // the tick of the last confirmed state onBase heard
    /** @type {string} one of SessionState */
    this.state = SessionState.CONNECTING;
    this.inputs = new InputState(1); // the room's held inputs (replaced by every STATE)
    this.local = new InputState(1); // this browser's devices, as players[0]
    this.lastSent = this.playerBytes().slice();
    this.saved = [];
    /** @type {Array<[number, string]>} the hashes this page reported (tick, hex): its recent confirmed hash chain */
    this.reported = [];
    this.queue = [];
    this.pumping = false;
    this.loading = false;
    this.retries = 0; // failed tries since the connection dropped
    this.retryTimer = null;
    this.stats = {
      seat: NO_SEAT, bytesReceived: 0, framesApplied: 0, inputsSent: 0, hashesSent: 0, states: 0, heals: 0,
      reconnects: 0, deltaStates: 0, lastStateKind: null, lastStateBytes: 0,
      firstHeal: null, // {tick, renderChangesState} of the first heal (diagnose)
      // prediction: ticks simulated ahead, mispredictions repaired, ticks resimulated (and their wall
      // time), predicted ticks checked for / missing this player's latest input, the round trip, the lead
      window: 0, predicted: 0, rollbacks: 0, resimulated: 0, resimulatingMs: 0, ownChecked: 0, ownMissed: 0, rttMs: 0,
      lead: 0, confirmed: 0,
    };
    /** @type {Rollback} */
    this.rollback = new Rollback(game, this.inputs, { window: 0 });
    /** @type {Lead | null} */
    this.lead = null;
    this.pingTimer = null;
    this.seat = NO_SEAT;
    /** @type {Uint8Array} */
    this.token = new Uint8Array(TOKEN_SIZE);
    this.inputDelay = 0;
    this.hashEvery = 0;
    this.snapshotEvery = 0;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.url = "";
    /** @type {string | null} an owner a rejoin found unreachable and named to the page's server */
    this.gone = null;
    /** @type {number | null} */
    this.request = null;
    /** @type {Promise<Session> | null} */
    this.joined = null;
    /** @type {(s: Session) => void} */
    this.onJoined = () => {};
    /** @type {(e: Error) => void} */
    this.onJoinFailed = () => {};
  }

  to(state) {
    if (!NEXT[this.state].includes(state)) throw new SessionError(`a ${this.state} session cannot become ${state}`);
    this.state = state;
  }

  get tick() { return this.game.tickCount; }

  /** Before the first heal replaces the state: say where to look, and whether this game's lw_render
   * changes its state (the room never renders; a page that draws does, so such a game desyncs).
   * The verdict is in stats.firstHeal and on the console; the state it leaves is replaced next. */
  async diagnose() {
    const tick = this.game.tickCount;
    const before = await this.game.stateHash();
    this.game.render();
    const renderChangesState = (await this.game.stateHash()) !== before;
    this.stats.firstHeal = { tick, renderChangesState };
    console.warn(`desync: the room's state replaces this page's at tick ${tick} (the server's log names the first `
      + `differing tick); ${renderChangesState
        ? "lw_render changes the game state: render must only draw (`layerw run --dev` shows where)"
        : "lw_render left the state alone when tried: look at input handling and uninitialised memory"}`);
  }

  playerBytes() { return this.local.bytes.subarray(this.local.player(0), this.local.player(0) + PLAYER_SIZE); }

  /** Connect and join; resolves once the room's state is loaded (the game shows the room). */
  start() {
    this.joined = new Promise((resolve, reject) => { this.onJoined = resolve; this.onJoinFailed = reject; });
    this.connect(roomSocketUrl(this.base, this.game.name, this.room), 0);
    this.request = requestAnimationFrame(() => this.frame());
    return this.joined;
  }

  /**
   * @param {string} url the room's socket
   * @param {number} redirects followed so far
   * @param {string | null} [owner] the owner `url` is on, when a redirect named it
   */
  connect(url, redirects, owner = null) {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.url = url;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(p.hello(this.spectate ? SPECTATOR : PLAYER, this.token, this.baseTick()));
    };
    ws.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) return this.fail(new ProtocolError("the server sent a text frame"));
      this.stats.bytesReceived += e.data.byteLength;
      this.queue.push(new Uint8Array(e.data));
      this.pump();
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.state === SessionState.STOPPED || this.state === SessionState.CLOSED
          || this.state === SessionState.FAILED) return;
      if (e.code === CLOSE_ELSEWHERE && redirects < MAX_REDIRECTS && e.reason) {
        this.connect(roomSocketUrl(e.reason, this.game.name, this.room), redirects + 1, e.reason);
        return;
      }
      if (owner !== null && !opened && this.state === SessionState.RECONNECTING && this.gone !== owner) {
        this.gone = owner; // the owner is unreachable: its server waits for its lease, then takes the room
        this.connect(`${roomSocketUrl(this.base, this.game.name, this.room)}?gone=${encodeURIComponent(owner)}`, 0);
        return;
      }
      if (this.state !== SessionState.CONNECTING && !NO_RETRY.includes(e.code) && this.retries < RETRY_DELAYS_MS.length) {
        this.retry(e.code, e.reason);
        return;
      }
      const tried = this.retries ? ` and ${this.retries} tries to rejoin failed` : "";
      this.fail(new SessionError(`the server closed room ${this.room}: ${e.reason || "connection lost"} (code ${e.code})`
        + `${tried}; reload the page to rejoin`));
    };
  }

  /** The connection dropped: try again after the next backoff delay, rejoining with our token. */
  retry(code, reason) {
    if (this.state === SessionState.PLAYING) this.to(SessionState.RECONNECTING);
    this.ws = null;
    const delayMs = RETRY_DELAYS_MS[this.retries++];
    this.onReconnecting({ attempt: this.retries, of: RETRY_DELAYS_MS.length, delayMs, code, reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === SessionState.RECONNECTING) this.connect(roomSocketUrl(this.base, this.game.name, this.room), 0);
    }, delayMs);
  }

  baseTick() { return this.saved.length ? this.saved.at(-1).tick : NO_BASE; }

  send(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  /** Handle queued messages in order; a STATE (async restore) or a frame waiting for an asset holds
   *  the rest back. */
  async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      /** @type {string[]} */
      const live = [SessionState.CONNECTING, SessionState.PLAYING, SessionState.RECONNECTING];
      while (this.queue.length && live.includes(this.state)) {
        const msg = p.decodeServer(this.queue.shift());
        if (msg.type === WELCOME) {
          const welcome = /** @type {p.Welcome} */ (msg);
          this.seat = welcome.seat;
          this.token = welcome.token;
          this.inputDelay = welcome.inputDelay;
          this.hashEvery = welcome.hashEvery;
          this.snapshotEvery = welcome.snapshotEvery;
          this.stats.seat = welcome.seat;
          this.game.playAs(welcome.seat === NO_SEAT ? null : welcome.seat); // a cart's NETPLAY: its own player
          this.predictFrom(welcome);
          const joining = this.state === SessionState.CONNECTING;
          await this.load(welcome.state, !joining); // a rejoin: sound was playing, the room's fades in as after a heal
          if (this.seat !== NO_SEAT) this.heldOwn();
          if (joining && this.state === SessionState.STOPPED) {
            this.onJoined(this); // it reached stopAt in its own fast-forward: joined, and done
          } else if (this.state === SessionState.CONNECTING) {
            this.to(SessionState.PLAYING);
            this.onJoined(this);
          } else if (this.state === SessionState.RECONNECTING) {
            this.to(SessionState.PLAYING);
            this.retries = 0;
            this.gone = null;
            this.stats.reconnects++;
            this.lastSent = this.lastSent.map((b) => b ^ 0xFF); // resend our input: the last one may have been lost
            this.onReconnected();
          }
        } else if (msg.type === STATE) {
          if (!this.stats.firstHeal) await this.diagnose();
          this.stats.heals++;
          await this.load(/** @type {p.State} */ (msg), true);
        } else if (msg.type === PONG) {
          const now = performance.now();
          if (this.lead) this.lead.roundTrip((now - /** @type {p.Pong} */ (msg).sentMs) / 1000, now / 1000);
        } else {
          if (this.lead) this.lead.frame(performance.now() / 1000);
          await this.apply(/** @type {p.Frame} */ (msg));
        }
      }
      this.predict();
    } catch (e) {
      this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  /** A WELCOME: a player predicts up to its window (a new Rollback and Lead, PINGs to measure the
   *  round trip); a spectator follows confirmed frames.
   *  @param {p.Welcome} welcome */
  predictFrom(welcome) {
    const window = welcome.seat === NO_SEAT ? 0 : this.window;
    this.rollback = new Rollback(this.game, this.inputs, { seat: welcome.seat, window, hashEvery: welcome.hashEvery });
    this.stats.window = window;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.lead = null;
    if (!window) return;
    this.lead = new Lead(welcome.tickRate, welcome.inputDelay, window, this.fixedLead);
    this.lead.frame(performance.now() / 1000); // the WELCOME brought frames up to now: none is late yet
    const ping = () => this.send(p.pingMessage(performance.now()));
    ping();
    this.pingTimer = setInterval(ping, PING_EVERY_S * 1000);
  }

  /** After a WELCOME the room holds (or, for a new seat, is about to apply) its record of this seat,
   *  connected: that is the last input sent, and the prediction's guess until the next one. */
  heldOwn() {
    const at = this.inputs.player(this.seat);
    const held = this.inputs.bytes.slice(at, at + PLAYER_SIZE);
    new DataView(held.buffer).setUint32(CONNECTED, 1, true);
    this.rollback.local(this.tick, held);
    this.lastSent = held;
  }

  /** Simulate ahead of the confirmed frames as far as the lead allows now (not while a message is
   *  being handled: a rollback's restore is async). */
  predict() {
    this.predictAhead();
    this.count();
  }

  predictAhead() {
    const lead = this.lead;
    if (!lead || this.state !== SessionState.PLAYING || this.loading) return;
    const target = lead.target(performance.now() / 1000);
    const rollback = this.rollback;
    while (rollback.ahead < target && (this.stopAt === null || rollback.present < this.stopAt) && !this.game.blocked()) {
      if (!rollback.predict()) break;
      if (this.inputDelay) continue; // with a delay, own input applies that many ticks later by design
      const guessed = /** @type {import("./rollback.js").Predicted} */ (rollback.ring.at(-1)).players;
      const mine = guessed.subarray(this.seat * PLAYER_SIZE, (this.seat + 1) * PLAYER_SIZE);
      this.stats.ownChecked++;
      if (!mine.every((b, i) => b === this.lastSent[i])) this.stats.ownMissed++;
    }
  }

  /** Copy the prediction's counters into stats (window.layerw.session). */
  count() {
    const { rollback, lead, stats } = this;
    Object.assign(stats, {
      predicted: rollback.predicted, rollbacks: rollback.rollbacks, resimulated: rollback.resimulated,
      resimulatingMs: rollback.resimulatingMs, confirmed: rollback.confirmed,
    });
    if (lead) Object.assign(stats, { rttMs: lead.rtt * 1000, lead: lead.target(performance.now() / 1000) });
  }

  /** Replace the game state with the room's, then fast-forward through its frames (unheard). A heal
   *  (the room's state replaces this one after a desync) then predicts again, unheard, up to the tick
   *  the screen had reached, so no tick is heard twice, and the next samples fade in from what was
   *  playing (a 5 ms ramp, as after a rollback, not a click): as natively (Replica.heal). A rejoin's
   *  WELCOME loads the same way; a first join has nothing playing, and fades nothing.
   *  @param {p.State} state
   *  @param {boolean} [heal] */
  async load(state, heal = false) {
    const present = this.rollback.present;
    if (heal && this.game.blocked()) await ready(this.game); // the restore keeps what the voices play next: the frames of it must be in
    const heard = heal ? this.game.takeSamples() : null; // mixed before the heal: still to be played
    this.loading = true;
    try {
      let snap;
      if (state.kind === DELTA) {
        const base = this.saved.find((s) => s.tick === state.baseTick);
        if (!base) throw new ProtocolError(`delta against tick ${state.baseTick}, a snapshot this client does not hold`);
        snap = await applyDelta(base, state.snapshot);
      } else {
        snap = await parseSnapshot(state.snapshot);
      }
      if (snap.tick !== state.tick) throw new ProtocolError(`STATE says tick ${state.tick} but its snapshot is of tick ${snap.tick}`);
      await this.game.restore(snap);
      this.rollback.reset();
      this.inputs.bytes.set(state.inputs);
      this.saved = [snap];
      this.based(snap);
      this.stats.states++;
      if (state.kind === DELTA) this.stats.deltaStates++;
      this.stats.lastStateKind = state.kind === DELTA ? "delta" : "full";
      this.stats.lastStateBytes = state.snapshot.length;
    } finally {
      this.loading = false;
    }
    for (const frame of state.frames) await this.apply(frame);
    while (heal && this.rollback.present < present) { // heard before: each of these ticks is re-run, unheard
      if (this.game.blocked()) await ready(this.game);
      if (!this.rollback.predict()) break;
    }
    if (heard && this.game.blocked()) await ready(this.game); // the fade's choice peeks at the next tick's mix
    this.game.skipSamples(heard); // the fast-forward's sounds are past: the speaker starts at the room's present
  }

  /** Confirm a frame (tick with it, or check the guess made for it and repair a wrong one), after
   *  any asset it waits for; snapshot and hash the confirmed tick when due.
   *  @param {p.Frame} frame */
  async apply(frame) {
    const rollback = this.rollback;
    if (this.stopAt !== null && rollback.confirmed >= this.stopAt) return this.stop(SessionState.STOPPED);
    if (this.game.blocked()) await ready(this.game);
    const loading = this.loading;
    this.loading = true; // a rollback restores in a fresh instance: nothing draws meanwhile
    try {
      await rollback.confirm(frame);
    } finally {
      this.loading = loading;
    }
    this.stats.framesApplied++;
    const tick = rollback.confirmed;
    if (this.onBase && tick - this.lastBase >= this.baseEvery) this.based(rollback.confirmedSnapshot());
    if (this.snapshotEvery && tick % this.snapshotEvery === 0) {
      this.saved.push(rollback.confirmedSnapshot());
      if (this.saved.length > KEPT_SNAPSHOTS) this.saved.shift();
    }
    if (this.hashEvery && tick % this.hashEvery === 0) {
      const hex = await rollback.confirmedHash(); // the state is copied before the first await
      this.send(p.hashMessage(tick, Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16))));
      this.stats.hashesSent++;
      this.reported.push([tick, hex]);
      if (this.reported.length > REPORTED) this.reported.shift();
    }
    if (this.stopAt !== null && tick >= this.stopAt) this.stop(SessionState.STOPPED);
  }

  /** Hand onBase (where given) a confirmed state.
   *  @param {import("./snapshot.js").Snapshot} snap */
  based(snap) {
    if (!this.onBase) return;
    this.lastBase = snap.tick;
    this.onBase(snap);
  }

  /** Send this browser's player input when it changed since the last one sent. */
  sendInput() {
    if (this.seat === NO_SEAT || this.state !== SessionState.PLAYING) return;
    const now = this.playerBytes();
    if (now.every((b, i) => b === this.lastSent[i])) return;
    const target = this.game.tickCount + this.inputDelay; // the next tick simulated (maybe ahead), plus the delay
    this.send(p.inputMessage(target, now));
    this.rollback.local(target, now);
    this.lastSent = now.slice();
    this.stats.inputsSent++;
  }

  frame() {
    if (this.state === SessionState.FAILED || this.state === SessionState.CLOSED) return;
    try {
      if (this.devices) this.devices.poll(this.local);
      this.sendInput();
      if (!this.pumping) this.predict();
      if (!this.loading && this.state !== SessionState.CONNECTING) {
        for (const [handle, image] of this.game.takeNewTextures()) this.renderer.setTexture(handle, image);
        this.renderer.draw(this.game.render());
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (this.state !== SessionState.STOPPED) this.request = requestAnimationFrame(() => this.frame());
  }

  fail(error) {
    if (this.state === SessionState.FAILED || this.state === SessionState.CLOSED) return;
    const wasJoining = this.state === SessionState.CONNECTING;
    this.state = SessionState.FAILED;
    this.close(1000, "client failed");
    const e = error instanceof LayerWError ? error : new SessionError(`room ${this.room}: ${error.message || error}`);
    if (wasJoining) this.onJoinFailed(e);
    else this.onError(e);
  }

  close(code = 1000, reason = "bye") {
    if (this.request) cancelAnimationFrame(this.request);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  /** Stop applying frames (the state stays on screen) and leave the room.
   *  @param {string} [state] SessionState.CLOSED or SessionState.STOPPED */
  stop(state = SessionState.CLOSED) {
    if (this.state === state || this.state === SessionState.FAILED || this.state === SessionState.CLOSED) return;
    this.to(state);
    this.close();
    if (state === SessionState.STOPPED) {
      // draw the final state once more, then stop
      try { this.renderer.draw(this.game.render()); } catch (e) { /* reported by the next frame */ }
      this.onStop();
    }
  }
}
