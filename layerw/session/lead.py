"""Lead: how many ticks a predicting client runs ahead of the room's confirmed frames (time sync).

A player's input for tick T must reach the room before the room steps T. The room is half a round
trip ahead of the frames a client sees, and the input takes another half to get there, so a client
needs to be ``RTT x tick rate - input delay`` ticks (plus a margin) ahead of its confirmed tick;
more only makes every misprediction longer to repair. The lead follows the measured round trip:
it rises at once when the round trip grows and falls by at most one tick a second when it
shrinks (GGPO slows down gently rather than stalling). While frames are late, it grows by one
tick per tick period that passes without one, so the screen keeps moving, up to the window.
"""

from __future__ import annotations

import math
from collections import deque

MARGIN = 1  # ticks of lead beyond the measured need (an input sent mid-tick)
RTT_SAMPLES = 8  # round trips remembered: the lead follows the largest but one (jitter makes the others
# optimistic; one retransmission is a spike the lead need not pay for RTT_SAMPLES pings on end)
LATE_SLACK = 0.5  # tick periods a frame may be late before the client predicts past it


class Lead:
    """The lead in ticks for a room ticking at ``tick_rate``; ``fixed`` pins it (tests, benches)."""

    def __init__(self, tick_rate: int, input_delay: int, window: int, fixed: int | None = None) -> None:
        self.period = 1.0 / tick_rate
        self.input_delay = input_delay
        self.window = window
        self.fixed = fixed
        self.rtts: deque[float] = deque(maxlen=RTT_SAMPLES)
        self.current = float(fixed if fixed is not None else 0)
        self.lowered_at = 0.0  # when the lead last came down (it comes down one tick a second at most)
        self.last_frame = 0.0  # when the last confirmed frame arrived

    def round_trip(self, seconds: float, now: float) -> None:
        """A measured round trip to the server."""
        if self.fixed is not None:
            return
        self.rtts.append(seconds)
        need = min(self.window, max(0, math.ceil(self.rtt / self.period) + MARGIN - self.input_delay))
        if need >= self.current:
            self.current = need
        elif now - self.lowered_at >= 1.0:
            self.current -= 1
            self.lowered_at = now

    @property
    def rtt(self) -> float:
        """The round trip the lead plans for, in seconds: the largest recent one but one once there
        are four (0 before the first)."""
        ordered = sorted(self.rtts)
        return ordered[-2] if len(ordered) >= 4 else max(ordered, default=0.0)

    def frame(self, now: float) -> None:
        """A confirmed frame arrived."""
        self.last_frame = now

    def late(self, now: float) -> int:
        """Whole tick periods the next frame is overdue (after ``LATE_SLACK``)."""
        return max(0, math.floor((now - self.last_frame) / self.period - LATE_SLACK))

    def target(self, now: float) -> int:
        """Ticks to be ahead of the confirmed tick now."""
        return min(self.window, int(self.current) + self.late(now))

    def next_change(self, now: float) -> float:
        """Seconds until ``target`` grows by itself (the next frame being one more period late)."""
        due = self.last_frame + (self.late(now) + 1 + LATE_SLACK) * self.period
        return max(0.0, due - now)
