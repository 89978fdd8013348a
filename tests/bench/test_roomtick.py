"""The room tick profiler: a child on a tree (``python -P``, that tree's layerw only) gives every part."""

from __future__ import annotations

import math

from bench.roomtick import PHASES, ROOT, compare


def test_a_run_on_this_tree_times_every_part_of_a_room_tick() -> None:
    runs = compare({"this": ROOT}, rooms=2, ticks=30, rounds=1, profile="none")
    (run,) = runs["this"]
    assert run["tree"] == str(ROOT) and run["rooms"] == 2 and run["ticks"] == 30
    for phase in PHASES:
        assert math.isfinite(run[phase]) and run[phase] > 0, phase
    assert run["state_bytes"] > 0  # what a room hashes and keeps
