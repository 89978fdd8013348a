"""Sound: ``layerw build`` converts every WAV and Ogg Vorbis asset to the canonical form the mixer
plays (``layerw.pcm``: 48 kHz stereo s16 WAV, same name), decoding and resampling once here with
miniaudio (dr_wav, stb_vorbis), so hosts never decode. Corrupt, truncated, empty, oversized or
unknown input is a ``SoundError`` naming the asset.
"""

from __future__ import annotations

import struct
from pathlib import Path

import miniaudio
import numpy as np

from layerw import abi, pcm
from layerw.errors import SoundError

MAX_SOURCE_BYTES = 64 << 20  # a compressed or PCM source file
UNSUPPORTED_SUFFIXES = (".mp3", ".flac", ".aif", ".aiff", ".opus", ".m4a", ".aac", ".wma", ".mid", ".midi")


def _check_wav(name: str, data: bytes) -> None:
    """A RIFF WAV's chunks all lie inside the file (dr_wav decodes a truncated one without a word)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SoundError(f"sound asset {name!r} is not a RIFF WAVE file")
    at = 12
    while at + 8 <= len(data):
        tag, size = struct.unpack_from("<4sI", data, at)
        if at + 8 + size > len(data):
            raise SoundError(f"sound asset {name!r} is truncated: its {tag.decode('latin-1')!r} chunk "
                             f"needs {size} bytes, {len(data) - at - 8} remain")
        at += 8 + size + (size & 1)


def _check_ogg(name: str, data: bytes) -> None:
    """An Ogg stream ends with a whole page flagged end-of-stream (stb_vorbis decodes a cut one)."""
    if data[:4] != b"OggS":
        raise SoundError(f"sound asset {name!r} is not an Ogg stream")
    last = data.rfind(b"OggS")
    if last + 27 > len(data):
        raise SoundError(f"sound asset {name!r} is truncated: its last Ogg page is cut off")
    flags, segments = data[last + 5], data[last + 26]
    body = sum(data[last + 27:last + 27 + segments])
    if last + 27 + segments + body != len(data) or not flags & 0x04:
        raise SoundError(f"sound asset {name!r} is truncated: it does not end with a whole end-of-stream Ogg page")


def convert(name: str, data: bytes) -> bytes:
    """Sound asset ``name`` (WAV or Ogg Vorbis bytes) in the canonical form."""
    suffix = Path(name).suffix.lower()
    if len(data) > MAX_SOURCE_BYTES:
        raise SoundError(f"sound asset {name!r} is {len(data)} bytes, above {MAX_SOURCE_BYTES}: shorten or compress it")
    (_check_wav if suffix == ".wav" else _check_ogg)(name, data)
    try:
        decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=abi.CHANNELS,
                                   sample_rate=abi.SAMPLE_RATE)
    except miniaudio.MiniaudioError as e:
        raise SoundError(f"sound asset {name!r} cannot be decoded as {suffix[1:].upper()}: {e}") from e
    frames = np.frombuffer(decoded.samples, dtype=np.int16).reshape(-1, abi.CHANNELS)
    if len(frames) == 0:
        raise SoundError(f"sound asset {name!r} holds no samples")
    if len(frames) > pcm.MAX_FRAMES:
        raise SoundError(f"sound asset {name!r} is {len(frames) / abi.SAMPLE_RATE:.0f} s long, above the mixer's "
                         f"{pcm.MAX_FRAMES / abi.SAMPLE_RATE:.0f} s")
    return pcm.encode(frames)


def convert_tree(assets: Path) -> int:
    """Convert every sound under ``assets`` in place; refuse sound formats the mixer does not take.
    Returns how many sounds it converted."""
    count = 0
    for path in sorted(p for p in assets.rglob("*") if p.is_file()):
        name = path.relative_to(assets).as_posix()
        if name.lower().endswith(UNSUPPORTED_SUFFIXES):
            raise SoundError(f"sound asset {name!r} is of a format layerw does not take: convert it to WAV or Ogg Vorbis")
        if pcm.is_sound(name):
            path.write_bytes(convert(name, path.read_bytes()))
            count += 1
    return count
