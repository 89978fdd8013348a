"""ToneEvent: tone()'s packed arguments, decoded as WASM-4 documents them."""

from __future__ import annotations

from layerw.runtime.wasm4.tone import ToneEvent


def test_decode_unpacks_every_field() -> None:
    t = ToneEvent.decode(7, 262 | 523 << 16, 10 << 24 | 20 << 16 | 30 << 8 | 40, 80 << 8 | 50, 2 | 3 << 2 | 1 << 4 | 64)
    assert (t.tick, t.freq_start, t.freq_end) == (7, 262, 523)
    assert (t.attack, t.decay, t.release, t.sustain) == (10, 20, 30, 40)
    assert (t.peak, t.volume, t.channel, t.duty, t.pan, t.note_mode) == (80, 50, 2, 3, 1, True)


def test_a_zero_peak_means_full_volume_and_events_round_trip() -> None:
    t = ToneEvent.decode(0, 440, 60, 100, 0)
    assert (t.peak, t.volume, t.sustain, t.freq_end, t.note_mode) == (100, 100, 60, 0, False)
    assert ToneEvent.from_dict(t.to_dict()) == t
