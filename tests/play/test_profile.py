"""`layerw run --profile N OUT`: a Chrome trace (Trace Event Format) of N frames, each with its tick,
sound, render and present spans, and the guest functions inside them named from the build's symbols
(tests/runtime/crash/crash.c with seed 4 spends its ticks in churn() from tick 3 on)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerw.cli import main
from layerw.errors import ConfigError
from tests.runtime.test_symbols import CRASH, line_of

HEAVY = 4
FRAMES = 6


def inside(event: dict[str, Any], outer: dict[str, Any]) -> bool:
    slack = 0.01  # rounding to 3 decimals of a microsecond
    return outer["ts"] - slack <= event["ts"] and event["ts"] + event["dur"] <= outer["ts"] + outer["dur"] + slack


def test_profile_writes_frames_and_guest_functions(built: Callable[[Path], Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trace.json"
    assert main(["run", str(built(CRASH)), "--profile", str(FRAMES), str(out), "--seed", str(HEAVY)]) == 0
    assert f"profile {out} ({FRAMES} frames" in capsys.readouterr().out
    trace = json.loads(out.read_text())
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    by_name = {name: [e for e in spans if e["name"] == name] for name in ("frame", "tick", "sound", "render", "present")}
    assert all(len(events) == FRAMES for events in by_name.values()), {k: len(v) for k, v in by_name.items()}
    for frame, *parts in zip(*by_name.values(), strict=True):
        assert all(inside(part, frame) for part in parts)
        assert [p["ts"] for p in parts] == sorted(p["ts"] for p in parts)  # tick, sound, render, present in order
    guest = [e for e in spans if e["cat"] == "guest"]
    churn = [e for e in guest if e["name"] == "churn"]
    assert len(churn) == FRAMES - 3, [e["name"] for e in guest]  # one merged slice per heavy tick
    assert all(e["args"]["source"] == f"crash.c:{line_of('churn')}" for e in churn), churn[0]
    ticks = by_name["tick"]
    assert all(any(inside(e, t) for t in ticks) for e in churn)
    # the stack above it: lw_tick (the runtime's export) > lw_game_tick > churn, nested in time
    callers = [e for e in guest if e["name"] == "lw_game_tick"]
    assert all(any(inside(c, caller) for caller in callers) for c in churn)
    assert "fuel" in trace["otherData"]["sampling"]


def test_profile_wants_a_positive_frame_count(built: Callable[[Path], Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(built(CRASH)), "--profile", "0", str(tmp_path / "t.json")]) == 1
    said = capsys.readouterr()
    assert f"{ConfigError.__name__}: --profile N: '0' is not a positive whole number" in said.out + said.err
    assert not (tmp_path / "t.json").exists()
