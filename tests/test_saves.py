"""Saves: slots round-trip with their version, stay within their limits, are detected when corrupt,
and a write is atomic — a writer killed with SIGKILL mid-write, or failing between write and rename,
leaves the old bytes or the new, never a mix."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import pytest

from layerw import saves as saves_module
from layerw.errors import LayerWError, SaveCorrupt, SaveError, SaveTooBig
from layerw.saves import HEADER, Saves, Slot, default_directory

BIG = 256 << 10


def test_a_slot_round_trips_with_its_version_and_lists(tmp_path: Path) -> None:
    saves = Saves(tmp_path / "game")
    assert saves.read("one") is None and saves.names() == []
    saves.write("one", b"hello", 7)
    saves.write("two.v2", b"", 0)
    assert saves.read("one") == Slot(7, b"hello") and saves.read("two.v2") == Slot(0, b"")
    assert saves.names() == ["one", "two.v2"]
    saves.write("one", b"again", 8)
    assert saves.read("one") == Slot(8, b"again")
    assert [p.name for p in (tmp_path / "game").iterdir() if p.name.endswith(".tmp")] == []
    saves.delete("one")
    assert saves.read("one") is None and saves.names() == ["two.v2"]


def test_default_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAYERW_SAVE_DIR", str(tmp_path / "s"))
    assert default_directory("pong") == tmp_path / "s" / "pong"
    monkeypatch.delenv("LAYERW_SAVE_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_directory("pong") == tmp_path / "xdg" / "layerw" / "saves" / "pong"
    assert Saves.for_game("pong").directory == tmp_path / "xdg" / "layerw" / "saves" / "pong"


@pytest.mark.parametrize("name", ["", ".hidden", "../up", "a/b", "a" * 65, "sp ace", "é"])
def test_bad_names_are_refused_before_touching_the_disk(tmp_path: Path, name: str) -> None:
    saves = Saves(tmp_path / "game")
    with pytest.raises(SaveError, match="save slot name"):
        saves.write(name, b"x", 0)
    assert not (tmp_path / "game").exists() and list(tmp_path.iterdir()) == []


def test_slot_and_total_limits_refuse_and_keep_the_old_bytes(tmp_path: Path) -> None:
    saves = Saves(tmp_path, slot_bytes=100, total_bytes=150)
    saves.write("a", b"a" * 100, 1)
    with pytest.raises(SaveTooBig) as err:
        saves.write("a", b"b" * 101, 2)
    assert err.value.limit == "slot" and isinstance(err.value, ValueError) and isinstance(err.value, LayerWError)
    with pytest.raises(SaveTooBig) as err:
        saves.write("b", b"c" * 51, 1)
    assert err.value.limit == "total"
    saves.write("b", b"c" * 50, 1)  # exactly the total
    saves.write("a", b"d" * 90, 3)  # rewriting a slot counts its new size, not old + new
    assert saves.read("a") == Slot(3, b"d" * 90) and saves.read("b") == Slot(1, b"c" * 50)
    with pytest.raises(SaveError, match="version"):
        saves.write("a", b"", -1)
    with pytest.raises(SaveError, match="version"):
        saves.write("a", b"", 1 << 31)
    assert saves.read("a") == Slot(3, b"d" * 90)


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend", "magic", "empty"])
def test_a_damaged_slot_reads_as_corrupt(tmp_path: Path, damage: str) -> None:
    saves = Saves(tmp_path)
    saves.write("s", bytes(range(200)), 5)
    path = saves.path("s")
    blob = bytearray(path.read_bytes())
    if damage == "flip":
        blob[HEADER.size + 10] ^= 1
    elif damage == "truncate":
        del blob[-1]
    elif damage == "extend":
        blob += b"\0"
    elif damage == "magic":
        blob[:4] = b"XXXX"
    else:
        blob = bytearray(b"LWS")
    path.write_bytes(bytes(blob))
    with pytest.raises(SaveCorrupt):
        saves.read("s")
    saves.write("s", b"fixed", 6)  # a corrupt slot can be written over
    assert saves.read("s") == Slot(6, b"fixed")


@pytest.mark.parametrize("fail", ["replace", "fsync", "write"])
def test_a_failure_between_write_and_rename_keeps_the_old_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               fail: str) -> None:
    saves = Saves(tmp_path)
    saves.write("s", b"old", 1)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saves_module.os, fail, broken)
    with pytest.raises(SaveError, match="keeps its old bytes") as err:
        saves.write("s", b"new" * 1000, 2)
    assert not isinstance(err.value, SaveTooBig)
    monkeypatch.undo()
    assert saves.read("s") == Slot(1, b"old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.slot"]  # no temporary file left behind


def _writer(directory: str) -> None:
    """Write two alternating full-size payloads into one slot forever (until killed)."""
    saves = Saves(Path(directory), slot_bytes=BIG, total_bytes=BIG)
    i = 0
    while True:
        saves.write("s", bytes([i % 2 + 1]) * BIG, i % 2 + 1)
        i += 1


def test_a_writer_killed_mid_write_leaves_old_or_new_never_a_mix(tmp_path: Path) -> None:
    saves = Saves(tmp_path, slot_bytes=BIG, total_bytes=BIG)
    ctx = mp.get_context("spawn")
    rng = random.Random(14)
    deadline = time.monotonic() + 60
    for _ in range(12):
        proc = ctx.Process(target=_writer, args=(str(tmp_path),), daemon=True)
        proc.start()
        while saves.read("s") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        slot = saves.read("s")  # SaveCorrupt here would be a torn write
        assert slot is not None and len(slot.data) == BIG
        assert slot.data == bytes([slot.version]) * BIG
        assert time.monotonic() < deadline
    assert saves.names() == ["s"]  # temporary files of killed writers are not slots
