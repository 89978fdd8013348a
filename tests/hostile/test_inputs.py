"""Input recordings (``--inputs FILE``) from anywhere: loading one gives a Recording or InputError,
and a loaded recording applies at every tick without any other error."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerw import abi
from layerw.errors import InputError
from layerw.runtime.inputs import InputState, Recording
from tests.hostile.harness import fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
keys = st.sampled_from(["KeyW", "ArrowUp", "Space", "Nope", ""]) | st.integers(-5, 300) | json_values
changes = st.fixed_dictionaries(
    {"tick": st.integers(-3, 40) | json_values},
    optional={"player": st.integers(-2, 6) | json_values,
              "down": st.lists(keys, max_size=3) | json_values, "up": st.lists(keys, max_size=3) | json_values,
              "pointer": st.lists(st.floats() | st.integers(-(2**40), 2**40) | json_values, max_size=4) | json_values,
              "gamepad": st.integers(-1, 5) | json_values,
              "buttons": st.lists(st.sampled_from(["A", "B", "X", "Zz"]) | json_values, max_size=3) | json_values,
              "axes": st.lists(st.floats() | json_values, max_size=8) | json_values})
lines = st.one_of(changes.map(json.dumps), json_values.map(json.dumps), st.text(max_size=40))


def load(text: str) -> Recording | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inputs.jsonl"
        path.write_text(text, errors="surrogateescape")
        try:
            return Recording.load(path)
        except InputError:
            return None


@fuzz(300)
@given(st.lists(lines, max_size=6))
def test_recordings_load_or_refuse_and_then_apply(text: list[str]) -> None:
    rec = load("\n".join(text))
    if rec is None:
        return
    state = InputState(abi.MAX_PLAYERS)
    for tick in range(0, 41):
        rec.apply(state, tick)  # anything malformed was refused by load
    assert len(state.pack(40, [])) == abi.INPUT.size


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # nesting deeper than the JSON parser's recursion
    '{"tick": 1e999}',  # infinity
    '{"tick": 1, "pointer": "xy"}',
    '{"tick": 1, "pointer": [1e999, 2, 99999999999999]}',
    '{"tick": 1, "gamepad": 0, "buttons": "AQ"}',
    '{"tick": 1, "down": [[1]]}',
    '{"tick": 1, "player": 1e999}',
    '{"tick": 1, "pointer": [0, 3.5e38]}',  # past float32
    '{"tick": 1, "gamepad": 0, "axes": [-3.5e38]}',
    "\udcff\udcfe",  # not UTF-8
])
def test_malformed_lines_are_input_errors(text: str) -> None:
    assert load(text) is None
