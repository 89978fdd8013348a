"""Declicker: the edges of an underrun on a speaker, without clicks.

When the device's callback finds the ring short, the frames missing would be silence straight after
whatever the last frame played was: a step, heard as a click. Here the missing frames ramp from the
last frame played down to zero over ``ramp`` frames instead, and once the game's samples come back
the first non-silent frames after the gap ramp up from zero over as many. Only what the device
plays at an underrun's edges changes: the game's mix (and its audio hash) is the game's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from layerw import abi

FRAME_BYTES = 2 * abi.CHANNELS
RAMP_FRAMES = abi.SAMPLE_RATE // 200  # 5 ms, as a rollback's cross-fade


class Declicker:
    """Called on the device's thread only, a read at a time; holds the last frame played and where a
    ramp up after a gap stands."""

    def __init__(self, ramp: int = RAMP_FRAMES) -> None:
        if ramp < 1:
            raise ValueError(f"a declick ramp is at least one frame, not {ramp}")
        self.ramp = ramp
        self.last = np.zeros(abi.CHANNELS, dtype=np.int32)  # the last frame the device was given
        self.rising: int | None = None  # after a gap: None until sound resumes, then frames into the ramp up
        self.gapped = False  # an underrun happened and no sound has come back since

    def fill(self, data: bytes, frames: int) -> bytes:
        """``frames`` frames for the device: ``data`` (what the ring held, maybe fewer, s16 LE), eased in
        after a gap, then the missing ones ramping down from the last frame played."""
        got = len(data) // FRAME_BYTES
        out = np.zeros((frames, abi.CHANNELS), dtype=np.int32)
        if got:
            out[:got] = np.frombuffer(data, dtype="<i2").reshape(got, abi.CHANNELS)
            if self.gapped or self.rising is not None:
                self._rise(out[:got])
        if got < frames:
            start = out[got - 1].copy() if got else self.last
            n = min(frames - got, self.ramp)
            steps = np.arange(n, dtype=np.int32)[:, None]
            out[got:got + n] = (start[None, :] * (self.ramp - 1 - steps)) // self.ramp
            self.gapped, self.rising = True, None
        self.last = out[frames - 1].copy() if frames else self.last
        return out.astype("<i2").tobytes()

    def _rise(self, block: npt.NDArray[np.int32]) -> None:
        """Ramp ``block`` (in place) up from zero: from its first non-silent frame after a gap, or on
        from where the previous read's ramp stopped."""
        start = 0
        if self.rising is None:
            loud = np.flatnonzero(block.any(axis=1))
            if not len(loud):
                return  # still the silence put ahead of the next write
            start, self.rising, self.gapped = int(loud[0]), 0, False
        n = min(len(block) - start, self.ramp - self.rising)
        gain = np.arange(self.rising, self.rising + n, dtype=np.int32)[:, None]
        block[start:start + n] = (block[start:start + n] * gain) // self.ramp
        self.rising += n
        if self.rising >= self.ramp:
            self.rising = None
