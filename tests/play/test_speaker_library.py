"""SpeakerLibrary: lwspeaker.c built by zig cc on first use, cached, loaded; no compiler is a typed
error (nothing falls back); the device callback's accounting, driven directly, is exact."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np
import pytest

from layerw.errors import ToolchainError
from layerw.play.declick import Declicker
from layerw.play.sample_ring import SampleRing
from layerw.play.speaker_layout import SpeakerState, header
from layerw.play.speaker_library import P_I16, SpeakerLibrary, speaker_library
from layerw.toolchain import zig


def test_it_builds_once_into_its_cache_and_loads_from_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = SpeakerLibrary(cache=tmp_path)
    assert built.path.parent == tmp_path and built.path.is_file() and built.data_callback

    def no_compiler(args: list[str], cwd: Path | None = None, native: bool = False) -> object:
        raise AssertionError("a cached library is not compiled again")

    monkeypatch.setattr(zig, "run", no_compiler)
    again = SpeakerLibrary(cache=tmp_path)
    assert again.path == built.path and list(tmp_path.iterdir()) == [built.path]


def test_no_compiler_is_a_typed_error_that_says_what_needs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(args: list[str], cwd: Path | None = None, native: bool = False) -> object:
        raise ToolchainError("the ziglang package is missing: run `make test` (or pip install ziglang)")

    monkeypatch.setattr(zig, "run", missing)
    with pytest.raises(ToolchainError, match="device callback.*ziglang package is missing"):
        SpeakerLibrary(cache=tmp_path / "empty")
    assert not (tmp_path / "empty").exists() or not list((tmp_path / "empty").iterdir())


def test_the_layout_header_declares_each_struct_from_the_ctypes_layout() -> None:
    text = header(48)
    assert text.startswith("/* Generated") and "#define LW_USER_DATA_OFFSET 48" in text
    for name in ("lw_ring", "lw_declick", "lw_speaker"):
        assert f"}} {name};" in text
    assert "lw_ring *ring;" in text and "int16_t *slots;" in text and "int64_t waits[256];" in text


def test_the_callback_plays_the_ring_declicked_and_counts_each_underrun_exactly() -> None:
    """The device's callback, called as the device calls it (480 frames a time): the silence put ahead of
    the write, the write ramped up from its first loud frame, then a short read and empty ones, each an
    underrun moving the target a step (to its bound), their missing frames ramping down then silent."""
    lib = speaker_library()
    ring, declick = SampleRing(1920, target=720), Declicker(ramp=240)
    state = SpeakerState(ring=ring.pointer, declick=declick.pointer, max_target=1152, step=240)

    def callback() -> np.ndarray:
        out = (ctypes.c_int16 * (480 * 2))()
        lib.speaker_callback(ctypes.pointer(state), ctypes.cast(out, P_I16), 480)
        return np.frombuffer(bytes(out), dtype="<i2").reshape(480, 2).astype(np.int64)

    assert not callback().any() and state.underruns == 0  # nothing written yet: silence, no underrun
    ring.write(np.full((800, 2), 1000, dtype="<i2").tobytes())
    assert ring.primed == 720
    assert not callback().any()  # the silence ahead of the write
    second = callback()
    assert not second[:240].any() and second[240:, 0].tolist() == [1000 * i // 240 for i in range(240)]
    assert (callback() == 1000).all() and state.underruns == 0  # ramp done: unchanged
    short = callback()  # 80 frames left, 400 missing
    assert (short[:80] == 1000).all() and short[80:320, 1].tolist() == [1000 * (239 - i) // 240 for i in range(240)]
    assert not short[320:].any()
    assert (state.underruns, state.frames_missing, ring.target) == (1, 400, 960)
    assert not callback().any() and not callback().any()
    assert (state.underruns, state.frames_missing, ring.target) == (3, 1360, 1152)
    assert state.frames_unstarted == 480  # the first callback's silence, before any write
    assert ring.dropped == ring.state.silence_dropped == 0
    assert state.frames_played == 7 * 480 == state.frames_unstarted + 800 + ring.primed + state.frames_missing
    assert state.gaps_total == 6 and state.thread_id == threading.get_native_id()


def test_one_writer_and_one_reader_at_once_lose_no_order_and_account_for_every_frame() -> None:
    """The ring's two sides on two threads, both in C without the GIL, a ring small enough that writes
    overflow it: every frame read came after the one before it, and written = read + dropped + held."""
    ring = SampleRing(64)
    writes, frame = 3000, 1  # frames carry their index (the silence primed is 0: target 0, none)
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set() or ring.frames:
            data = ring.read(17)
            seen.extend(np.frombuffer(data, dtype="<u4").tolist())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(writes):
            n = 1 + i % 40
            ring.write(np.arange(frame, frame + n, dtype="<u4").tobytes())
            frame += n
    finally:
        done.set()
        thread.join(30)
    assert not thread.is_alive()
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False)), "frames out of order or repeated"
    assert len(seen) + ring.dropped + ring.frames == frame - 1 and ring.frames == 0
    assert len(set(seen)) == len(seen) and seen[-1] == frame - 1  # the last write's last frame is never dropped



def test_a_negative_read_is_refused_and_moves_nothing() -> None:
    ring = SampleRing(8)
    ring.write(bytes(4 * 4))
    with pytest.raises(ValueError, match="frames"):
        ring.read(-1)
    assert ring.frames == 4 and len(ring.read(8)) == 16


def test_the_silence_an_overflow_drops_is_counted_apart_from_the_game_s_frames() -> None:
    ring = SampleRing(50, target=45)
    ring.write(bytes(20 * 4))  # 30 frames of silence ahead of it
    ring.write(bytes(60 * 4))  # 60 over: the silence, the first write and 10 of this one
    assert (ring.dropped, ring.state.silence_dropped, ring.frames) == (30, 30, 50)
