"""Speaker: a game's mix on a real audio device, through miniaudio (``layerw run --sound``).

The device's real-time callback only copies from a bounded ring of samples and never waits on the
game: when the ring runs dry it plays silence for the missing frames and counts an underrun; when
the game runs ahead (a headless run, a stall on the device side) the oldest samples are dropped and
counted. The game's thread logs both (at most once a second), never the callback.

The latency budget (``latency_ms``, default 40 ms) bounds what the ring holds; the device gets two
short periods (an eighth of the budget each: 5 ms), and a write lands half the rest (15 ms) behind
the device when the ring starts or has run dry, so a late tick has that margin before an underrun.
Each underrun moves that landing point a period further behind (the game's samples queued further
ahead), up to ``MAX_TARGET_SHARE`` % of the queue's budget, so a loaded machine trades a few ms of the
budget for fewer gaps; an underrun's edges ramp (``Declicker``) instead of clicking. The device's
thread asks for realtime scheduling (``realtime.raise_priority``) and the answer is logged.
``output_latency_ms`` is measured: the median wait of recent writes until the callback took their
first frame (``SampleRing.waits``), plus the device's periods (``measured_latency_ms(95)``: the
p95). ``miniaudio``'s NULL backend runs the same path, in real time, without sound hardware (it
wakes every 10 ms, so 5 ms periods come in pairs there).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Generator, Sequence
from typing import Literal, Self

import miniaudio

from layerw import abi
from layerw.errors import AudioDeviceError
from layerw.play.declick import Declicker
from layerw.play.realtime import Priority, raise_priority
from layerw.play.sample_ring import FRAME_BYTES, SampleRing

REPORT_EVERY_S = 1.0
log = logging.getLogger("layerw.audio")
PERIODS = 2  # device periods: the callback fills one while the other plays
PERIOD_SHARE = 8  # a period is this part of the latency budget (5 ms of 40)
TARGET_SHARE = 50  # per cent of the queue's budget (the latency less the device's periods) a write lands behind
MAX_TARGET_SHARE = 80  # ... at most, after underruns raised it (a period per underrun)
GAPS_KEPT = 1024  # the most recent intervals between writes, and between the device's callbacks


class Speaker:
    def __init__(self, *, latency_ms: int = 40, backends: Sequence[miniaudio.Backend] | None = None) -> None:
        if not 5 <= latency_ms <= 1000:
            raise AudioDeviceError(f"audio latency {latency_ms} ms: choose 5..1000")
        self.latency_ms = latency_ms
        self.period_ms = max(1, latency_ms // PERIOD_SHARE)
        self.device_ms = PERIODS * self.period_ms  # what the device itself buffers after the callback
        queue = abi.SAMPLE_RATE * (latency_ms - self.device_ms) // 1000
        self.ring = SampleRing(abi.SAMPLE_RATE * latency_ms // 1000, target=queue * TARGET_SHARE // 100)
        self.max_target = max(self.ring.target, queue * MAX_TARGET_SHARE // 100)
        self.step = abi.SAMPLE_RATE * self.period_ms // 1000  # frames the target moves per underrun
        self.declicker = Declicker()
        self.priority: Priority | None = None  # what the device's thread got, once it first ran
        self._priority_logged = False
        self.write_gaps: deque[int] = deque(maxlen=GAPS_KEPT)  # ns between the game's writes
        self.callback_gaps: deque[int] = deque(maxlen=GAPS_KEPT)  # ns between the device's callbacks
        self._last_write = 0
        self.started = False  # underruns count from the game's first samples on
        self.underruns = 0  # device callbacks that found fewer frames than they needed
        self.frames_played = 0
        self.frames_missing = 0
        self._reported = (0, 0, time.monotonic())
        try:
            self.device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16, nchannels=abi.CHANNELS, sample_rate=abi.SAMPLE_RATE,
                buffersize_msec=self.period_ms, callback_periods=PERIODS, backends=list(backends) if backends else None,
                app_name="layerw")
            feed = self._feed()
            next(feed)
            self.device.start(feed)
        except miniaudio.MiniaudioError as e:
            raise AudioDeviceError(f"the audio device would not open ({e}); try --sound null, or run without --sound") from e
        log.info("audio out on %s: %d Hz, latency budget %d ms: %d x %d ms device periods, samples queued %.1f ms ahead",
                 self.device.backend, abi.SAMPLE_RATE, latency_ms, PERIODS, self.period_ms,
                 self.ring.target * 1000 / abi.SAMPLE_RATE)

    def _feed(self) -> Generator[bytes, int, None]:
        """The device's callback: what the ring holds, ramped silence for the rest. Never blocks on the game (it
        needs the GIL, though: a game thread preempted while holding it delays the callback too)."""
        frames = yield b""
        self.priority = raise_priority()  # this is the device's thread now
        last = 0
        while True:
            now = time.perf_counter_ns()
            if last:
                self.callback_gaps.append(now - last)
            last = now
            data = self.ring.read(frames, now)
            got = len(data) // FRAME_BYTES
            if got < frames and self.started:
                self.underruns += 1
                self.frames_missing += frames - got
                self.ring.target = min(self.max_target, self.ring.target + self.step)  # land the next write further ahead
            self.frames_played += frames
            frames = yield self.declicker.fill(data, frames)

    def write(self, samples: bytes) -> None:
        """Queue the game's samples (from ``GameHost.take_samples``); returns at once."""
        now = time.perf_counter_ns()
        if self._last_write:
            self.write_gaps.append(now - self._last_write)
        self._last_write = now
        self.ring.write(samples, now)
        self.started = True
        self._report()

    def _report(self, final: bool = False) -> None:
        underruns, dropped, at = self._reported
        now = time.monotonic()
        if self.priority is not None and not self._priority_logged:
            self._priority_logged = True
            (log.info if self.priority.raised else log.warning)("audio: %s", self.priority.describe())
        if (final or now - at >= REPORT_EVERY_S) and (self.underruns, self.ring.dropped) != (underruns, dropped):
            log.warning("audio: %d underruns (%d frames of ramped silence), %d frames dropped as the game ran ahead; "
                        "samples now queued %.1f ms ahead after an underrun; the longest gap between the game's "
                        "writes %.0f ms, between the device's callbacks %.0f ms", self.underruns, self.frames_missing,
                        self.ring.dropped, self.ring.target * 1000 / abi.SAMPLE_RATE,
                        max(self.write_gaps, default=0) / 1e6, max(self.callback_gaps, default=0) / 1e6)
            self._reported = (self.underruns, self.ring.dropped, now)

    def gap_ms(self, which: Literal["write", "callback"], percent: int = 95) -> float:
        """Measured: the ``percent`` % interval (ms) between the game's writes (``which`` = "write") or the
        device's callbacks ("callback"): which side was late when underruns came."""
        gaps = sorted(self.write_gaps if which == "write" else self.callback_gaps)
        return gaps[(len(gaps) - 1) * percent // 100] / 1e6 if gaps else 0.0

    def queue_waits_ms(self) -> list[float]:
        """Measured, for the recent writes: the time from each to the device's callback taking its first frame."""
        return [wait / 1e6 for wait in self.ring.recent_waits()]

    def measured_latency_ms(self, percent: int = 50) -> float | None:
        """Measured: the output latency ``percent`` % of the recent writes kept within: their wait until the
        device's callback took their first frame, plus the device's own buffer (its periods after the
        callback: what a real device holds before the speaker sounds; pyminiaudio does not expose the
        sizes a backend chose, so these are the sizes asked for). None before any write was taken."""
        waits = sorted(self.queue_waits_ms())
        return self.device_ms + waits[(len(waits) - 1) * percent // 100] if waits else None

    @property
    def output_latency_ms(self) -> float:
        """The latency now: the median ``measured_latency_ms``; before any write was played, the device's
        periods plus what waits in the ring."""
        measured = self.measured_latency_ms()
        return measured if measured is not None else self.device_ms + self.ring.frames * 1000 / abi.SAMPLE_RATE

    def close(self) -> None:
        if self.device.running:
            self.device.close()
            self._report(final=True)
            median, p95 = self.measured_latency_ms(), self.measured_latency_ms(95)
            if median is not None and p95 is not None:
                log.info("audio out: latency %.1f ms (median; p95 %.1f ms), measured from the game's writes to the "
                         "device's callback, plus %d ms of device periods", median, p95, self.device_ms)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
