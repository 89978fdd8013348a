"""POST /telemetry: browser reports are small, rate-limited per client address, counted and logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.server.edge import create_edge
from layerw.server.telemetry import RateLimit, ReportLimits, parse_report
from tests.server_thread import serving

LIMITS = ReportLimits(max_bytes=1024, per_minute=60, burst=3)
LOAD = {"kind": "load", "game": "pong", "renderer": "webgl2", "module_from": "network", "chunks_fetched": 3,
        "ms": {"manifest": 12.5, "module": 80, "first_frame": 240.0}}


@pytest.fixture
def app() -> Starlette:
    return create_app(DirCatalog([]), reports=LIMITS)


@contextmanager
def client(app: Starlette) -> Iterator[httpx.Client]:
    with serving(app) as url, httpx.Client(base_url=url) as c:
        yield c


def sample(app: Starlette, name: str, **labels: str) -> float:
    return app.state.metrics.registry.get_sample_value(name, labels) or 0.0  # type: ignore[no-any-return]


def test_a_load_report_is_counted_timed_and_logged(app: Starlette, caplog: pytest.LogCaptureFixture) -> None:
    with client(app) as c, caplog.at_level(logging.INFO, "layerw.client"):
        r = c.post("/telemetry", content=json.dumps(LOAD), headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 204
    assert sample(app, "layerw_client_reports_total", kind="load", outcome="accepted") == 1
    assert sample(app, "layerw_client_load_seconds_count", phase="first_frame") == 1
    assert sample(app, "layerw_client_load_seconds_sum", phase="module") == pytest.approx(0.08)
    [record] = caplog.records
    assert (record.game, record.client, record.renderer, record.first_frame_ms) == (  # type: ignore[attr-defined]
        "pong", "127.0.0.1", "webgl2", 240.0)


def test_an_error_report_is_logged_clipped_and_cleaned(app: Starlette, caplog: pytest.LogCaptureFixture) -> None:
    report = {"kind": "error", "game": "pong", "tick": 9, "error": "bad\x1b[31m chunk " + "x" * 600,
              "error_class": "IntegrityError", "extra": {"ignored": True}}
    with client(app) as c, caplog.at_level(logging.INFO, "layerw.client"):
        assert c.post("/telemetry", content=json.dumps(report)).status_code == 204
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.tick == 9  # type: ignore[attr-defined]
    assert record.error.startswith("bad?[31m chunk") and len(record.error) == 500  # type: ignore[attr-defined]
    assert not hasattr(record, "extra")  # unknown fields are dropped
    assert sample(app, "layerw_client_reports_total", kind="error", outcome="accepted") == 1


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"kind": "exploit"}', b"\xff\xfe", b"[" * 400 + b"]" * 400])
def test_a_body_that_is_not_a_report_is_400(app: Starlette, body: bytes) -> None:
    with client(app) as c:
        assert c.post("/telemetry", content=body).status_code == 400
    assert sample(app, "layerw_client_reports_total", kind="unknown", outcome="malformed") == 1


def test_an_oversized_report_is_413_declared_or_streamed(app: Starlette) -> None:
    big = json.dumps({**LOAD, "game": "x" * 1100}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        yield from (big[i:i + 100] for i in range(0, len(big), 100))

    with client(app) as c:
        assert c.post("/telemetry", content=big).status_code == 413
        assert c.post("/telemetry", content=chunks()).status_code == 413
    assert sample(app, "layerw_client_reports_total", kind="unknown", outcome="too_large") == 2


def test_too_frequent_reports_are_429(app: Starlette) -> None:
    with client(app) as c:
        codes = [c.post("/telemetry", content=json.dumps(LOAD)).status_code for _ in range(LIMITS.burst + 2)]
    assert codes == [204] * LIMITS.burst + [429, 429]
    assert sample(app, "layerw_client_reports_total", kind="unknown", outcome="rate_limited") == 2
    assert sample(app, "layerw_client_reports_total", kind="load", outcome="accepted") == LIMITS.burst


def test_the_rate_limit_refills_per_address_and_forgets_the_oldest() -> None:
    rate = RateLimit(ReportLimits(per_minute=60, burst=2, max_clients=3))
    assert [rate.allow("a", now=0.0) for _ in range(3)] == [True, True, False]
    assert rate.allow("b", now=0.0)  # another address has its own allowance
    assert rate.allow("a", now=1.0) and not rate.allow("a", now=1.0)  # one report a second comes back
    for address in ("c", "d", "e"):
        rate.allow(address, now=2.0)
    assert list(rate.buckets) == ["c", "d", "e"]  # bounded memory: the least recently seen went first


def test_report_fields_are_checked() -> None:
    doc = parse_report(json.dumps({"kind": "load", "game": 5, "tick": -1, "chunks_fetched": True,
                                   "ms": {"manifest": -3, "module": float("inf"), "first_frame": 1e12}}).replace(
        "Infinity", "1e400").encode())
    assert doc == {"kind": "load", "ms": {}}


def test_the_edge_takes_reports_and_serves_metrics(tmp_path: Path) -> None:
    edge = create_edge("http://127.0.0.1:9", tmp_path / "edge", 1 << 20, reports=LIMITS)
    with client(edge) as c:
        assert c.post("/telemetry", content=json.dumps(LOAD)).status_code == 204
        text = c.get("/metrics").text
    assert 'layerw_client_reports_total{kind="load",outcome="accepted"} 1.0' in text
    assert 'layerw_cache_hit_ratio{cache="edge"} 0.0' in text


def test_an_error_reports_frames_are_checked_and_clipped() -> None:
    from layerw.server.telemetry import MAX_FRAMES, parse_report

    frames = [{"offset": 0x130, "function": "f\x00" + "x" * 300, "file": 7, "line": True, "extra": "dropped"},
              "not a frame", *({"offset": i} for i in range(MAX_FRAMES + 5))]
    doc = parse_report(json.dumps({"kind": "error", "game": "g", "frames": frames}).encode())
    assert len(doc["frames"]) == MAX_FRAMES - 1  # the first MAX_FRAMES items, less the one that is no object
    first = doc["frames"][0]
    assert first == {"offset": 0x130, "function": "f?" + "x" * 126, "file": "", "line": 0}
    assert doc["frames"][1] == {"offset": 0, "function": "", "file": "", "line": 0}
