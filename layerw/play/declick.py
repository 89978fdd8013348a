"""Declicker: the edges of an underrun on a speaker, without clicks.

When the device's callback finds the ring short, the frames missing would be silence straight after
whatever the last frame played was: a step, heard as a click. Here the missing frames ramp from the
last frame played down to zero over ``ramp`` frames instead, and once the game's samples come back
the first non-silent frames after the gap ramp up from zero over as many. Only what the device
plays at an underrun's edges changes: the game's mix (and its audio hash) is the game's.

The ramps are C (``lw_declick_fill`` in ``lwspeaker.c``): the device's callback runs them without
the GIL. This class owns a declicker's state; ``fill`` runs the same code from Python.
"""

from __future__ import annotations

import ctypes

from layerw import abi
from layerw.play.speaker_layout import FRAME_BYTES, Declick
from layerw.play.speaker_library import P_I16, speaker_library

RAMP_FRAMES = abi.SAMPLE_RATE // 200  # 5 ms, as a rollback's cross-fade


class Declicker:
    """Used by one thread at a time (a speaker's device thread), a read at a time; holds the last
    frame played and where a ramp up after a gap stands."""

    def __init__(self, ramp: int = RAMP_FRAMES) -> None:
        if ramp < 1:
            raise ValueError(f"a declick ramp is at least one frame, not {ramp}")
        self._lib = speaker_library()
        self.state = Declick(ramp=ramp, rising=-1, gapped=0)
        self.pointer = ctypes.pointer(self.state)

    def fill(self, data: bytes, frames: int) -> bytes:
        """``frames`` frames for the device: ``data`` (what the ring held, maybe fewer, s16 LE), eased in
        after a gap, then the missing ones ramping down from the last frame played."""
        got = min(frames, len(data) // FRAME_BYTES)
        block = (ctypes.c_int16 * (frames * FRAME_BYTES // 2))()
        ctypes.memmove(block, data, got * FRAME_BYTES)
        self._lib.declick_fill(self.pointer, ctypes.cast(block, P_I16), got, frames)
        return bytes(block)
