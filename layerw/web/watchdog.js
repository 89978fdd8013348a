// Watchdog: the page's deadline over each call a game worker makes into its guest (game-worker.js
// posts "enter" before each call and "idle" when it is done). A call still running past the game's
// per-call deadline (layerw.toml [limits] tick_ms, as natively) expires: the page then terminates the
// worker (worker-client.js). A wasm loop cannot be interrupted from inside its own thread, so the
// deadline lives on the page, which the game cannot freeze.

/** The check period as a share of the deadline (a call is caught at most this much late, plus one period). */
const PERIODS_PER_DEADLINE = 4;
const MIN_PERIOD_MS = 5;

export class Watchdog {
  /**
   * @param {{deadlineMs: number, onExpired: (call: string, tick: number, ms: number) => void, now?: () => number}} options
   */
  constructor({ deadlineMs, onExpired, now = () => performance.now() }) {
    if (!(deadlineMs >= 1)) throw new RangeError(`a call's deadline must be at least 1 ms, not ${deadlineMs}`);
    this.deadlineMs = deadlineMs;
    this.onExpired = onExpired;
    this.now = now;
    /** @type {{call: string, tick: number, since: number, seq: number} | null} the call running now */
    this.busy = null;
    this.seq = 0;
    this.suspect = 0; // the call seen past its deadline once: it expires if it is still running at the next check
    this.timer = setInterval(() => this.check(), Math.max(MIN_PERIOD_MS, this.deadlineMs / PERIODS_PER_DEADLINE));
  }

  /**
   * The worker entered a call.
   * @param {string} call
   * @param {number} tick
   */
  enter(call, tick) {
    this.seq += 1;
    this.busy = { call, tick, since: this.now(), seq: this.seq };
  }

  /** The worker finished its calls. */
  idle() {
    this.busy = null;
  }

  /** Expire the running call if it is past its deadline at two checks in a row: after a stall of the
   *  page's own thread, a timer may run before the worker's queued "idle" is read. */
  check() {
    const busy = this.busy;
    if (!busy) return;
    const ms = this.now() - busy.since;
    if (ms <= this.deadlineMs) return;
    if (this.suspect !== busy.seq) {
      this.suspect = busy.seq;
      return;
    }
    this.close();
    this.onExpired(busy.call, busy.tick, ms);
  }

  close() {
    clearInterval(this.timer);
    this.busy = null;
  }
}
