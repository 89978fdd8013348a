"""The soak, short: 8 players in 2 rooms for 10 s against a `layerw serve` subprocess — zero errors,
flat server memory, every frame delivered in order."""

from __future__ import annotations

from bench.soak import run_soak

RSS_GROWTH_BOUND = 16 << 20


def test_short_soak() -> None:
    result = run_soak(8, 2, 10.0, every=2.0, warm_up=2.0)
    assert result.errors == [], result.errors[:10]
    assert len(result.samples) >= 5
    assert all(s.rooms == 2 and s.clients == 8 for s in result.samples), result.samples
    assert result.rss_growth < RSS_GROWTH_BOUND, f"server RSS grew {result.rss_growth / 2**20:.1f} MiB in 10 s"
    s0, s1 = result.samples[0], result.samples[-1]
    assert (s1.frames - s0.frames) / (s1.t - s0.t) > 8 * 60 * 0.8  # every player kept receiving ~60 frames a second
