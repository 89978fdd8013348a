"""The page reports its load timings (first frame) and its failures to the server's /telemetry."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.web.conftest import PlayPage
from tests.web.store_server import store_server, wat_build


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the report never arrived"
        time.sleep(0.05)


def test_first_frame_and_failure_reports_reach_the_metrics(tmp_path: Path, play_page: Callable[..., PlayPage]) -> None:
    with store_server(tmp_path / "store") as s:
        s.publish(wat_build(tmp_path, "tiny"))
        registry = s.recorder.app.state.metrics.registry

        def reports(kind: str) -> float:
            return registry.get_sample_value("layerw_client_reports_total", {"kind": kind, "outcome": "accepted"}) or 0.0

        page = play_page().goto(s.play_url("tiny", ticks=10, fast=True))
        page.wait_stopped()
        wait_for(lambda: reports("load") == 1)
        assert registry.get_sample_value("layerw_client_load_seconds_count", {"phase": "first_frame"}) == 1
        assert registry.get_sample_value("layerw_client_load_seconds_count", {"phase": "module"}) == 1
        assert ("/telemetry", 204) in s.recorder.requests

        broken = play_page().goto(s.play_url("tiny", version="9.9.9"))
        broken.wait("window.layerw.status === 'failed'")
        wait_for(lambda: reports("error") == 1)

        quiet = play_page().goto(s.play_url("tiny", ticks=5, fast=True, telemetry=0))
        quiet.wait_stopped()
        time.sleep(0.3)
        assert reports("load") == 1  # ?telemetry=0 sends nothing
