"""WASM-4's tone() as one sound command: the record's fields, and the mixer playing it."""

from __future__ import annotations

import numpy as np

from layerw import abi
from layerw.runtime.mixer import Mixer
from layerw.tone import tone_command


def fields(command: bytes) -> dict[str, int]:
    header = np.frombuffer(command[:16], dtype=abi.SOUND_HEADER.dtype)[0]
    record = np.frombuffer(command[16:], dtype=abi.TONE.dtype)[0]
    return {"op": int(header["op"]), "voice": int(header["voice"]), **{n: int(record[n]) for n in abi.TONE.dtype.names or ()}}


def test_every_argument_maps_onto_one_field() -> None:
    # 262 Hz sliding to 523 Hz; attack 1, decay 2, release 3, sustain 4 ticks; peak 80 %, sustain 50 %;
    # channel 1 (pulse), mode 2 (duty 1/2), pan left
    f = fields(tone_command(262 | 523 << 16, 1 << 24 | 2 << 16 | 3 << 8 | 4, 80 << 8 | 50, 1 | 2 << 2 | 1 << 4))
    assert f == {"op": 4, "voice": 1, "wave": abi.WAVES["PULSE"], "duty": abi.Q16 // 2,
                 "freq_start": 262 << 16, "freq_end": 523 << 16, "attack": 800, "decay": 1600, "sustain": 3200,
                 "release": 2400, "peak": 80 * abi.Q16 // 100 // 4, "level": 50 * abi.Q16 // 100 // 4,
                 "pan": -abi.Q16}


def test_defaults_triangle_noise_and_note_mode() -> None:
    f = fields(tone_command(440, 10, 100, 2))  # no slide, sustain only, peak 0 means 100, triangle
    assert (f["wave"], f["freq_end"], f["peak"], f["sustain"], f["voice"]) == (
        abi.WAVES["TRIANGLE"], 440 << 16, abi.Q16 // 4, 8000, 2)
    assert fields(tone_command(440, 10, 100, 3))["wave"] == abi.WAVES["NOISE"]
    note = fields(tone_command(69, 10, 100, 0x40))  # MIDI note 69 is A4
    assert note["freq_start"] == note["freq_end"] == 440 << 16


def test_the_mixer_plays_a_wasm4_tone() -> None:
    with Mixer(60) as mixer:
        out = np.frombuffer(mixer.mix(tone_command(1000, 30, 100, 2 << 2)), dtype="<i2").reshape(-1, 2)
        assert mixer.counters()["bad_commands"] == 0
    crossings = np.count_nonzero(np.diff(np.sign(out[:, 0].astype(np.int32))) != 0)
    assert 30 <= crossings <= 34, crossings  # 1000 Hz for 1/60 s: ~33 zero crossings
    assert 0 < np.abs(out).max() <= 32767 // 4 + 1
