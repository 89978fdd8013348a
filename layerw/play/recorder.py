"""WavRecorder: a game's mix written to a WAV file as it plays (``layerw run --audio out.wav``).

The runner hands it what ``GameHost.take_samples`` returns (48 kHz stereo s16, as the mixer made
it); the file is a plain PCM WAV written by the standard library's ``wave`` module.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Self

from layerw import abi


class WavRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = 0
        self._file = wave.open(str(path), "wb")  # noqa: SIM115 - closed by close()
        self._file.setnchannels(abi.CHANNELS)
        self._file.setsampwidth(2)
        self._file.setframerate(abi.SAMPLE_RATE)

    def write(self, samples: bytes) -> None:
        """Append interleaved s16 LE frames."""
        self._file.writeframesraw(samples)
        self.frames += len(samples) // (2 * abi.CHANNELS)

    def close(self) -> None:
        self._file.close()  # patches the header's lengths; closing twice is harmless

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
