"""Hostile save calls: pointers past memory, negative and huge lengths, names that try to leave the
save directory, a save bomb. Each is LW_SAVE_BAD_ARGUMENT (or TOO_BIG) to the game, never a trap,
and nothing is written outside the game's directory or half-written inside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw import abi
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.saves import Saves
from tests.runtime.test_saves import make, run, saves_wat

R = abi.SAVE_RESULTS
BAD = R["BAD_ARGUMENT"]
END = 65536  # one page of memory
HUGE = 0x7FFFFFFF


@pytest.mark.parametrize(("case", "kwargs"), [
    ("name past memory", {"name_ptr": END - 2}),
    ("name pointer negative", {"name_ptr": -1}),
    ("name length negative", {"name_len": -1}),
    ("name length huge", {"name_len": HUGE}),
    ("name empty", {"name_len": 0}),
    ("name over 64", {"name": b"a" * 65}),
    ("name climbs out", {"name": b"../../escape"}),
    ("name with a slash", {"name": b"a/b"}),
    ("name hidden", {"name": b".slot"}),
    ("name not ascii", {"name": b"\xff\xfe"}),
    ("data past memory", {"data_ptr": END - 8}),
    ("data length negative", {"write_len": -1}),
    ("data length huge", {"write_len": HUGE}),
    ("data pointer negative", {"data_ptr": -4}),
])
def test_bad_arguments_are_refused(tmp_path: Path, engine: Engine, case: str, kwargs: dict[str, object]) -> None:
    saves = Saves(tmp_path / "saves" / "saver")
    with Game(make(tmp_path, saves_wat(**kwargs)), engine, saves=saves) as game:  # type: ignore[arg-type]
        (write, size, version, read), _ = run(game, 2)
    assert write == BAD, case
    if "name" in case:
        assert size == version == read == BAD, case
    assert saves.names() == [] and not (tmp_path / "saves" / "escape.slot").exists()
    assert not (tmp_path / "escape.slot").exists() and not (tmp_path / "saves" / "saver").exists()


@pytest.mark.parametrize(("read_to", "read_len"), [(END - 4, 16), (-8, 16), (4600, -1), (4600, HUGE)])
def test_a_read_past_memory_is_refused_and_writes_nothing(tmp_path: Path, engine: Engine, read_to: int,
                                                          read_len: int) -> None:
    saves = Saves(tmp_path / "saves")
    saves.write("progress", b"0123456789abcdef", 1)
    wat = saves_wat(write_len=None, read_to=read_to, read_len=read_len)
    with Game(make(tmp_path, wat), engine, saves=saves) as game:
        (_, size, _, read), _ = run(game)
    assert (size, read) == (16, BAD)


def test_a_save_bomb_is_too_big_and_bounded(tmp_path: Path, engine: Engine) -> None:
    """A game writing all of its memory every tick: refused by [saves] slot_bytes, nothing stored."""
    saves = Saves(tmp_path / "saves")
    wat = saves_wat(data_ptr=0, write_len=END)
    with Game(make(tmp_path, wat, slot_bytes=1024, total_bytes=4096), engine, saves=saves) as game:
        (write, size, _, _), _ = run(game, 3)
    assert (write, size) == (R["TOO_BIG"], R["EMPTY"]) and saves.names() == []
    assert not (tmp_path / "saves").exists() or list((tmp_path / "saves").iterdir()) == []
