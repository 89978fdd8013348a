"""Inputs: the packed per-tick input struct, and recordings of input changes.

``InputState`` holds what each player's devices report right now (a numpy record with the exact
``lw_input`` layout); the host copies its bytes into guest memory before each tick: one memcpy,
no per-field calls.

A recording (``--inputs FILE``) is JSON Lines, one change per line, applied at its tick and held
until changed again, after an optional version header (the fields: ``abi.RECORDING_FIELDS``,
documented in docs/inputs.md):

    {"layerw_inputs": 1}
    {"tick": 30, "player": 0, "down": ["KeyW"], "up": ["KeyS"]}
    {"tick": 31, "player": 1, "pointer": [120.5, 80, 1]}
    {"tick": 40, "player": 0, "gamepad": 0, "buttons": ["A"], "axes": [0.5, 0, 0, 0, 0, 0]}
"""

from __future__ import annotations

import json
import struct
from collections import defaultdict
from collections.abc import Iterable, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from layerw import abi
from layerw.errors import InputError
from layerw.runtime.assets import Event

KEY_CODES: dict[str, int] = {name: i for i, name in enumerate(abi.KEYS)}
PAD_CODES: dict[str, int] = {name: i for i, name in enumerate(abi.PAD_BUTTONS)}
TICK_AT, EVENT_COUNT_AT, EVENTS_AT = (abi.INPUT.offsets[name] for name in ("tick", "event_count", "events"))
NO_EVENTS = bytes(abi.INPUT.size - EVENTS_AT)  # the events are the record's last field


def check_event_count(events: Sized) -> None:
    """A tick carries at most ``abi.MAX_EVENTS`` events; more is ``InputError`` before anything is sent
    or ticked (every backend asks here, whether it packs the record itself or not)."""
    if len(events) > abi.MAX_EVENTS:
        raise InputError(f"{len(events)} events in one tick; the contract allows {abi.MAX_EVENTS}")


class InputState:
    def __init__(self, players: int = 1) -> None:
        if not 1 <= players <= abi.MAX_PLAYERS:
            raise InputError(f"player count {players} must be within 1..{abi.MAX_PLAYERS}")
        self.record = np.zeros((), dtype=abi.INPUT.dtype)
        self._bytes = self.record.reshape(1).view(np.uint8).data  # the record's own bytes, for pack
        self.record["player_count"] = players
        for p in range(players):
            self.record["players"][p]["connected"] = 1

    def _player(self, player: int) -> Any:
        if not 0 <= player < abi.MAX_PLAYERS:
            raise InputError(f"player {player} out of range 0..{abi.MAX_PLAYERS - 1}")
        return self.record["players"][player]

    def key(self, player: int, key: str | int, down: bool) -> None:
        code = KEY_CODES.get(key) if isinstance(key, str) else key
        if code is None or not 0 <= code < abi.KEY_WORDS * 32:
            raise InputError(f"unknown key {key!r}; keys are KeyboardEvent.code names such as 'KeyW'")
        keys = self._player(player)["keys"]
        bit = np.uint32(1 << (code & 31))
        keys[code >> 5] = (keys[code >> 5] | bit) if down else (keys[code >> 5] & ~bit)

    def pointer(self, player: int, x: float, y: float, buttons: int = 0) -> None:
        ptr = self._player(player)["pointer"]
        ptr["x"], ptr["y"], ptr["buttons"], ptr["inside"] = x, y, buttons, 1

    def gamepad(self, player: int, index: int, buttons: Iterable[str], axes: Iterable[float]) -> None:
        if not 0 <= index < abi.MAX_GAMEPADS:
            raise InputError(f"gamepad {index} out of range 0..{abi.MAX_GAMEPADS - 1}")
        mask = 0
        for b in buttons:
            if b not in PAD_CODES:
                raise InputError(f"unknown gamepad button {b!r}; one of {list(PAD_CODES)}")
            mask |= 1 << PAD_CODES[b]
        values = [float(a) for a in axes]
        if len(values) > 6:
            raise InputError("a gamepad has at most 6 axes")
        pad = self._player(player)["gamepads"][index]
        pad["connected"], pad["buttons"] = 1, mask
        pad["axes"] = values + [0.0] * (6 - len(values))

    def set_devices(self, player: int, devices: dict[str, Any]) -> None:
        """Replace ``player``'s device state with a polled snapshot: ``keys`` (a set of key
        codes), ``pointer`` ({x, y, buttons, inside}) and ``gamepads`` ([{connected, buttons
        (W3C order, a list of bools or a mask), axes}])."""
        p = self._player(player)
        words = np.zeros(abi.KEY_WORDS, dtype=np.uint32)
        codes = np.fromiter(devices.get("keys", ()), dtype=np.int64)
        codes = codes[(codes > 0) & (codes < abi.KEY_WORDS * 32)]
        np.bitwise_or.at(words, codes >> 5, (np.uint32(1) << (codes & 31).astype(np.uint32)))
        p["keys"] = words
        ptr = devices.get("pointer")
        if ptr:
            p["pointer"] = (ptr["x"], ptr["y"], ptr["buttons"], ptr["inside"])
        for i, pad in enumerate(devices.get("gamepads", ())[:abi.MAX_GAMEPADS]):
            buttons = pad.get("buttons", 0)
            mask = buttons if isinstance(buttons, int) else sum(1 << b for b, down in enumerate(buttons) if down)
            axes = [float(a) for a in pad.get("axes", ())][:6]
            p["gamepads"][i] = (int(bool(pad.get("connected"))), mask, axes + [0.0] * (6 - len(axes)))

    def pack(self, tick: int, events: list[Event]) -> bytes:
        """The lw_input bytes for ``tick`` with these events (at most MAX_EVENTS). Every tick packs
        one: the fields are written in the record's bytes, with no NumPy call when there is no event."""
        check_event_count(events)
        out = self._bytes
        struct.pack_into("<I", out, TICK_AT, tick)
        struct.pack_into("<I", out, EVENT_COUNT_AT, len(events))
        out[EVENTS_AT:] = NO_EVENTS
        if events:
            ev = self.record["events"]
            for i, e in enumerate(events):
                ev[i] = (e.kind, e.player, e.a, e.b)
        return out.tobytes()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _names(change: dict[str, Any], name: str) -> None:
    value = change[name]
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise InputError(f"'{name}' must be a list of names, got {str(value)[:80]}")


def check_header(header: dict[str, Any]) -> None:
    """The optional first line: ``{"layerw_inputs": VERSION}`` and nothing else."""
    version = header[abi.RECORDING_HEADER]
    if set(header) != {abi.RECORDING_HEADER} or not _is_int(version):
        raise InputError(f"the header line must be {{\"{abi.RECORDING_HEADER}\": {abi.RECORDING_VERSION}}}")
    if version != abi.RECORDING_VERSION:
        raise InputError(f"recording format version {version}: this layerw reads version {abi.RECORDING_VERSION}")


def check_change(change: object) -> None:
    """One change line's fields and their types (values' ranges are checked by applying it)."""
    if not isinstance(change, dict):
        raise InputError(f"each line must be a JSON object with a 'tick', got {str(change)[:80]}")
    unknown = [k for k in change if k not in abi.RECORDING_FIELDS]
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}; a change has {', '.join(abi.RECORDING_FIELDS)} "
                         "(see docs/inputs.md)")
    if "tick" not in change:
        raise InputError("each line must be a JSON object with a 'tick'")
    for name in ("tick", "player", "gamepad"):
        if name in change and not (_is_int(change[name]) and change[name] >= 0):
            raise InputError(f"'{name}' must be an integer >= 0, got {str(change[name])[:80]}")
    if change["tick"] >= 1 << 32:
        raise InputError(f"'tick' {change['tick']} is past the last tick (2^32 - 1)")
    for name, count in (("player", abi.MAX_PLAYERS), ("gamepad", abi.MAX_GAMEPADS)):
        if change.get(name, 0) >= count:
            raise InputError(f"{name} {change[name]} out of range 0..{count - 1}")
    for name in ("down", "up", "buttons"):
        if name in change:
            _names(change, name)
    if "pointer" in change:
        ptr = change["pointer"]
        if not (isinstance(ptr, list) and len(ptr) in (2, 3) and all(map(_is_number, ptr[:2]))
                and (len(ptr) == 2 or _is_int(ptr[2]))):
            raise InputError(f"'pointer' must be [x, y] or [x, y, buttons] (buttons an integer), got {str(ptr)[:80]}")
    if "axes" in change and not (isinstance(change["axes"], list) and all(map(_is_number, change["axes"]))):
        raise InputError(f"'axes' must be a list of numbers, got {str(change['axes'])[:80]}")
    if ("buttons" in change or "axes" in change) and "gamepad" not in change:
        raise InputError("'buttons' and 'axes' need 'gamepad' (the pad's index) on the same line")


@dataclass
class Recording:
    """Input changes keyed by tick."""

    changes: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read and check a recording: every field is checked against ``abi.RECORDING_FIELDS`` and
        every change tried on a scratch state, so a malformed one fails here with its line number,
        never later in the middle of a run."""
        rec = cls()
        try:
            lines = Path(path).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read input recording {path}: {e}") from e
        scratch = InputState(abi.MAX_PLAYERS)
        first = True
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                change = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise InputError(f"{path}:{n}: each line must be a JSON object with a 'tick': {e}") from e
            try:
                if first and isinstance(change, dict) and abi.RECORDING_HEADER in change:
                    check_header(change)
                else:
                    check_change(change)
                    cls._apply(scratch, change)
                    rec.changes[change["tick"]].append(change)
            except InputError as e:
                raise InputError(f"{path}:{n}: {e}") from e
            first = False
        return rec

    def apply(self, state: InputState, tick: int) -> None:
        for change in self.changes.get(tick, ()):
            self._apply(state, change)

    @staticmethod
    @np.errstate(over="raise", invalid="raise")  # a value no float32 field can hold is refused, not clipped
    def _apply(state: InputState, change: dict[str, Any]) -> None:
        try:
            player = int(change.get("player", 0))
            for key in change.get("down", ()):
                state.key(player, key, True)
            for key in change.get("up", ()):
                state.key(player, key, False)
            if "pointer" in change:
                x, y, *rest = change["pointer"]
                state.pointer(player, float(x), float(y), int(rest[0]) if rest else 0)
            if "gamepad" in change:
                state.gamepad(player, int(change["gamepad"]), change.get("buttons", ()), change.get("axes", ()))
        except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError, IndexError) as e:
            raise InputError(f"malformed input change {str(change)[:200]}: {e}") from e
