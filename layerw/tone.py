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
The browser's copy is web/wasm4-tone.js (``toneCommand``), byte for byte (tests/test_tone.py runs both).
Spec: https://wasm4.org/docs/reference/functions#tonefrequency-duration-volume-flags
"""

from __future__ import annotations

import math
import struct

from layerw import abi

CHANNEL_WAVES = (abi.WAVES["PULSE"], abi.WAVES["PULSE"], abi.WAVES["TRIANGLE"], abi.WAVES["NOISE"])
DUTIES = (abi.Q16 // 8, abi.Q16 // 4, abi.Q16 // 2, abi.Q16 * 3 // 4)
PANS = (0, -abi.Q16, abi.Q16, 0)
CHANNEL_SCALE = 4  # four channels at full volume never clip
TONE_OP = next(op for op in abi.SOUND_OPS if op.name == "TONE")
COMMAND_SIZE = abi.SOUND_HEADER.size + abi.TONE.size  # bytes of one tone command
LN2 = 0.6931471805599453  # math.log(2), written out as JavaScript reads it
SERIES_TERMS = 20  # x ** 20 / 20! < 1e-21 for x < ln 2
U32 = 0xFFFFFFFF


def _exp2(fraction: float) -> float:
    """2 ** ``fraction`` for 0 <= fraction < 1, by a fixed series in +, * and / only: IEEE-754 rounds
    those exactly, so JavaScript's copy (web/wasm4-tone.js) gets the same bits (a library pow may not)."""
    x, s = fraction * LN2, 1.0
    for n in range(SERIES_TERMS, 0, -1):
        s = 1 + x / n * s
    return s


def _hz(value: int, note: bool) -> int:
    """A 16-bit WASM-4 frequency as Q16.16 Hz: Hz, or in note mode a MIDI note (low byte) plus
    1/256ths of a semitone (high byte), from A4 = 440 Hz; at most a u32 (the mixer clamps to Nyquist)."""
    if not note:
        return value << 16
    octaves, step = divmod((value & 0xFF) * 256 + (value >> 8) - 69 * 256, 12 * 256)
    a4 = (440 << 16) * (2 ** octaves if octaves >= 0 else 1 / (1 << -octaves))  # exact: a power of two
    return min(math.floor(a4 * _exp2(step / (12 * 256)) + 0.5), U32)


def tone_command(frequency: int, duration: int, volume: int, flags: int, tick_rate: int = 60) -> bytes:
    """The sound command (header + TONE record) that plays WASM-4's ``tone`` with these arguments."""
    frequency, duration, volume, flags = (v & U32 for v in (frequency, duration, volume, flags))
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
