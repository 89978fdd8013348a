"""Save slots through the contract on each Python backend: codes, versions, limits, corrupt slots,
saves that outlive the game (and its worker process), rooms that keep none, and state hashes that
do not depend on what is saved."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame
from layerw.saves import Saves, Slot
from tests.wat import STATE_BEGIN, bundle, contract_wat

R = abi.SAVE_RESULTS
RESULTS = 4096  # write, size, version, read results (i32 each), then the bytes read at READ_TO
NAME_AT, DATA_AT, READ_TO = 4200, 4300, 4600
IMPORTS = "".join(
    f'(import "layerw" "{sig.name}" (func ${sig.name} (param {" ".join(sig.params)}) (result i32)))'
    for sig in abi.IMPORTS if sig.name.startswith("save_"))


def saves_wat(*, name: bytes = b"progress", write_len: int | None = 16, version: int = 7,
              name_ptr: int = NAME_AT, name_len: int | None = None, data_ptr: int = DATA_AT,
              read_to: int = READ_TO, read_len: int = 256, if_empty: bool = False) -> str:
    """Tick 0 writes ``write_len`` bytes (0, 1, 2, ...) to the slot (None: no write; ``if_empty``:
    only when the slot is empty); every tick then stores save_size, save_version and save_read of it."""
    n = len(name) if name_len is None else name_len
    args = f"(i32.const {name_ptr}) (i32.const {n})"
    when = "(i32.eqz (i32.load (i32.const 2048)))"
    if if_empty:
        when = f"(i32.and {when} (i32.lt_s (call $save_size {args}) (i32.const 0)))"
    write = "" if write_len is None else (
        f"(if {when} (then (i32.store (i32.const {RESULTS}) "
        f"(call $save_write {args} (i32.const {data_ptr}) (i32.const {write_len}) (i32.const {version})))))")
    tick = write + (
        f"(i32.store (i32.const {RESULTS + 4}) (call $save_size {args}))"
        f"(i32.store (i32.const {RESULTS + 8}) (call $save_version {args}))"
        f"(i32.store (i32.const {RESULTS + 12}) (call $save_read {args} (i32.const {read_to}) (i32.const {read_len})))")
    pattern = "".join(f"\\{b:02x}" for b in range(256))
    name_hex = "".join(f"\\{b:02x}" for b in name)
    extra = f'(data (i32.const {NAME_AT}) "{name_hex}") (data (i32.const {DATA_AT}) "{pattern}")'
    return contract_wat(tick=tick, imports=IMPORTS, extra=extra, init=f"(i32.store (i32.const {RESULTS}) (i32.const 99))")


def results(game: GameHost) -> tuple[tuple[int, int, int, int], bytes]:
    """(write, size, version, read) codes and the bytes read, from the game's state."""
    memory = game.snapshot().memory
    codes = struct.unpack_from("<4i", memory, RESULTS - STATE_BEGIN)
    at = READ_TO - STATE_BEGIN
    return codes, bytes(memory[at:at + max(codes[3], 0)])


def run(game: GameHost, ticks: int = 1) -> tuple[tuple[int, int, int, int], bytes]:
    for _ in range(ticks):
        game.tick(InputState())
    return results(game)


def make(tmp_path: Path, wat: str, **saves_config: int) -> Bundle:
    out = tmp_path / "build"
    b = bundle(out, wat, name="saver")
    if saves_config:
        (out / "layerw.toml").write_text((out / "layerw.toml").read_text() + "\n[saves]\n" + "".join(
            f"{k} = {v}\n" for k, v in saves_config.items()))
        b = Bundle.open(out)
    return b


def test_a_write_is_read_back_with_its_version_and_outlives_the_game(tmp_path: Path, engine: Engine) -> None:
    saves = Saves(tmp_path / "saves")
    with Game(make(tmp_path, saves_wat()), engine, saves=saves) as game:
        assert run(game) == ((R["OK"], 16, 7, 16), bytes(range(16)))
    assert saves.read("progress") == Slot(7, bytes(range(16)))
    with Game(make(tmp_path, saves_wat(write_len=None)), engine, saves=saves) as game:
        assert run(game) == ((99, 16, 7, 16), bytes(range(16)))


def test_a_short_buffer_reads_the_first_bytes_and_an_unwritten_slot_is_empty(tmp_path: Path, engine: Engine) -> None:
    saves = Saves(tmp_path / "saves")
    saves.write("progress", b"0123456789", 3)
    with Game(make(tmp_path, saves_wat(write_len=None, read_len=4)), engine, saves=saves) as game:
        assert run(game) == ((99, 10, 3, 4), b"0123")
    with Game(make(tmp_path, saves_wat(name=b"other", write_len=None)), engine, saves=saves) as game:
        assert run(game)[0] == (99, R["EMPTY"], R["EMPTY"], R["EMPTY"])


def test_without_saves_every_call_is_unavailable(tmp_path: Path, engine: Engine) -> None:
    with Game(make(tmp_path, saves_wat()), engine) as game:
        assert run(game)[0] == (R["UNAVAILABLE"],) * 4


def test_a_rooms_game_keeps_no_saves(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rooms refuse saves: what a machine has stored must not steer a shared simulation."""
    from layerw.session.room import Room

    monkeypatch.setenv("LAYERW_SAVE_DIR", str(tmp_path / "saves"))
    Saves.for_game("saver").write("progress", b"local only", 1)
    room = Room("r", make(tmp_path, saves_wat()), engine)
    try:
        assert room.game.saves is None and run(room.game)[0] == (R["UNAVAILABLE"],) * 4
    finally:
        room.close()


@pytest.mark.parametrize(("limits", "length", "code"), [
    ({"slot_bytes": 15, "total_bytes": 100}, 16, "TOO_BIG"),
    ({"slot_bytes": 20, "total_bytes": 25}, 16, "FULL"),  # the slot "old" holds 10
    ({"slot_bytes": 16, "total_bytes": 26}, 16, "OK"),
])
def test_layerw_toml_limits_reach_the_game_as_codes(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture,
                                                    limits: dict[str, int], length: int, code: str) -> None:
    saves = Saves(tmp_path / "saves")
    saves.write("old", b"x" * 10, 1)
    with Game(make(tmp_path, saves_wat(write_len=length), **limits), engine, saves=saves) as game:
        assert game.saves is not None and game.saves.slot_bytes == limits["slot_bytes"]
        (write, size, _, _), _ = run(game)
    assert write == R[code]
    if code == "OK":
        assert size == length and saves.read("progress") == Slot(7, bytes(range(16)))
    else:
        assert size == R["EMPTY"] and saves.read("progress") is None  # nothing half-written
        assert "SaveTooBig" in caplog.text and "progress" in caplog.text


def test_a_corrupt_slot_is_the_corrupt_code_and_a_logged_typed_error(tmp_path: Path, engine: Engine,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    saves = Saves(tmp_path / "saves")
    saves.write("progress", b"abc", 1)
    path = saves.path("progress")
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    with Game(make(tmp_path, saves_wat(write_len=None)), engine, saves=saves) as game:
        assert run(game, 3)[0] == (99, R["CORRUPT"], R["CORRUPT"], R["CORRUPT"])
    assert caplog.text.count("SaveCorrupt") == 1  # logged once, not every tick


@pytest.mark.parametrize("version", [-1, -(1 << 31)])
def test_a_negative_version_is_a_bad_argument(tmp_path: Path, engine: Engine, version: int) -> None:
    saves = Saves(tmp_path / "saves")
    with Game(make(tmp_path, saves_wat(version=version)), engine, saves=saves) as game:
        assert run(game)[0][:2] == (R["BAD_ARGUMENT"], R["EMPTY"])
    assert saves.names() == []


def test_saves_are_not_game_state(tmp_path: Path, engine: Engine) -> None:
    """What a slot holds reaches the state only through what the game reads; the store itself is
    neither hashed nor snapshotted, and a restore leaves the slots as they are."""
    saves = Saves(tmp_path / "saves")
    wat = saves_wat(write_len=None)
    with Game(make(tmp_path, wat), engine, saves=saves) as game:
        empty = game.state_hash()
        snap = game.snapshot()
        assert "saves" not in snap.host
        saves.write("progress", b"later", 2)
        game.restore(snap)
        assert game.state_hash() == empty
        run(game)
        assert results(game) == ((99, 5, 2, 5), b"later")


def test_the_worker_reaches_the_same_directory(tmp_path: Path) -> None:
    saves = Saves(tmp_path / "saves")
    with WorkerGame(make(tmp_path, saves_wat()), cache=tmp_path / "cache", saves=saves) as game:
        assert run(game) == ((R["OK"], 16, 7, 16), bytes(range(16)))
    assert saves.read("progress") == Slot(7, bytes(range(16)))
    saves.write("progress", b"from the parent", 9)
    with WorkerGame(make(tmp_path, saves_wat(write_len=None)), cache=tmp_path / "cache", saves=saves) as game:
        assert run(game) == ((99, 15, 9, 15), b"from the parent")
