"""Crash reports with source lines: a build keeps its DWARF beside a stripped module, and a trap or a
timeout names each guest frame's function and file:line (tests/runtime/crash/crash.c fails on purpose)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import DEBUG_MODULE_NAME, MODULE_NAME, SYMBOLS_NAME, Bundle
from layerw.errors import GameCrashed, GameError, GameTimedOut, InvalidModule
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.symbols import Symbols
from layerw.toolchain.wasmtools import wasm_tools

CRASH = Path(__file__).parent / "crash"
SOURCE = (CRASH / "crash.c").read_text().splitlines()
CALM, WILD_STORE, TRAP, SPIN = 0, 1, 2, 3


def line_of(marker: str) -> int:
    """The 1-based line of crash.c that carries ``/* MARK: marker */``."""
    return next(i + 1 for i, text in enumerate(SOURCE) if f"MARK: {marker} " in text)


def fail(build: Path, engine: Engine, seed: int) -> GameError:
    with Game(Bundle.open(build), engine, seed=seed, audio=False) as game:
        with pytest.raises(GameError) as info:
            for _ in range(10):
                game.tick(InputState(1))
        return info.value


@pytest.fixture(scope="module")
def crash(built: Callable[[Path], Path]) -> Path:
    return built(CRASH)


def test_the_shipped_module_is_stripped_and_the_debug_module_keeps_dwarf(crash: Path, tmp_path: Path) -> None:
    shipped, debug = crash / MODULE_NAME, crash / DEBUG_MODULE_NAME
    assert "custom" not in wasm_tools("objdump", str(shipped))  # no DWARF, no names, no producers
    assert ".debug_line" in wasm_tools("objdump", str(debug))
    wasm_tools("strip", "--all", str(debug), "-o", str(tmp_path / "stripped.wasm"))
    assert (tmp_path / "stripped.wasm").read_bytes() == shipped.read_bytes()  # same code, same offsets
    table = json.loads((crash / SYMBOLS_NAME).read_text())
    assert table["format"] == "layerw-symbols" and "crash.c" in table["strings"]
    assert not any(s.startswith("/") for s in table["strings"]), "file names leak build paths"


def test_a_trap_names_function_and_line_of_each_frame(crash: Path, engine: Engine) -> None:
    error = fail(crash, engine, WILD_STORE)
    assert isinstance(error, GameCrashed) and error.trap_code == "memory_out_of_bounds"
    assert f"at store_far (crash.c:{line_of('wild store')})" in str(error), str(error)
    assert re.search(r"\n  at lw_game_tick \(crash\.c:\d+\)", str(error)), str(error)
    top = error.frames[0]
    assert (top["function"], top["file"], top["line"]) == ("store_far", "crash.c", line_of("wild store"))
    assert [f["function"] for f in error.frames][:2] == ["store_far", "lw_game_tick"]

    error = fail(crash, engine, TRAP)
    assert isinstance(error, GameCrashed) and error.trap_code == "unreachable"
    assert (error.frames[0]["function"], error.frames[0]["line"]) == ("give_up", line_of("trap"))


def test_a_timeout_names_the_loop_it_spun_in(crash: Path, engine: Engine) -> None:
    error = fail(crash, engine, SPIN)
    assert isinstance(error, GameTimedOut)
    top = error.frames[0]
    assert (top["function"], top["file"]) == ("spin", "crash.c"), error.frames
    assert top["line"] == line_of("spin"), error.frames  # the loop's line, not its function's prologue
    assert f"at spin (crash.c:{top['line']})" in str(error)


def test_symbols_of_another_build_are_refused(crash: Path, engine: Engine, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for name in (MODULE_NAME, "layerw.toml"):
        (other / name).write_bytes((crash / name).read_bytes())
    table = json.loads((crash / SYMBOLS_NAME).read_text())
    (other / SYMBOLS_NAME).write_text(json.dumps(table | {"module_sha256": "0" * 64, "debug_module_sha256": "1" * 64}))
    with caplog.at_level(logging.WARNING, logger="layerw.game"):
        error = fail(other, engine, WILD_STORE)
    assert "for another build" in caplog.text
    assert error.frames[0]["function"].startswith("wasm-function[") and error.frames[0]["file"] == ""


def test_a_table_maps_offsets_within_one_function_only() -> None:
    symbols = Symbols({"format": "layerw-symbols", "version": 1, "module_sha256": "",
                       "strings": ["f", "g", "a.c", "inlined"],
                       "functions": [[10, 20, 0], [20, 30, 1]],
                       "rows": [[11, 0], [15, 1], [25, -1]],
                       "chains": [[[0, 2, 3, 1]], [[3, 2, 9, 1], [0, 2, 4, 1]]]})
    assert symbols.frames(5) == [] and symbols.frames(30) == []
    assert [str(f) for f in symbols.frames(12)] == ["f (a.c:3) @0xc"]
    assert [(f.function, f.line) for f in symbols.frames(16)] == [("inlined", 9), ("f", 4)]
    assert [str(f) for f in symbols.frames(21)] == ["g @0x15"]  # f's last row does not reach into g
    assert [str(f) for f in symbols.frames(26)] == ["g @0x1a"]
    with pytest.raises(InvalidModule, match="not a layerw-symbols table"):
        Symbols({"format": "x"})
    with pytest.raises(InvalidModule, match="malformed"):
        Symbols({"format": "layerw-symbols", "version": 1})
