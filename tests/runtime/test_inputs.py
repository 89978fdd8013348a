"""Inputs: the packed struct and recordings; bad recordings are typed errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.errors import InputError
from layerw.runtime.assets import Event
from layerw.runtime.inputs import InputState, Recording


def test_pack_layout() -> None:
    state = InputState(players=2)
    state.key(1, "KeyW", True)
    state.pointer(0, 10.5, 20.0, abi.POINTER_BUTTONS["LEFT"])
    state.gamepad(1, 2, ["A", "START"], [0.5, -1.0])
    data = state.pack(7, [Event(7, abi.EVENTS["ASSET_READY"], 0, 3, 0)])
    assert len(data) == abi.INPUT.size
    rec = np.frombuffer(data, dtype=abi.INPUT.dtype)[0]
    assert (rec["tick"], rec["player_count"], rec["event_count"]) == (7, 2, 1)
    w = abi.KEYS.index("KeyW")
    assert rec["players"][1]["keys"][w >> 5] == 1 << (w & 31)
    assert rec["players"][0]["pointer"]["x"] == 10.5
    pad = rec["players"][1]["gamepads"][2]
    assert pad["buttons"] == (1 << abi.PAD_BUTTONS.index("A")) | (1 << abi.PAD_BUTTONS.index("START"))
    assert pad["axes"][:2].tolist() == [0.5, -1.0]
    assert rec["events"][0]["a"] == 3
    state.key(1, "KeyW", False)
    assert np.frombuffer(state.pack(8, []), dtype=abi.INPUT.dtype)[0]["players"][1]["keys"].sum() == 0


@pytest.mark.parametrize("call", [
    lambda s: s.key(0, "NoSuchKey", True),
    lambda s: s.key(9, "KeyW", True),
    lambda s: s.gamepad(0, 4, [], []),
    lambda s: s.gamepad(0, 0, ["Z"], []),
    lambda s: s.pack(0, [Event(0, 1)] * (abi.MAX_EVENTS + 1)),
])
def test_bad_input_is_input_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        call(InputState())


def test_recording_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text('{"tick": 2, "down": ["Space"]}\n\n{"tick": 5, "up": ["Space"], "pointer": [1, 2]}\n')
    rec, state = Recording.load(path), InputState()
    space = abi.KEYS.index("Space")
    seen = []
    for tick in range(7):
        rec.apply(state, tick)
        seen.append(bool(state.record["players"][0]["keys"][space >> 5] & (1 << (space & 31))))
    assert seen == [False, False, True, True, True, False, False]


@pytest.mark.parametrize("text", ["not json\n", '{"down": ["KeyW"]}\n', '{"tick": -1}\n', '[1, 2]\n'])
def test_malformed_recording_names_the_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"tick": 0}\n' + text)
    with pytest.raises(InputError, match="bad.jsonl:2"):
        Recording.load(path)


def test_set_devices_replaces_a_players_state() -> None:
    state = InputState()
    state.key(0, "KeyA", True)
    w, up = abi.KEYS.index("KeyW"), abi.KEYS.index("ArrowUp")
    state.set_devices(0, {"keys": {w, up}, "pointer": {"x": 3.0, "y": 4.0, "buttons": 1, "inside": 1},
                          "gamepads": [{"connected": 1, "buttons": [True, False, True], "axes": [0.25]}]})
    rec = np.frombuffer(state.pack(0, []), dtype=abi.INPUT.dtype)[0]["players"][0]
    expected = np.zeros(abi.KEY_WORDS, dtype=np.uint32)
    for code in (w, up):
        expected[code >> 5] |= np.uint32(1 << (code & 31))
    assert rec["keys"].tolist() == expected.tolist()
    assert (rec["pointer"]["x"], rec["pointer"]["buttons"]) == (3.0, 1)
    assert (rec["gamepads"][0]["connected"], rec["gamepads"][0]["buttons"], rec["gamepads"][0]["axes"][0]) == (1, 0b101, 0.25)
    state.set_devices(0, {"keys": frozenset(), "pointer": None, "gamepads": []})
    assert np.frombuffer(state.pack(1, []), dtype=abi.INPUT.dtype)[0]["players"][0]["keys"].sum() == 0


@pytest.mark.parametrize("line, match", [
    ('{"tick": 3, "dwon": ["KeyW"]}', r"bad.jsonl:3: unknown field 'dwon'; a change has tick, player, down"),
    ('{"tick": "5"}', r"bad.jsonl:3: 'tick' must be an integer >= 0, got 5"),
    ('{"tick": 5.5}', r"bad.jsonl:3: 'tick' must be an integer >= 0"),
    ('{"tick": true}', r"bad.jsonl:3: 'tick' must be an integer >= 0"),
    ('{"tick": 5, "player": 9}', r"bad.jsonl:3: .*player 9 out of range"),
    ('{"tick": 5, "down": "KeyW"}', r"bad.jsonl:3: 'down' must be a list of names"),
    ('{"tick": 5, "down": [{"k": 1}]}', r"bad.jsonl:3: 'down' must be a list of names"),
    ('{"tick": 5, "pointer": {"x": 1}}', r"bad.jsonl:3: 'pointer' must be \[x, y\] or \[x, y, buttons\]"),
    ('{"tick": 5, "pointer": [1, 2, 1.5]}', r"bad.jsonl:3: 'pointer' must be"),
    ('{"tick": 5, "buttons": ["A"]}', r"bad.jsonl:3: 'buttons' and 'axes' need 'gamepad'"),
    ('{"tick": 5, "gamepad": 0, "axes": ["x"]}', r"bad.jsonl:3: 'axes' must be a list of numbers"),
    ('{"layerw_inputs": 1}', r"bad.jsonl:3: unknown field 'layerw_inputs'"),  # a header only comes first
])
def test_recording_fields_are_checked(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"layerw_inputs": 1}\n{"tick": 0}\n' + line + "\n")
    with pytest.raises(InputError, match=match):
        Recording.load(path)


@pytest.mark.parametrize("header, match", [
    ('{"layerw_inputs": 2}', "recording format version 2: this layerw reads version 1"),
    ('{"layerw_inputs": "1"}', 'header line must be {"layerw_inputs": 1}'),
    ('{"layerw_inputs": 1, "tick": 0}', 'header line must be {"layerw_inputs": 1}'),
])
def test_recording_header_is_versioned(tmp_path: Path, header: str, match: str) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(header + '\n{"tick": 0}\n')
    with pytest.raises(InputError, match=match):
        Recording.load(path)
    path.write_text('{"layerw_inputs": 1}\n{"tick": 2, "down": ["Space"]}\n')
    assert list(Recording.load(path).changes) == [2]
