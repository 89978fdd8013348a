"""The sound test game (sound.c, built by the project's toolchain) and its blip asset; its seed
picks what it plays."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np

from layerw.toolchain.build import build

HERE = Path(__file__).parent
SCORE, FLOOD, ABSURD, GARBAGE, PLAYBACK = range(5)
BLIP_FRAMES = 4800  # 0.1 s
# Space held at ticks 20-23 and 70-71: input-driven sounds in the score
RECORDING = [{"tick": 20, "down": ["Space"]}, {"tick": 24, "up": ["Space"]},
             {"tick": 70, "down": ["Space"]}, {"tick": 72, "up": ["Space"]}]


def blip(rate: int = 48000, channels: int = 2) -> np.ndarray:
    """A decaying two-tone chirp (frames x channels int16), different left and right."""
    n = BLIP_FRAMES * rate // 48000
    t = np.arange(n) / rate
    left = np.sin(2 * np.pi * (300 + 2000 * t) * t) * np.exp(-8 * t)
    right = np.sin(2 * np.pi * 700 * t) * np.exp(-5 * t) * 0.7
    both = np.stack([left, right], axis=1)[:, :channels]
    return np.round(both * 30000).astype(np.int16)


def write_wav(path: Path, frames: np.ndarray, rate: int = 48000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.astype("<i2").tobytes())


def game_dir(root: Path, *, tick_rate: int = 60, blip_wav: bytes | None = None) -> Path:
    """A game directory: sound.c, layerw.toml and assets/blip.wav (48 kHz stereo unless given)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "sound.c", root / "sound.c")
    (root / "assets").mkdir(exist_ok=True)
    if blip_wav is None:
        write_wav(root / "assets" / "blip.wav", blip())
    else:
        (root / "assets" / "blip.wav").write_bytes(blip_wav)
    (root / "layerw.toml").write_text(f'[game]\nname = "sound"\nversion = "1.0.0"\ntick_rate = {tick_rate}\n\n'
                                      '[assets]\npreload = ["blip.wav"]\n\n[limits]\nmemory_mb = 16\ntick_ms = 200\n')
    return root


def build_game(root: Path, **kw: object) -> Path:
    return build(game_dir(root / "src", **kw), root / "build").out  # type: ignore[arg-type]
