"""Speaker: a game's mix on a real audio device, through miniaudio (``layerw run --sound``).

The device's real-time callback is C (``lw_speaker_data`` in ``lwspeaker.c``, built on first use by
``SpeakerLibrary``): it only copies from a bounded lock-free ring of samples, never waits on the game
and never runs Python, so a game thread preempted while holding the GIL does not delay it. When the
ring runs dry it plays silence for the missing frames and counts an underrun; when the game runs
ahead (a headless run, a stall on the device side) the oldest samples are dropped and counted. The
game's thread logs both (at most once a second), never the callback.

The latency budget (``latency_ms``, default 40 ms) bounds what the ring holds; the device gets two
short periods (an eighth of the budget each: 5 ms), and a write lands half the rest (15 ms) behind
the device when the ring starts or has run dry, so a late tick has that margin before an underrun.
Each underrun moves that landing point a period further behind (the game's samples queued further
ahead), up to ``MAX_TARGET_SHARE`` % of the queue's budget, so a loaded machine trades a few ms of the
budget for fewer gaps; an underrun's edges ramp (``Declicker``) instead of clicking. The device's
thread is asked for realtime scheduling (``realtime.raise_priority``, from the game's thread once the
device has first called back) and the answer is logged. ``output_latency_ms`` is measured: the
median wait of recent writes until the callback took their first frame (``SampleRing.waits``), plus
the device's periods (``measured_latency_ms(95)``: the p95). ``miniaudio``'s NULL backend runs the
same path, in real time, without sound hardware (it wakes every 10 ms, so 5 ms periods come in pairs
there).
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Literal, Self

import miniaudio

from layerw import abi
from layerw.errors import AudioDeviceError
from layerw.play.audio_device import AudioDevice
from layerw.play.declick import Declicker
from layerw.play.realtime import Priority, raise_priority
from layerw.play.sample_ring import SampleRing
from layerw.play.speaker_layout import SpeakerState, latest
from layerw.play.speaker_library import speaker_library

__all__ = ["SampleRing", "Speaker"]
REPORT_EVERY_S = 1.0
log = logging.getLogger("layerw.audio")
PERIODS = 2  # device periods: the callback fills one while the other plays
PERIOD_SHARE = 8  # a period is this part of the latency budget (5 ms of 40)
TARGET_SHARE = 50  # per cent of the queue's budget (the latency less the device's periods) a write lands behind
MAX_TARGET_SHARE = 80  # ... at most, after underruns raised it (a period per underrun)
GAPS_KEPT = 1024  # the most recent intervals between the game's writes


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
        self.state = SpeakerState(ring=self.ring.pointer, declick=self.declicker.pointer, max_target=self.max_target,
                                  step=self.step)  # the device's callback's own, read here
        self.priority: Priority | None = None  # what the device's thread got, once it first ran
        self._priority_logged = False
        self.write_gaps: deque[int] = deque(maxlen=GAPS_KEPT)  # ns between the game's writes
        self._last_write = 0
        self._reported = (0, 0, time.monotonic())
        self.device = AudioDevice(speaker_library().data_callback, ctypes.addressof(self.state), period_ms=self.period_ms,
                                  periods=PERIODS, backends=backends)
        try:
            self.device.start()
        except AudioDeviceError:
            self.device.close()
            raise
        log.info("audio out on %s: %d Hz, latency budget %d ms: %d x %d ms device periods, samples queued %.1f ms ahead; "
                 "the device's callback is native code (no GIL)", self.device.backend, abi.SAMPLE_RATE, latency_ms,
                 PERIODS, self.period_ms, self.ring.target * 1000 / abi.SAMPLE_RATE)

    @property
    def started(self) -> bool:
        """Underruns count from the game's first samples on."""
        return bool(self.ring.state.writes)

    @property
    def underruns(self) -> int:
        """Device callbacks that found fewer frames than they needed."""
        return int(self.state.underruns)

    @property
    def frames_missing(self) -> int:
        """The frames those callbacks lacked (played as ramped silence)."""
        return int(self.state.frames_missing)

    @property
    def frames_played(self) -> int:
        """Every frame the device was given, silence included."""
        return int(self.state.frames_played)

    @property
    def callback_gaps(self) -> list[int]:
        """The most recent intervals (ns) between the device's callbacks, oldest first (a snapshot)."""
        return latest(self.state.gaps, int(self.state.gaps_total))

    def write(self, samples: bytes) -> None:
        """Queue the game's samples (from ``GameHost.take_samples``); returns at once."""
        now = time.perf_counter_ns()
        if self._last_write:
            self.write_gaps.append(now - self._last_write)
        self._last_write = now
        self.ring.write(samples)  # stamped by the library's clock, which the callback reads too
        if self.priority is None and self.state.thread_id:  # the device has called back: its thread is known
            self.priority = raise_priority(int(self.state.thread_id))
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
        """Stop the device (its callback never runs after this), then report what it played."""
        running = self.device.running
        self.device.close()
        if running:
            self._report(final=True)
            median, p95 = self.measured_latency_ms(), self.measured_latency_ms(95)
            if median is not None and p95 is not None:
                log.info("audio out: latency %.1f ms (median; p95 %.1f ms), measured from the game's writes to the "
                         "device's callback, plus %d ms of device periods", median, p95, self.device_ms)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
