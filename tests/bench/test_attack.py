"""The attack bench, run tiny: two attack classes for a second each beside one legitimate room."""

from __future__ import annotations

from pathlib import Path

from bench import attack


def test_the_attack_bench_measures_and_reports_each_class(tmp_path: Path) -> None:
    rows = attack.main(["--only", "cl-te,slowloris", "--seconds", "1.5", "--settle", "0.2", "--rooms", "1"], tmp_path)
    assert [r["attack"] for r in rows] == ["cl-te", "slowloris"]
    for r in rows:
        assert 0 < int(r["rss_before"]) <= int(r["rss_peak"])  # type: ignore[call-overload]
        assert float(r["join_s"]) > 0 and float(r["baseline_join_s"]) > 0  # type: ignore[arg-type]
        assert r["endings"]
    assert any(k.startswith("http 400 closed") for k in rows[0]["endings"])  # type: ignore[attr-defined]
    assert any(k.startswith("http 503") for k in rows[1]["endings"])  # type: ignore[attr-defined]  # past 64 from one address
