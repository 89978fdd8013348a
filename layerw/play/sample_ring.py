"""SampleRing: interleaved s16 frames from the game's thread to the audio device's callback, bounded,
lock-free, and the measured time each write waits in it.

The ring itself is C (``lw_ring`` in ``lwspeaker.c``), so the device's callback reads it without the
GIL; this class owns its memory and is the game's side. A write lands ``target`` frames behind the
device (or as far as the capacity leaves room for it) when the ring starts or has run dry (the gap
is silence), so the device's periods and the game's ticks meet with a known margin instead of
whatever the start's phase left; beyond ``capacity`` the oldest frames are dropped (counted). Each
write is stamped, and the read that takes its first frame records how long it waited (``waits``):
the measured part of the output latency, from a tick's samples being produced to the device taking
them. One writer (the game's thread) and one reader (the device's callback, or ``read`` where no
device reads it, as in tests).
"""

from __future__ import annotations

import ctypes

from layerw.play.speaker_layout import FRAME_BYTES, Ring, latest
from layerw.play.speaker_library import P_I16, speaker_library

__all__ = ["FRAME_BYTES", "SampleRing"]


class SampleRing:
    """At most ``capacity`` frames; neither side ever waits for the other."""

    def __init__(self, capacity: int, *, target: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"a ring holds at least one frame, not {capacity}")
        if not 0 <= target <= capacity:
            raise ValueError(f"a ring's target fill is 0..{capacity} frames, not {target}")
        self._lib = speaker_library()
        self._slots = (ctypes.c_int16 * (capacity * FRAME_BYTES // 2))()
        self.state = Ring(slots=ctypes.cast(self._slots, P_I16), capacity=capacity, target=target, dry=1)
        self.pointer = ctypes.pointer(self.state)

    def write(self, samples: bytes, now_ns: int | None = None) -> None:
        """Queue ``samples`` (whole frames), stamped ``now_ns`` (the library's monotonic clock when None)."""
        self._lib.ring_write(self.pointer, samples, len(samples) // FRAME_BYTES, -1 if now_ns is None else now_ns)

    def read(self, frames: int, now_ns: int | None = None) -> bytes:
        """Up to ``frames`` frames (fewer when the ring holds fewer: it is dry then). The reader's side:
        only where no device reads this ring."""
        if frames < 0:
            raise ValueError(f"a read takes 0 frames or more, not {frames}")
        out = (ctypes.c_int16 * (frames * FRAME_BYTES // 2))()
        got = self._lib.ring_read(self.pointer, ctypes.cast(out, P_I16), frames, -1 if now_ns is None else now_ns)
        return bytes(out)[:int(got) * FRAME_BYTES]

    def recent_waits(self) -> list[int]:
        """The most recent writes' waits (ns), oldest first: a snapshot (the device's thread may add one meanwhile)."""
        return latest(self.state.waits, int(self.state.waits_total))

    @property
    def waits(self) -> list[int]:
        return self.recent_waits()

    @property
    def capacity(self) -> int:
        return int(self.state.capacity)

    @property
    def target(self) -> int:
        """Frames ahead of a write when the ring starts or ran dry (a speaker's underruns raise it)."""
        return int(self.state.target)

    @property
    def frames(self) -> int:
        """Frames held now (the reader may take some meanwhile)."""
        return max(0, int(self.state.write) - int(self.state.read))

    @property
    def dry(self) -> bool:
        return bool(self.state.dry)

    @property
    def dropped(self) -> int:
        """Frames the game wrote that the device never played (the ring was full; silence not counted)."""
        return int(self.state.dropped)

    @property
    def primed(self) -> int:
        """Frames of silence put ahead of writes to reach the target."""
        return int(self.state.primed)
