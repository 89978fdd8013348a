"""Speaker: a game's mix on a real audio device, through miniaudio (``layerw run --sound``).

The device's real-time callback only copies from a bounded ring of samples and never waits on the
game: when the ring runs dry it plays silence for the missing frames and counts an underrun; when
the game runs ahead (a headless run, a stall on the device side) the oldest samples are dropped and
counted. The game's thread logs both (at most once a second), never the callback. The latency
budget (``latency_ms``, default 40 ms) is split: half the device buffer, half what may wait in
the ring; ``output_latency_ms`` reports the sum now. ``miniaudio``'s NULL backend runs the same
path, in real time, without sound hardware.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Generator, Sequence
from typing import Self

import miniaudio

from layerw import abi
from layerw.errors import AudioDeviceError

FRAME_BYTES = 2 * abi.CHANNELS
REPORT_EVERY_S = 1.0
log = logging.getLogger("layerw.audio")


class SampleRing:
    """Interleaved s16 frames from the game thread to the device thread, at most ``capacity``.
    The lock is held only to move bytes, never while either side does anything else."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._chunks: deque[bytes] = deque()
        self._frames = 0
        self._lock = threading.Lock()
        self.dropped = 0  # frames the game wrote that the device never played (the ring was full)

    def write(self, samples: bytes) -> None:
        with self._lock:
            self._chunks.append(samples)
            self._frames += len(samples) // FRAME_BYTES
            while self._frames > self.capacity:
                over = (self._frames - self.capacity) * FRAME_BYTES
                head = self._chunks[0]
                if len(head) <= over:
                    self._chunks.popleft()
                    cut = len(head)
                else:
                    self._chunks[0] = head[over:]
                    cut = over
                self._frames -= cut // FRAME_BYTES
                self.dropped += cut // FRAME_BYTES

    def read(self, frames: int) -> bytes:
        """Up to ``frames`` frames (fewer when the ring holds fewer)."""
        want, parts = frames * FRAME_BYTES, []
        with self._lock:
            while want and self._chunks:
                head = self._chunks.popleft()
                if len(head) > want:
                    self._chunks.appendleft(head[want:])
                    head = head[:want]
                parts.append(head)
                want -= len(head)
                self._frames -= len(head) // FRAME_BYTES
        return b"".join(parts)

    @property
    def frames(self) -> int:
        return self._frames


class Speaker:
    def __init__(self, *, latency_ms: int = 40, backends: Sequence[miniaudio.Backend] | None = None) -> None:
        if not 5 <= latency_ms <= 1000:
            raise AudioDeviceError(f"audio latency {latency_ms} ms: choose 5..1000")
        self.latency_ms = latency_ms
        self.ring = SampleRing(abi.SAMPLE_RATE * latency_ms // 1000)  # room for two device periods
        self.started = False  # underruns count from the game's first samples on
        self.underruns = 0  # device callbacks that found fewer frames than they needed
        self.frames_played = 0
        self.frames_missing = 0
        self._reported = (0, 0, time.monotonic())
        try:
            self.device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16, nchannels=abi.CHANNELS, sample_rate=abi.SAMPLE_RATE,
                buffersize_msec=max(1, latency_ms // 2), backends=list(backends) if backends else None, app_name="layerw")
            feed = self._feed()
            next(feed)
            self.device.start(feed)
        except miniaudio.MiniaudioError as e:
            raise AudioDeviceError(f"the audio device would not open ({e}); try --sound null, or run without --sound") from e
        log.info("audio out on %s: %d Hz, latency %d ms (device buffer) + up to %d ms queued",
                 self.device.backend, abi.SAMPLE_RATE, self.device.buffersize_msec, latency_ms - latency_ms // 2)

    def _feed(self) -> Generator[bytes, int, None]:
        """The device's callback: what the ring holds, silence for the rest. Never blocks on the game."""
        frames = yield b""
        while True:
            data = self.ring.read(frames)
            got = len(data) // FRAME_BYTES
            if got < frames and self.started:
                self.underruns += 1
                self.frames_missing += frames - got
                data += bytes((frames - got) * FRAME_BYTES)
            self.frames_played += frames
            frames = yield data

    def write(self, samples: bytes) -> None:
        """Queue the game's samples (from ``GameHost.take_samples``); returns at once."""
        self.ring.write(samples)
        self.started = True
        self._report()

    def _report(self, final: bool = False) -> None:
        underruns, dropped, at = self._reported
        now = time.monotonic()
        if (final or now - at >= REPORT_EVERY_S) and (self.underruns, self.ring.dropped) != (underruns, dropped):
            log.warning("audio: %d underruns (%d frames of silence), %d frames dropped as the game ran ahead",
                        self.underruns, self.frames_missing, self.ring.dropped)
            self._reported = (self.underruns, self.ring.dropped, now)

    @property
    def output_latency_ms(self) -> float:
        """The device buffer plus what waits in the ring now."""
        return float(self.device.buffersize_msec) + self.ring.frames * 1000 / abi.SAMPLE_RATE

    def close(self) -> None:
        if self.device.running:
            self.device.close()
            self._report(final=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
