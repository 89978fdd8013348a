"""Hostile sound: a game that floods the sound block, NaN and absurd volumes, rates and frequencies,
raw garbage and a lying length, random blocks fed to the mixer, and corrupt mixer state in a
snapshot. Each ends bounded and typed: exactly one tick of samples per tick, never a host crash."""

from __future__ import annotations

import base64
import dataclasses
import logging
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameError, SnapshotError
from layerw.runtime import CpuLimit, open_game
from layerw.runtime.inputs import InputState
from layerw.runtime.mixer import Mixer
from tests.hostile.harness import fuzz
from tests.runtime.sound.game import ABSURD, FLOOD, GARBAGE, SCORE, build_game

TICKS = 30


@pytest.fixture(scope="module")
def sound_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_game(tmp_path_factory.mktemp("sound"))


@pytest.mark.parametrize("limit", [CpuLimit.EPOCH, CpuLimit.WATCHDOG])
@pytest.mark.parametrize(("mode", "log"), [(FLOOD, "sound block full"), (ABSURD, "bad handles"),
                                           (GARBAGE, "bad commands")])
def test_hostile_sound_is_bounded(sound_build: Path, limit: CpuLimit, mode: int, log: str,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with open_game(Bundle.open(sound_build), cpu_limit=limit, seed=mode) as game:
        # CPU time: the work the hostile ticks made (the game runs on this thread), which load does not change
        state, start, samples = InputState(), time.thread_time(), []
        for _ in range(TICKS):
            game.tick(state)
            samples.append(game.take_samples())
        elapsed = time.thread_time() - start
        hash_a = game.audio_hash()
        game.restore(game.snapshot())
        game.tick(state)
    assert [len(s) for s in samples] == [800 * 4] * TICKS
    assert elapsed < 10, f"{TICKS} hostile ticks took {elapsed:.1f} s"
    assert len(hash_a) == 64
    assert log in caplog.text
    if mode == ABSURD:  # NaN volumes are clamped to silence in the guest, infinities to the range's ends
        mix = np.frombuffer(b"".join(samples), dtype="<i2")
        assert np.abs(mix).max() <= 32767


def test_hostile_sound_is_the_same_on_every_run(sound_build: Path) -> None:
    hashes = set()
    for _ in range(2):
        with open_game(Bundle.open(sound_build), seed=GARBAGE) as game:
            for _ in range(10):
                game.tick(InputState())
            hashes.add(game.audio_hash())
    assert len(hashes) == 1


def _mixer_counters(block: bytes) -> tuple[int, dict[str, int]]:
    with Mixer(60) as mixer:
        n = len(mixer.mix(block)) // 4
        return n, mixer.counters()


def test_bad_voices_handles_and_lengths_are_counted() -> None:
    header = struct.Struct("<4I")
    play = struct.pack("<IIiii", 7, 0, 65536, 0, 65536)  # asset 7 was never registered
    stop = struct.pack("<I", 0)
    pcm_lie = header.pack(5, 0, 0xFFFFFFFF, 0) + struct.pack("<i", 65536)
    block = (header.pack(1, 0, 0, 0) + play + header.pack(2, 99, 0, 0) + stop + header.pack(1, 40, 0, 0) + play
             + pcm_lie)
    n, counters = _mixer_counters(block)
    assert n == 800
    assert counters["bad_handles"] == 3 and counters["bad_commands"] == 1 and counters["voices_on"] == 0
    assert _mixer_counters(header.pack(77, 0, 0, 0))[1]["bad_commands"] == 1
    assert _mixer_counters(b"\xff" * (abi.SOUND_CAPACITY + 100))[0] == 800  # the host truncates to the capacity


@fuzz(200)
@given(st.binary(max_size=4096), st.lists(st.tuples(st.integers(1, 5), st.integers(0, 2**32 - 1),
                                                    st.binary(min_size=44, max_size=44)), max_size=40))
def test_any_block_mixes_exactly_one_tick(noise: bytes, records: list[tuple[int, int, bytes]]) -> None:
    sizes = {1: 20, 2: 4, 3: 8, 4: 44, 5: 4}
    block = b"".join(struct.pack("<4I", op, voice % 70 if voice % 3 else 0xFFFFFFFF, 0, 0) + body[:sizes[op]]
                     for op, voice, body in records) + noise
    with Mixer(60) as mixer:
        mixer.add_sound(1, np.full((100, 2), 12000, dtype=np.int16))
        for _ in range(3):
            assert len(mixer.mix(block)) == 800 * 4


def test_corrupt_mixer_state_in_a_snapshot_is_refused(sound_build: Path) -> None:
    with open_game(Bundle.open(sound_build), seed=SCORE) as game:
        for _ in range(55):
            game.tick(InputState())
        snap = game.snapshot()
        for bad in ("not base64!", "AAAA", "", 12):
            with pytest.raises(SnapshotError):
                game.restore(dataclasses.replace(snap, host={**snap.host, "audio": bad}))
            with pytest.raises(GameError):  # a failed restore leaves the game failed until a good one
                game.tick(InputState())
        with Mixer(60) as fresh:
            mixer_state = bytearray(fresh.state())
        struct.pack_into("<I", mixer_state, 8, 30)  # another tick rate
        forged = base64.b64encode(bytes(mixer_state)).decode()
        with pytest.raises(SnapshotError, match="tick rate"):
            game.restore(dataclasses.replace(snap, host={**snap.host, "audio": forged}))
        game.restore(snap)
        game.take_samples()  # the 55 ticks before the restores
        game.tick(InputState())
        assert len(game.take_samples()) == 800 * 4
