"""The canonical sound asset: what ``layerw build`` turns every WAV and Ogg Vorbis asset into,
and the only form hosts load into the mixer.

It is a plain RIFF WAV file of ``abi.SAMPLE_RATE`` Hz stereo s16 PCM with the 44-byte header
(still playable by any tool, and it keeps its source's name), read strictly: anything else is a
``SoundError``. Decoding and resampling happen once, at build time, so hosts never decode.
"""

from __future__ import annotations

import struct

import numpy as np

from layerw import abi
from layerw.errors import SoundError

SOUND_SUFFIXES = (".wav", ".ogg")
HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
BLOCK_ALIGN = abi.CHANNELS * 2
MAX_FRAMES = abi.MAX_SOUND_BYTES // BLOCK_ALIGN


def is_sound(name: str) -> bool:
    return name.lower().endswith(SOUND_SUFFIXES)


def encode(frames: np.ndarray) -> bytes:
    """``frames`` (n x 2 int16) as a canonical WAV file."""
    data = np.ascontiguousarray(frames, dtype="<i2").reshape(-1, abi.CHANNELS).tobytes()
    header = HEADER.pack(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, abi.CHANNELS, abi.SAMPLE_RATE,
                         abi.SAMPLE_RATE * BLOCK_ALIGN, BLOCK_ALIGN, 16, b"data", len(data))
    return header + data


def decode(name: str, data: bytes) -> np.ndarray:
    """The frames (n x 2 int16, a view of ``data``) of canonical sound asset ``name``."""
    if len(data) < HEADER.size:
        raise SoundError(f"sound asset {name!r} is truncated ({len(data)} bytes): rebuild it with `layerw build`")
    riff, riff_size, wave, fmt, fmt_size, kind, channels, rate, byte_rate, align, bits, tag, size = HEADER.unpack_from(data)
    if (riff, wave, fmt, tag, fmt_size, kind, channels, rate, byte_rate, align, bits) != (
            b"RIFF", b"WAVE", b"fmt ", b"data", 16, 1, abi.CHANNELS, abi.SAMPLE_RATE,
            abi.SAMPLE_RATE * BLOCK_ALIGN, BLOCK_ALIGN, 16):
        raise SoundError(f"sound asset {name!r} is not in the canonical form (48 kHz stereo s16 WAV): "
                         "rebuild it with `layerw build`")
    if riff_size != 36 + size or len(data) != HEADER.size + size or size % BLOCK_ALIGN or size == 0:
        raise SoundError(f"sound asset {name!r} holds {len(data) - HEADER.size} data bytes, its header says {size}")
    if size // BLOCK_ALIGN > MAX_FRAMES:
        raise SoundError(f"sound asset {name!r} is {size} bytes, above the mixer's {abi.MAX_SOUND_BYTES}")
    return np.frombuffer(data, dtype="<i2", offset=HEADER.size).reshape(-1, abi.CHANNELS)
