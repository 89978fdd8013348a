"""SampleRing: interleaved s16 frames from the game's thread to the audio device's callback, bounded,
and the measured time each write waits in it.

A write lands ``target`` frames behind the device (or as far as the capacity leaves room for it)
when the ring starts or has run dry (the gap is silence), so the device's periods and the game's
ticks meet with a known margin instead of whatever the start's phase left; beyond ``capacity`` the
oldest frames are dropped (counted). Each write is stamped, and the read that takes its first frame
records how long it waited (``waits``): the measured part of the output latency, from a tick's
samples being produced to the device taking them.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from layerw import abi

FRAME_BYTES = 2 * abi.CHANNELS
WAITS_KEPT = 256  # the most recent writes' waits, for the latency reported


class SampleRing:
    """At most ``capacity`` frames; the lock is held only to move bytes and stamps, never while either
    side does anything else."""

    def __init__(self, capacity: int, *, target: int = 0) -> None:
        if not 0 <= target <= capacity:
            raise ValueError(f"a ring's target fill is 0..{capacity} frames, not {target}")
        self.capacity = capacity
        self.target = target  # frames ahead of a write when the ring starts or has run dry
        self._chunks: deque[tuple[bytes, bool]] = deque()  # (frames, whether they are the silence put ahead of a write)
        self._frames = 0
        self._head = 0  # the index (frames since the start) of the first frame held
        self._marks: deque[tuple[int, int]] = deque()  # each write: (index of its first frame, perf_counter_ns)
        self._lock = threading.Lock()
        self.dry = True  # nothing written yet, or a read found too few frames: the next write lands at the target
        self.dropped = 0  # frames the game wrote that the device never played (the ring was full; silence not counted)
        self.primed = 0  # frames of silence put ahead of writes to reach the target
        self.waits: deque[int] = deque(maxlen=WAITS_KEPT)  # ns from a write to the read of its first frame

    def write(self, samples: bytes, now_ns: int | None = None) -> None:
        stamp = time.perf_counter_ns() if now_ns is None else now_ns
        with self._lock:
            gap = min(self.target, self.capacity - len(samples) // FRAME_BYTES) - self._frames
            if self.dry and gap > 0:
                self._chunks.append((bytes(gap * FRAME_BYTES), True))
                self._frames += gap
                self.primed += gap
            self.dry = False
            self._marks.append((self._head + self._frames, stamp))
            self._chunks.append((samples, False))
            self._frames += len(samples) // FRAME_BYTES
            while self._frames > self.capacity:
                over = (self._frames - self.capacity) * FRAME_BYTES
                head, silence = self._chunks[0]
                if len(head) <= over:
                    self._chunks.popleft()
                    cut = len(head)
                else:
                    self._chunks[0] = (head[over:], silence)
                    cut = over
                self._frames -= cut // FRAME_BYTES
                self._head += cut // FRAME_BYTES
                if not silence:
                    self.dropped += cut // FRAME_BYTES
            while self._marks and self._marks[0][0] < self._head:  # its first frame was dropped: never heard
                self._marks.popleft()

    def read(self, frames: int, now_ns: int | None = None) -> bytes:
        """Up to ``frames`` frames (fewer when the ring holds fewer: it is dry then)."""
        stamp = time.perf_counter_ns() if now_ns is None else now_ns
        want, parts = frames * FRAME_BYTES, []
        with self._lock:
            while want and self._chunks:
                head, silence = self._chunks.popleft()
                if len(head) > want:
                    self._chunks.appendleft((head[want:], silence))
                    head = head[:want]
                parts.append(head)
                want -= len(head)
                self._frames -= len(head) // FRAME_BYTES
                self._head += len(head) // FRAME_BYTES
            if want:
                self.dry = True
            while self._marks and self._marks[0][0] < self._head:
                self.waits.append(stamp - self._marks.popleft()[1])
        return b"".join(parts)

    def recent_waits(self) -> list[int]:
        """``waits`` (ns) copied under the lock: the device's thread appends to it while the game's reads."""
        with self._lock:
            return list(self.waits)

    @property
    def frames(self) -> int:
        return self._frames
