"""The native audio output on miniaudio's NULL backend (a real device thread in real time, no
hardware): the callback plays what the ring holds, never waits on the game, counts underruns when
the game stalls and drops (and counts) what a game running ahead writes past the latency budget."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from pathlib import Path

import miniaudio
import pytest

from layerw.errors import AudioDeviceError
from layerw.play.speaker import SampleRing, Speaker
from tests.waiting import wait_until

TICK = bytes(800 * 4)


def test_the_device_pulls_in_real_time_and_starves_without_waiting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "layerw.audio")
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        assert speaker.device.backend == "Null"
        start = time.monotonic()
        for _ in range(6):
            speaker.write(TICK)
        before = speaker.frames_played
        # The game stalls: the device keeps playing (half a second of it, however long a loaded machine takes),
        # silence once the ring is dry; and never faster than real time.
        wait_until(lambda: speaker.frames_played - before > 0.5 * 48000 * 0.6 and speaker.underruns >= 1,
                   "the device plays on, into underruns")
        elapsed = time.monotonic() - start
        played = speaker.frames_played - before
        assert played < elapsed * 48000 * 1.4, played
        assert speaker.underruns >= 1 and speaker.frames_missing > 0
        t = time.thread_time()
        speaker.write(TICK)  # the next write returns at once and reports the underruns
        assert time.thread_time() - t < 0.05  # its own work: the ring is dry, there is nothing it could wait for
        assert speaker.output_latency_ms <= 40 + 40
    assert "underruns" in caplog.text and "audio out on Null" in caplog.text


def test_a_game_running_ahead_is_bounded_by_the_latency_budget() -> None:
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        speaker.write(bytes(48000 * 4))  # one second at once
        assert speaker.ring.frames <= speaker.ring.capacity == 1920
        assert speaker.ring.dropped >= 48000 - 1920


def test_the_ring_keeps_order_and_splits_chunks() -> None:
    ring = SampleRing(10)
    ring.write(b"".join(i.to_bytes(4, "little") for i in range(6)))
    ring.write(b"".join(i.to_bytes(4, "little") for i in range(6, 14)))
    assert ring.dropped == 4 and ring.frames == 10
    got = ring.read(3) + ring.read(100)
    assert [int.from_bytes(got[i:i + 4], "little") for i in range(0, len(got), 4)] == list(range(4, 14))
    assert ring.read(5) == b""


def test_layerw_run_plays_on_the_null_device(built: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from layerw.cli import main
    from tests.conftest import GAMES

    build = built(GAMES / "pong")  # type: ignore[operator]
    assert main(["run", str(build), "--headless", "--ticks", "30", "--sound", "null", "--latency-ms", "30"]) == 0
    assert "audio-hash " in capsys.readouterr().out
    with pytest.raises(AudioDeviceError, match="latency"):
        Speaker(latency_ms=1, backends=[miniaudio.Backend.NULL])


def test_the_latency_reported_is_measured_write_by_write() -> None:
    """A 40 ms budget: two 5 ms device periods, writes land 15 ms behind the device; the latency
    reported is the device's periods plus the measured wait of writes the callback has taken."""
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        assert (speaker.period_ms, speaker.device_ms, speaker.ring.target) == (5, 10, 720)
        assert speaker.measured_latency_ms() is None
        speaker.write(TICK)
        assert speaker.ring.primed == 720
        deadline = time.monotonic() + 10
        while not speaker.ring.waits and time.monotonic() < deadline:
            time.sleep(0.005)
        waits = speaker.queue_waits_ms()
        assert waits and all(w > 0 for w in waits)
        median = speaker.device_ms + sorted(waits)[(len(waits) - 1) // 2]  # one write: no more waits come
        assert speaker.output_latency_ms == speaker.measured_latency_ms() == median
        assert speaker.measured_latency_ms(95) >= speaker.measured_latency_ms()  # type: ignore[operator]


def test_underruns_queue_the_game_further_ahead_within_the_budget(caplog: pytest.LogCaptureFixture) -> None:
    """Each underrun lands the next write a device period further behind the device, never past 80 % of
    the queue's budget (24 ms of 40); the device thread's priority is asked for and what it got logged."""
    caplog.set_level(logging.INFO, "layerw.audio")
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        assert (speaker.ring.target, speaker.step, speaker.max_target) == (720, 240, 1152)
        speaker.write(TICK)  # then nothing: the ring runs dry, callback after callback
        wait_until(lambda: speaker.underruns >= 3, "underruns")
        assert speaker.ring.target == 1152  # 720 + 240 + 240, then held at the bound
        speaker.write(TICK)
        assert speaker.ring.primed == 720 + min(1152, speaker.ring.capacity - 800)  # lands at the raised target
        assert speaker.priority is not None and speaker.gap_ms("callback") > 0
    assert f"audio: {speaker.priority.describe()}" in caplog.text


def test_the_device_plays_on_while_the_game_holds_the_gil() -> None:
    """The callback is native: a game thread holding the GIL (here a libc sleep called through PyDLL,
    which keeps it) does not stop the device. A callback in Python could not run at all meanwhile."""
    hold = ctypes.PyDLL(ctypes.util.find_library("c")).usleep
    hold.argtypes = [ctypes.c_uint]
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        speaker.write(TICK)
        wait_until(lambda: speaker.frames_played > 0, "the device calls back")
        for _ in range(40):  # at most 40 holds of 0.25 s: a loaded machine may not run the device's thread in one
            before = speaker.state.frames_played
            hold(250_000)  # the GIL is held throughout: no Python runs on any thread
            if speaker.state.frames_played > before:
                break
        else:
            raise AssertionError("the device never played while the GIL was held")
        wait_until(lambda: speaker.underruns >= 1, "nothing more was written: the device plays ramped silence, counted")


def test_every_frame_written_is_played_dropped_or_counted_missing() -> None:
    """Write a second of ticks, stop, let the ring run dry, close: then, exactly, the device played
    what was written and the silence put ahead of writes, less what was dropped, plus the frames its
    underruns lacked, plus the silence it played before the first write (no underrun: the game had not
    started); the callback's gaps were recorded from its own thread."""
    with Speaker(latency_ms=40, backends=[miniaudio.Backend.NULL]) as speaker:
        for _ in range(60):
            speaker.write(TICK)
        wait_until(lambda: speaker.ring.frames == 0 and speaker.underruns >= 2, "the ring runs dry")
    assert not speaker.device.running
    written = 60 * len(TICK) // 4
    ring = speaker.ring.state
    taken = written + ring.primed - ring.dropped - ring.silence_dropped  # all the ring held, now played
    assert speaker.frames_played == speaker.state.frames_unstarted + taken + speaker.frames_missing
    assert speaker.callback_gaps and len(speaker.ring.recent_waits()) <= 60
