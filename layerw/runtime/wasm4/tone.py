"""ToneEvent: one ``tone()`` call, decoded and stamped with its tick, for a synth to play.

# Spec: https://wasm4.org/docs/reference/functions#tone and /docs/guides/audio.
The cart packs its arguments: frequency = start | end << 16 (Hz, or MIDI notes in note mode:
low byte the note, high byte a bend in 1/256 semitone); duration = attack << 24 | decay << 16 |
release << 8 | sustain (ticks); volume = peak << 8 | sustain volume (0..100; a peak of 0 means
100); flags = channel (bits 0-1: pulse 1, pulse 2, triangle, noise) | duty mode << 2 (pulse
duty 12.5, 25, 50, 75 %) | pan << 4 (0 centre, 1 left, 2 right) | note mode << 6. The host only
records events; ``CartGame`` turns each tick's into its sound block (``layerw.tone``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CHANNELS = ("pulse1", "pulse2", "triangle", "noise")
DUTY_CYCLES = (0.125, 0.25, 0.5, 0.75)
PANS = ("center", "left", "right", "center")  # pan 3 is undefined; WASM-4 plays it centred
MAX_TONES_PER_TICK = 1024  # more in one tick are counted as dropped and reported, never kept


@dataclass(frozen=True)
class ToneEvent:
    tick: int
    channel: int  # 0..3, see CHANNELS
    freq_start: int  # Hz, or the note (with bend) in note mode
    freq_end: int  # 0: no slide
    attack: int  # ticks
    decay: int
    sustain: int
    release: int
    volume: int  # sustain volume, 0..100
    peak: int  # attack peak volume, 0..100 (the cart's 0 already read as 100)
    duty: int  # 0..3, see DUTY_CYCLES (pulse channels)
    pan: int  # 0 centre, 1 left, 2 right
    note_mode: bool

    @classmethod
    def decode(cls, tick: int, frequency: int, duration: int, volume: int, flags: int) -> ToneEvent:
        """The event for ``tone(frequency, duration, volume, flags)`` (u32 arguments) at ``tick``."""
        peak = (volume >> 8) & 0xFF
        return cls(tick=tick, channel=flags & 3, freq_start=frequency & 0xFFFF, freq_end=(frequency >> 16) & 0xFFFF,
                   attack=(duration >> 24) & 0xFF, decay=(duration >> 16) & 0xFF, sustain=duration & 0xFF,
                   release=(duration >> 8) & 0xFF, volume=volume & 0xFF, peak=peak if peak else 100,
                   duty=(flags >> 2) & 3, pan=(flags >> 4) & 3, note_mode=bool(flags & 64))

    def args(self) -> tuple[int, int, int, int]:
        """The u32 arguments of a ``tone()`` call this event decodes from (the bits ``decode`` ignores
        as 0, a peak of 0 as 100), for ``layerw.tone.tone_command`` to make the sound command."""
        return (self.freq_start | self.freq_end << 16,
                self.attack << 24 | self.decay << 16 | self.release << 8 | self.sustain,
                self.peak << 8 | self.volume,
                self.channel | self.duty << 2 | self.pan << 4 | int(self.note_mode) << 6)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToneEvent:
        ints = {k: int(data[k]) for k in cls.__dataclass_fields__ if k != "note_mode"}
        return cls(**ints, note_mode=bool(data["note_mode"]))
