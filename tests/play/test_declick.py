"""Declicker: an underrun's silence ramps down from the last frame played, and the sound after it
ramps up from its first non-silent frame; frames between edges pass unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from layerw.play.declick import Declicker


def pcm(frames: np.ndarray) -> bytes:
    return frames.astype("<i2").tobytes()


def back(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").reshape(-1, 2).astype(np.int64)


def test_full_reads_pass_unchanged() -> None:
    d = Declicker(ramp=4)
    block = np.array([[1000, -1000]] * 6)
    assert back(d.fill(pcm(block), 6)).tolist() == block.tolist()


def test_an_underrun_ramps_down_then_the_sound_after_it_ramps_up() -> None:
    d = Declicker(ramp=4)
    out = back(d.fill(pcm(np.array([[800, -800]] * 2)), 8))  # 2 frames in, 6 missing
    assert out[:2].tolist() == [[800, -800]] * 2
    assert out[2:6, 0].tolist() == [600, 400, 200, 0] and out[2:6, 1].tolist() == [-600, -400, -200, 0]
    assert not out[6:].any()
    resumed = np.concatenate([np.zeros((3, 2)), np.full((3, 2), 400)])  # the silence put ahead of a write, then sound
    out = back(d.fill(pcm(resumed), 6))
    assert not out[:3].any() and out[3:, 0].tolist() == [0, 100, 200]  # up from the first loud frame...
    out = back(d.fill(pcm(np.full((3, 2), 400)), 3))
    assert out[:, 0].tolist() == [300, 400, 400]  # ...across reads, then unchanged


def test_an_empty_read_ramps_down_from_the_last_frame_of_the_previous_one() -> None:
    d = Declicker(ramp=2)
    d.fill(pcm(np.array([[-3000, 3000]])), 1)
    out = back(d.fill(b"", 3))
    assert out.tolist() == [[-1500, 1500], [0, 0], [0, 0]]


def test_a_ramp_of_no_frames_is_refused() -> None:
    with pytest.raises(ValueError, match="ramp"):
        Declicker(ramp=0)
