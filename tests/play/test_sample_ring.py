"""SampleRing: a write to a dry ring lands ``target`` frames behind (silence ahead of it), bounded
by the capacity, and each write's wait until a read takes its first frame is measured."""

from __future__ import annotations

import pytest

from layerw.play.sample_ring import FRAME_BYTES, SampleRing


def chunk(first: int, frames: int) -> bytes:
    return b"".join((first + i).to_bytes(FRAME_BYTES, "little") for i in range(frames))


def values(data: bytes) -> list[int]:
    return [int.from_bytes(data[i:i + FRAME_BYTES], "little") for i in range(0, len(data), FRAME_BYTES)]


def test_a_write_to_a_dry_ring_lands_at_the_target_and_its_wait_is_measured() -> None:
    ring = SampleRing(100, target=30)
    ring.write(chunk(1, 20), now_ns=1_000)
    assert ring.frames == 50 and ring.primed == 30 and not ring.dry
    assert values(ring.read(30, now_ns=2_000)) == [0] * 30  # the silence ahead of it
    assert ring.recent_waits() == []  # its first frame is not taken yet
    ring.write(chunk(21, 20), now_ns=3_000)  # not dry: lands right behind, no silence
    assert ring.primed == 30
    assert values(ring.read(15, now_ns=5_000)) == list(range(1, 16))
    assert ring.recent_waits() == [4_000]  # the first write's first frame, taken at 5_000
    assert values(ring.read(100, now_ns=9_000)) == list(range(16, 41))
    assert ring.recent_waits() == [4_000, 6_000] and ring.dry  # that read found too few frames
    ring.write(chunk(41, 10), now_ns=10_000)  # ran dry: lands at the target again
    assert ring.frames == 40 and ring.primed == 60


def test_the_target_leaves_room_for_the_write_and_dropped_writes_are_not_timed() -> None:
    ring = SampleRing(50, target=45)
    ring.write(chunk(1, 20), now_ns=0)
    assert ring.frames == 50 and ring.primed == 30 and ring.dropped == 0  # as far as the capacity leaves room
    ring.write(chunk(21, 60), now_ns=1)  # more than it holds: the oldest go, the first write's with them
    assert ring.frames == 50 and ring.dropped == 30  # the first write and 10 of this one; the silence uncounted
    assert values(ring.read(50, now_ns=11)) == list(range(31, 81))
    assert ring.recent_waits() == []  # both first frames were dropped unheard


def test_a_target_above_the_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        SampleRing(10, target=11)


def test_the_silence_ahead_of_a_write_goes_first_and_uncounted_when_the_ring_overflows() -> None:
    ring = SampleRing(50, target=20)
    ring.write(chunk(1, 20), now_ns=0)  # 20 frames of silence ahead of it
    ring.write(chunk(21, 20), now_ns=1)  # a catch-up write: 10 over, all silence
    assert ring.frames == 50 and ring.dropped == 0
    assert values(ring.read(50, now_ns=2)) == [0] * 10 + list(range(1, 41))
