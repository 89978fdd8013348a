"""Audio: a game's sound on the host side, shared by every backend (``BaseHost`` owns one).

After each tick the backend hands it the tick's sound block (read from guest memory, or from the
worker's answer) and the sound assets that became ready; it registers those with the ``Mixer``,
mixes the block into exactly that tick's samples, hashes them (``audio_hash``) and keeps them for
whoever plays or records them (``take_samples``), at most ``MAX_PENDING_FRAMES`` (older ones are
dropped, counted: a server has no one listening). Its voices are host state in snapshots.

Blocks are mixed ``BATCH_TICKS`` at a time (a call into the mixer from Python costs more than
mixing a silent tick), and at once whenever anything reads the result (samples, hash, state) or a
new sound must be registered, so the order of sounds and commands is each tick's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from layerw import abi, pcm
from layerw.errors import AssetError, SnapshotError
from layerw.observability.logs import ContextLog
from layerw.runtime.mixer import Mixer

MAX_PENDING_FRAMES = 2 * abi.SAMPLE_RATE  # samples kept for take_samples
BATCH_TICKS = 16
FRAME_BYTES = 2 * abi.CHANNELS
FADE_FRAMES = abi.SAMPLE_RATE // 200  # 5 ms: a rollback's or heal's cross-fade from what was playing to what plays now


def cross_fade(old: bytes, new: bytes) -> bytes:
    """``new`` (s16 stereo) with its first frames faded in from ``old`` (as many frames, at most
    ``FADE_FRAMES``): frame i is (old * (N - i) + new * i) // N, N = FADE_FRAMES, integers only, so
    every host hears the same; a voice only in ``old`` ramps to zero, one in both plays on unchanged."""
    n = min(len(old), len(new)) // FRAME_BYTES
    if n == 0:
        return new
    weight = np.repeat(np.arange(n, dtype=np.int32), abi.CHANNELS)
    before = np.frombuffer(old, dtype="<i2", count=n * abi.CHANNELS).astype(np.int32)
    after = np.frombuffer(new, dtype="<i2", count=n * abi.CHANNELS).astype(np.int32)
    faded = (before * (FADE_FRAMES - weight) + after * weight) // FADE_FRAMES
    return faded.astype("<i2").tobytes() + new[n * FRAME_BYTES:]


class Audio:
    def __init__(self, game: str, tick_rate: int, read_asset: Callable[[str], bytes], log: ContextLog) -> None:
        self.game = game
        self.read_asset = read_asset
        self.log = log
        self.mixer = Mixer(tick_rate)
        self.registered: set[int] = set()
        self._hash = hashlib.sha256()
        self._pending: deque[bytes] = deque()
        self._pending_frames = 0
        self.frames_mixed = 0
        self.frames_discarded = 0
        self._reported: set[str] = set()
        self._queued: list[bytes] = []  # blocks not mixed yet
        self._queued_bytes = 0
        self.frames_resimulated = 0  # mixed again by rollbacks and dropped unheard (resimulated)
        self.frames_skipped = 0  # mixed by a room's fast-forward (a join's, a heal's) and dropped unheard (skip)
        self._playing_on = b""  # at the last restore: the next FADE_FRAMES frames the voices before it would have played
        self._fade_from = b""  # after a rollback: what the next samples heard fade in from

    def register(self, sounds: Iterable[tuple[int, str]]) -> None:
        """Give the mixer the sound assets (handle, name) that became ready; a sound that cannot be
        loaded is logged once and stays unplayable (its PLAY commands count as bad handles), the
        same on every host."""
        for handle, name in sounds:
            if handle in self.registered or not pcm.is_sound(name):
                continue
            self.flush()  # the ticks before this one mixed without it
            self.registered.add(handle)
            try:
                self.mixer.add_sound(handle, pcm.decode(name, self.read_asset(name)))
            except AssetError as e:
                self.log.error("[%s] sound %r cannot be played: %s", self.game, name, e)

    def mix(self, block: bytes | memoryview, dropped: int = 0) -> None:
        """Mix one tick's sound block (``dropped``: commands the game could not fit)."""
        if dropped:
            self._report_once("dropped", "sound block full: %d commands dropped this tick", dropped)
        size = 4 + (len(block) + 3) // 4 * 4
        if self._queued_bytes + size > self.mixer.batch_capacity:
            self.flush()
        self._queued.append(bytes(block))
        self._queued_bytes += size
        if len(self._queued) >= BATCH_TICKS:
            self.flush()

    def flush(self) -> None:
        """Mix every block still queued."""
        commands = any(self._queued)
        while self._queued:
            done, samples = self.mixer.mix_batch(self._queued)
            if done == 0:
                raise RuntimeError("the mixer took no block of a batch")  # a bug, never the game's input
            del self._queued[:done]
            self._hash.update(samples)  # hashlib: what the mixer's own running hash (browsers') computes
            if self._fade_from:  # heard only: the hash and the mixer's state stay the game's
                samples, self._fade_from = cross_fade(self._fade_from, samples), b""
            frames = len(samples) // FRAME_BYTES
            self.frames_mixed += frames
            self._pending.append(samples)
            self._pending_frames += frames
        self._queued_bytes = 0
        while self._pending_frames > MAX_PENDING_FRAMES:
            old = self._pending.popleft()
            self._pending_frames -= len(old) // FRAME_BYTES
            self.frames_discarded += len(old) // FRAME_BYTES
        if commands:  # the counters change only when commands arrive
            counters = self.mixer.counters()
            for name in ("bad_commands", "bad_handles", "pcm_dropped"):
                if counters[name]:
                    self._report_once(name, "mixer: %d %s so far", counters[name], name.replace("_", " "))

    def _report_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.log.warning("[%s] " + message, self.game, *args)

    def take_samples(self) -> bytes:
        """The samples mixed since the last call (at most ``MAX_PENDING_FRAMES``), interleaved s16 LE."""
        self.flush()
        out = b"".join(self._pending)
        self._pending.clear()
        self._pending_frames = 0
        return out

    def audio_hash(self) -> str:
        """SHA-256 (hex) of every sample mixed since this host started or was restored."""
        self.flush()
        return self._hash.hexdigest()

    def state(self) -> str:
        """The mixer's voices and queued PCM (base64), for a snapshot's host state."""
        self.flush()
        return base64.b64encode(self.mixer.state()).decode()

    def restore(self, state: Any, sounds: Iterable[tuple[int, str]]) -> None:
        """Continue from a snapshot's ``state`` (None: a snapshot without sound, no voice playing) with
        the ready ``sounds`` it had; a malformed state raises SnapshotError."""
        data = self._decode(state) if state is not None else None
        self.flush()  # the ticks played before the restore are still heard
        self._keep_playing_on()
        self.mixer.reset()
        self.registered = set()
        self.register(sounds)
        if data is not None:
            self.mixer.set_state(data)
        self._hash = hashlib.sha256()

    def rewind(self, state: Any) -> None:
        """Continue from a snapshot's ``state`` with the sounds already given to the mixer (an in-place
        restore whose ready assets did not change): no sound is decoded again."""
        data = self._decode(state)
        self.flush()
        self._keep_playing_on()
        self.mixer.set_state(data)
        self._hash = hashlib.sha256()

    def _keep_playing_on(self) -> None:
        """Before a restore: the first ``FADE_FRAMES`` frames the voices playing now would play next
        with no new commands (mixed here, unhashed; the restore then replaces the mixer's state)."""
        self._playing_on = self.mixer.mix(b"")[:FADE_FRAMES * FRAME_BYTES]

    def resimulated(self) -> None:
        """The ticks mixed since the last restore were simulated again (a rollback): drop their
        samples unheard, and when the voices now differ from those before the restore, cross-fade
        the next samples heard from what was playing then (a voice the rollback took back ends in a
        5 ms ramp, not a click; one it started again at the same tick plays on unchanged, never
        twice). A rollback that changed nothing audible leaves what is heard untouched."""
        frames = self._drop_pending(fade=True)
        self.frames_resimulated += frames
        self.frames_mixed -= frames

    def skip(self, *, fade: bool = False) -> None:
        """Drop the samples mixed since they were last taken, unheard (a room's fast-forward, counted in
        ``frames_skipped``). With ``fade`` (a heal or a rejoin: the room's state replaced this one) the
        next samples heard fade in from what was playing before the restore when the two differ, as
        after a rollback: the old stream ramps into the room's over 5 ms instead of jumping (a click)."""
        self.frames_skipped += self._drop_pending(fade=fade)

    def _drop_pending(self, *, fade: bool) -> int:
        """Mix what is queued and drop every sample not taken (how many frames); ``fade``: the next
        samples heard fade in from what was playing at the last restore, if that differs from what
        plays now (``_jumps``). Only what is heard changes:
        the hash and the mixer's state stay the game's."""
        self.flush()
        frames = self._pending_frames
        self._pending.clear()
        self._pending_frames = 0
        self._fade_from = self._playing_on if fade and self._jumps() else b""
        self._playing_on = b""
        return frames

    def _jumps(self) -> bool:
        """True when the voices now would not play on with exactly what those before the last restore
        would have (``_playing_on``): only then would what is heard jump. A rollback or heal that
        changed nothing audible is not faded, so a sound starting at the next tick starts whole."""
        if not self._playing_on:
            return False
        state = self.mixer.state()  # peeked at, then put back: the game's mix goes on from here
        try:
            return self.mixer.mix(b"")[:FADE_FRAMES * FRAME_BYTES] != self._playing_on
        finally:
            self.mixer.set_state(state)

    def _decode(self, state: Any) -> bytes:
        try:
            if not isinstance(state, str) or len(state) > (self.mixer.state_size + 2) // 3 * 4:
                raise ValueError("not a base64 string of a mixer state's size")
            return base64.b64decode(state, validate=True)
        except (ValueError, binascii.Error) as e:
            raise SnapshotError(f"snapshot audio state is malformed: {e}") from e

    def close(self) -> None:
        self.mixer.close()
