"""WASM-4's ``tone(frequency, duration, volume, flags)`` as one sound command of the contract.

The synth's TONE record (``abi.TONE``) was drawn so that a WASM-4 tone is exactly one command:
the cart backend writes what ``tone_command`` returns into the tick's sound block, and the one
mixer plays it like any other game's tone. The mapping, field by field (WASM-4's docs, "Audio"):

    frequency   low 16 bits start Hz, high 16 bits end Hz (0: no slide)  -> freq_start, freq_end
    duration    attack << 24 | decay << 16 | release << 8 | sustain, in ticks -> the ADSR stages, in frames
    volume      peak << 8 | sustain level, 0..100 (peak 0: 100)          -> peak, level
    flags       channel (bits 0-1: pulse, pulse, triangle, noise)          -> voice 0..3 and wave
                mode (bits 2-3: duty 1/8, 1/4, 1/2, 3/4)                   -> duty
                pan (bits 4-5: centre, left, right)                        -> pan
                note mode (bit 6: frequencies are MIDI notes, the high byte of each a fraction) -> Hz

WASM-4 mixes its four channels into one output, so a channel at volume 100 is a quarter of full scale.
Spec: https://wasm4.org/docs/reference/functions#tonefrequency-duration-volume-flags
"""

from __future__ import annotations

import struct

from layerw import abi

CHANNEL_WAVES = (abi.WAVES["PULSE"], abi.WAVES["PULSE"], abi.WAVES["TRIANGLE"], abi.WAVES["NOISE"])
DUTIES = (abi.Q16 // 8, abi.Q16 // 4, abi.Q16 // 2, abi.Q16 * 3 // 4)
PANS = (0, -abi.Q16, abi.Q16, 0)
CHANNEL_SCALE = 4  # four channels at full volume never clip
TONE_OP = next(op for op in abi.SOUND_OPS if op.name == "TONE")


def _hz(value: int, note: bool) -> int:
    """A 16-bit WASM-4 frequency as Q16.16 Hz: Hz, or in note mode a MIDI note plus 1/256ths."""
    if not note:
        return value << 16
    semitones = (value & 0xFF) + (value >> 8) / 256
    return round(440.0 * 2 ** ((semitones - 69) / 12) * abi.Q16)


def tone_command(frequency: int, duration: int, volume: int, flags: int, tick_rate: int = 60) -> bytes:
    """The sound command (header + TONE record) that plays WASM-4's ``tone`` with these arguments."""
    frequency, duration, volume, flags = (v & 0xFFFFFFFF for v in (frequency, duration, volume, flags))
    channel, note = flags & 3, bool(flags & 0x40)
    start, end = frequency & 0xFFFF, frequency >> 16
    per_tick = abi.SAMPLE_RATE // tick_rate
    attack, decay, release, sustain = ((duration >> s) & 0xFF for s in (24, 16, 8, 0))
    level, peak = volume & 0xFF, (volume >> 8) & 0xFF or 100

    def q16(percent: int) -> int:
        return min(percent, 100) * abi.Q16 // 100 // CHANNEL_SCALE

    record = (CHANNEL_WAVES[channel], DUTIES[(flags >> 2) & 3], _hz(start, note), _hz(end or start, note),
              attack * per_tick, decay * per_tick, sustain * per_tick, release * per_tick,
              q16(peak), q16(level), PANS[(flags >> 4) & 3])
    header = struct.pack("<4I", TONE_OP.code, channel, 0, 0)
    return header + struct.pack("<8I3i", *record)
