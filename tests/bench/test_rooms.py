"""The rooms benchmark's reading of the server's lateness histogram (all rooms' ticks pooled)."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from bench.rooms import pooled_lateness
from layerw.observability.metrics import Metrics


def _scrape(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_pooled_p99_and_share_within_the_goal_come_from_the_growth_between_scrapes() -> None:
    metrics = Metrics()
    for _ in range(500):  # before the run: must not count
        metrics.tick_lateness.labels("pong").observe(0.2)
    before = _scrape(metrics)
    for game in ("pong", "asteroids"):  # pooled over games and rooms
        for _ in range(495):
            metrics.tick_lateness.labels(game).observe(0.0004)
        for _ in range(5):
            metrics.tick_lateness.labels(game).observe(0.0045)
    pooled = pooled_lateness(before, _scrape(metrics))
    assert pooled["ticks"] == 1000
    assert pooled["within_goal"] == 1.0
    assert 0.0005 * 1e3 <= pooled["p99_ms"] <= 0.0005 * 1e3 + 1e-9  # the 990th tick is in the first bucket

    for _ in range(20):
        metrics.tick_lateness.labels("pong").observe(0.007)  # now 2 % of ticks are past the goal
    later = pooled_lateness(before, _scrape(metrics))
    assert later["within_goal"] == pytest.approx(1000 / 1020)
    assert 5.0 < later["p99_ms"] <= 8.0  # inside the (5 ms, 8 ms] bucket


def test_no_ticks_between_scrapes_is_an_error() -> None:
    metrics = Metrics()
    metrics.tick_lateness.labels("pong").observe(0.001)
    text = _scrape(metrics)
    with pytest.raises(RuntimeError, match="no room ticked"):
        pooled_lateness(text, text)
