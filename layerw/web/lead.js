// Lead: how many ticks a predicting browser runs ahead of the room's confirmed frames (time sync);
// the browser's copy of layerw/session/lead.py (read its docstring for the why).
//
// The lead follows the measured round trip (PING/PONG, protocol.js): it rises at once when the
// round trip grows and falls by at most one tick a second when it shrinks; while frames are late it
// grows by one tick per tick period that passes without one, up to the window. Times are seconds.

export const MARGIN = 1; // ticks of lead beyond the measured need (an input sent mid-tick)
export const RTT_SAMPLES = 8; // round trips remembered: the lead follows the largest but one
export const LATE_SLACK = 0.5; // tick periods a frame may be late before the client predicts past it

export class Lead {
  /** The lead in ticks for a room ticking at `tickRate`; `fixed` (a number) pins it (tests, benches). */
  constructor(tickRate, inputDelay, window, fixed = null) {
    this.period = 1 / tickRate;
    this.inputDelay = inputDelay;
    this.window = window;
    this.fixed = fixed;
    /** @type {number[]} */
    this.rtts = [];
    this.current = fixed !== null ? fixed : 0;
    this.loweredAt = 0; // when the lead last came down (one tick a second at most)
    this.lastFrame = 0; // when the last confirmed frame arrived
  }

  /** A measured round trip to the server. */
  roundTrip(seconds, now) {
    if (this.fixed !== null) return;
    this.rtts.push(seconds);
    if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
    const need = Math.min(this.window, Math.max(0, Math.ceil(this.rtt / this.period) + MARGIN - this.inputDelay));
    if (need >= this.current) {
      this.current = need;
    } else if (now - this.loweredAt >= 1) {
      this.current -= 1;
      this.loweredAt = now;
    }
  }

  /** The round trip the lead plans for, in seconds: the largest recent one but one once there are four. */
  get rtt() {
    const ordered = [...this.rtts].sort((a, b) => a - b);
    if (ordered.length >= 4) return ordered[ordered.length - 2];
    return ordered.length ? ordered[ordered.length - 1] : 0;
  }

  /** A confirmed frame arrived. */
  frame(now) { this.lastFrame = now; }

  /** Whole tick periods the next frame is overdue (after LATE_SLACK). */
  late(now) { return Math.max(0, Math.floor((now - this.lastFrame) / this.period - LATE_SLACK)); }

  /** Ticks to be ahead of the confirmed tick now. */
  target(now) { return Math.min(this.window, Math.trunc(this.current) + this.late(now)); }
}
