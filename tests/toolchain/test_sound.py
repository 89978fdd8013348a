"""Sound at build time: the shipped mixer module is its source's build, and `layerw build` turns
WAV (and Ogg Vorbis) into the canonical form or refuses the asset with a SoundError."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi, pcm
from layerw.errors import SoundError
from layerw.toolchain import mixer, sound
from layerw.toolchain.build import build
from tests.runtime.sound.game import blip, game_dir, write_wav


def wav_bytes(frames: np.ndarray, rate: int = 48000) -> bytes:
    path = io.BytesIO()
    import wave

    with wave.open(path, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.astype("<i2").tobytes())
    return path.getvalue()


def test_shipped_mixer_is_its_source_built() -> None:
    """Fails after lw_mixer.c or the ABI changed until `python -m layerw.toolchain.mixer` rebuilt it."""
    assert mixer.MODULE.read_bytes() == mixer.build_mixer(), "web/mixer.wasm is stale: run python -m layerw.toolchain.mixer"


def test_canonical_source_converts_bit_for_bit() -> None:
    assert np.array_equal(pcm.decode("a.wav", sound.convert("a.wav", wav_bytes(blip()))), blip())


def test_mono_22050_source_is_resampled_within_tolerance() -> None:
    """Resampled to 48 kHz stereo: both channels follow the source linearly interpolated to within
    2 % of full scale (RMS), once shifted by the resampler's low-pass delay of at most 8 frames
    (0.17 ms) — the tolerance this test states for resampled assets."""
    mono = blip(rate=22050, channels=1)
    out = pcm.decode("m.wav", sound.convert("m.wav", wav_bytes(mono, 22050))).astype(np.float64)
    assert abs(len(out) - len(mono) * 48000 / 22050) <= 2
    assert np.array_equal(out[:, 0], out[:, 1])
    expect = np.interp(np.arange(len(out)) * 22050 / 48000, np.arange(len(mono)), mono[:, 0].astype(np.float64))
    rms = min(np.sqrt(np.mean((out[16:, 0] - np.roll(expect, delay)[16:]) ** 2)) / 32768 for delay in range(9))
    assert rms < 0.02, rms


def _ogg_page(flags: int, body: bytes) -> bytes:
    return b"OggS\0" + bytes([flags]) + bytes(20) + bytes([1, len(body)]) + body


CASES = {
    "empty file": ("x.wav", b"", "not a RIFF WAVE"),
    "truncated wav": ("x.wav", wav_bytes(blip())[:5000], "truncated"),
    "wav with no samples": ("x.wav", wav_bytes(blip()[:0]), "no samples"),
    "text named .wav": ("x.wav", b"RIFF\x10\0\0\0WAVEjunkjunkjunk!", "truncated"),
    "wav of an unknown codec": ("x.wav", wav_bytes(blip())[:20] + struct.pack("<H", 0x55) + wav_bytes(blip())[22:],
                                "no samples"),  # dr_wav decodes an unknown codec as nothing
    "not ogg": ("x.ogg", b"ID3\x04" + bytes(100), "not an Ogg stream"),
    "cut ogg": ("x.ogg", _ogg_page(2, b"\x01vorbis" + bytes(22)) + b"OggS\0\0", "truncated"),
    "ogg without end of stream": ("x.ogg", _ogg_page(2, b"\x01vorbis" + bytes(22)), "truncated"),
    "ogg that is not vorbis": ("x.ogg", _ogg_page(6, b"\x01notvorbis" + bytes(20)), "cannot be decoded"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_sound_assets_are_refused(case: str) -> None:
    name, data, message = CASES[case]
    with pytest.raises(SoundError, match=message):
        sound.convert(name, data)


def test_oversized_source_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sound, "MAX_SOURCE_BYTES", 1000)
    with pytest.raises(SoundError, match="above 1000"):
        sound.convert("big.wav", wav_bytes(blip()))


def test_too_long_sound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcm, "MAX_FRAMES", 100)
    with pytest.raises(SoundError, match="long, above"):
        sound.convert("long.wav", wav_bytes(blip()))


def test_build_refuses_a_bad_or_unknown_sound_and_writes_nothing(tmp_path: Path) -> None:
    src = game_dir(tmp_path / "src", blip_wav=b"RIFF\0\0\0\0WAVE")
    with pytest.raises(SoundError, match="blip.wav"):
        build(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    write_wav(src / "assets" / "blip.wav", blip())
    (src / "assets" / "music.mp3").write_bytes(b"ID3" + bytes(64))
    with pytest.raises(SoundError, match="WAV or Ogg Vorbis"):
        build(src, tmp_path / "out")


@pytest.mark.parametrize("mutate", ["header", "length", "size"])
def test_hosts_load_only_the_canonical_form(mutate: str) -> None:
    data = bytearray(pcm.encode(blip()))
    if mutate == "header":
        struct.pack_into("<I", data, 24, 44100)
    elif mutate == "length":
        data = data[:-2]
    else:
        struct.pack_into("<I", data, 40, abi.MAX_SOUND_BYTES + 4)
    with pytest.raises(SoundError):
        pcm.decode("x.wav", bytes(data))


OGG_MIN_SNR_DB = 20.0  # Vorbis at libsndfile's default quality on asteroids' music: ~26 dB


def test_ogg_asset_decodes_to_its_source(built: Callable[[Path], Path]) -> None:
    """Asteroids' music.ogg (Vorbis, made by games/asteroids/make_assets.py from music_frames()) built
    by `layerw build` is its source: same length, aligned (no shift matches better), and within
    OGG_MIN_SNR_DB of signal to noise (Vorbis is lossy)."""
    import importlib.util

    from tests.conftest import GAMES

    spec = importlib.util.spec_from_file_location("make_assets", GAMES / "asteroids" / "make_assets.py")
    assert spec is not None and spec.loader is not None
    make_assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_assets)
    source = make_assets.music_frames()
    canonical = (built(GAMES / "asteroids") / "assets" / "music.ogg").read_bytes()
    decoded = pcm.decode("music.ogg", canonical).astype(np.float64) / 32768
    assert decoded.shape == source.shape

    def snr(shift: int) -> float:
        got, want = decoded[max(shift, 0):len(decoded) + min(shift, 0)], source[max(-shift, 0):len(source) - max(shift, 0)]
        return float(10 * np.log10((want ** 2).sum() / ((got - want) ** 2).sum()))

    aligned = snr(0)
    print(f"music.ogg: {len(source)} frames, SNR {aligned:.1f} dB")
    assert aligned >= OGG_MIN_SNR_DB
    assert all(snr(s) < aligned for s in (-2, -1, 1, 2))
