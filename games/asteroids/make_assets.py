"""Generate asteroids' assets (run: .venv/bin/python games/asteroids/make_assets.py; the music needs
the `soundfile` dev dependency: pip install -e '.[dev]').

assets/ship.png      32x32, the ship pointing right (+x), so sprite rotation = heading.
assets/asteroid.png  192x64 sheet of three 64x64 rock variants, light grey so a tint colours them.
assets/music.ogg     a 16 s synthesized loop (bass, arpeggio, hi-hat), Ogg Vorbis: `layerw build`
                     decodes it to the canonical WAV the game streams from the store while it plays.
"""

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "assets"
K = 4  # supersampling factor


def ship() -> Image.Image:
    s = 32 * K
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    p = lambda x, y: (x * K, y * K)
    hull = [p(30, 16), p(4, 4), p(9, 16), p(4, 28)]
    d.polygon(hull, fill=(210, 220, 235, 255), outline=(120, 140, 170, 255), width=K)
    d.polygon([p(4, 4), p(12, 9), p(9, 16)], fill=(90, 150, 230, 255))   # wings
    d.polygon([p(4, 28), p(12, 23), p(9, 16)], fill=(90, 150, 230, 255))
    d.ellipse((p(15, 13) + p(21, 19)), fill=(60, 220, 255, 255))          # cockpit
    return img.resize((32, 32), Image.LANCZOS)


def rock(rng: random.Random) -> Image.Image:
    s = 64 * K
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = s / 2
    n = 13
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n + rng.uniform(-0.15, 0.15)
        r = s * rng.uniform(0.36, 0.48)
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=(170, 165, 160, 255), outline=(230, 230, 225, 255), width=2 * K)
    for _ in range(5):  # craters
        a, r = rng.uniform(0, 2 * math.pi), rng.uniform(0, s * 0.22)
        x, y, cr = c + r * math.cos(a), c + r * math.sin(a), rng.uniform(s * 0.04, s * 0.09)
        d.ellipse((x - cr, y - cr, x + cr, y + cr), fill=(120, 115, 112, 255))
        d.arc((x - cr, y - cr, x + cr, y + cr), 200, 380, fill=(205, 200, 195, 255), width=K)
    return img.resize((64, 64), Image.LANCZOS)


MUSIC_RATE = 48000
BEAT_FRAMES = MUSIC_RATE // 4  # 240 beats a minute: sixteenth-note feel at 60 bpm
BASS = [45, 45, 48, 50, 41, 41, 43, 40]  # MIDI notes, two beats each (A minor, slow)
ARP = [0, 7, 12, 15]  # above the bass, one a beat


def _note(midi: int, frames: int, kind: str) -> np.ndarray:
    """One note, its envelope ending at 0 so the loop joins without a click."""
    t = np.arange(frames) / MUSIC_RATE
    f = 440.0 * 2 ** ((midi - 69) / 12)
    phase = (f * t) % 1.0
    wave = 4 * np.abs(phase - 0.5) - 1 if kind == "triangle" else np.where(phase < 0.25, 1.0, -1.0) * 0.6
    attack = np.minimum(1.0, t / 0.01)
    decay = np.exp(-t * (3 if kind == "triangle" else 9))
    tail = np.minimum(1.0, (frames - np.arange(frames)) / (0.005 * MUSIC_RATE))
    return wave * attack * decay * tail


def music_frames() -> np.ndarray:
    """The music loop, frames x 2 float in -1..1 (deterministic: no randomness but a seeded one)."""
    frames = len(BASS) * 2 * 4 * BEAT_FRAMES  # each bass note lasts two bars of four beats
    left, right = np.zeros(frames), np.zeros(frames)
    rng = np.random.default_rng(13)
    for i, bass in enumerate(BASS):
        start = i * 8 * BEAT_FRAMES
        note = _note(bass - 12, 8 * BEAT_FRAMES, "triangle") * 0.45
        left[start:start + len(note)] += note
        right[start:start + len(note)] += note
        for j in range(8):
            at = start + j * BEAT_FRAMES
            arp = _note(bass + 12 + ARP[j % 4], BEAT_FRAMES, "pulse") * 0.12
            pan = 0.5 + 0.4 * math.sin(j * math.pi / 4)
            left[at:at + BEAT_FRAMES] += arp * (1 - pan)
            right[at:at + BEAT_FRAMES] += arp * pan
            hat = rng.standard_normal(BEAT_FRAMES // 8) * np.exp(-np.arange(BEAT_FRAMES // 8) / 300) * 0.05
            left[at:at + len(hat)] += hat
            right[at:at + len(hat)] += hat
    return np.stack([left, right], axis=1)


def write_music(path: Path) -> None:
    import soundfile  # a dev dependency (pyproject [dev]): libsndfile's Vorbis encoder

    soundfile.write(str(path), music_frames(), MUSIC_RATE, format="OGG", subtype="VORBIS")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    ship().save(OUT / "ship.png", optimize=True)
    rng = random.Random(7)
    sheet = Image.new("RGBA", (192, 64), (0, 0, 0, 0))
    for i in range(3):
        sheet.paste(rock(rng), (64 * i, 0))
    sheet.save(OUT / "asteroid.png", optimize=True)
    write_music(OUT / "music.ogg")
    print("wrote", OUT / "ship.png", OUT / "asteroid.png", OUT / "music.ogg")
