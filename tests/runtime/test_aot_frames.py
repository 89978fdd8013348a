"""The AOT tier's crash reports: a trap or a timeout in native code names the guest frames
(function, source file:line) that wasmtime's report names for the same module and the same trap
(tests/runtime/crash/crash.c fails on purpose), at no cost to the code the guest runs."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameError, GameTimedOut, ToolchainError
from layerw.runtime.aot import annotation, compiler
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler, wabt_tool
from layerw.runtime.aot.linetable import LineTable
from layerw.runtime.aot.translation import fold, rewrite
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from tests.conftest import GAMES
from tests.hostile.harness import examples
from tests.hostile.modules import RECURSE
from tests.hostile.test_aot_differential import WASM2C_FEATURES
from tests.hostile.test_smith import smith
from tests.runtime.test_aot import CORE_GAMES, LIMITS
from tests.runtime.test_symbols import CRASH, SPIN, TRAP, WILD_STORE, line_of
from tests.wat import bundle, contract_wat

DIVIDE = 5  # crash.c's modes
# (seed, the marker of the line it fails at, the error, the trap): the instruction a trap names is
# the one that trapped on both tiers; a timeout interrupts its loop wherever it is, and an
# `unreachable` first in its function is placed at the function's start by wasmtime
CASES = [(WILD_STORE, "wild store", GameCrashed, "memory_out_of_bounds"), (DIVIDE, "divide", GameCrashed,
         "integer_division_by_zero"), (TRAP, "trap", GameCrashed, "unreachable"), (SPIN, "spin", GameTimedOut, "")]


@pytest.fixture(scope="module")
def crash(built: Callable[[Path], Path]) -> Path:
    return built(CRASH)


@pytest.fixture(scope="module")
def patient_crash(crash: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crash build with a deadline no loaded machine reaches before the trap it waits for."""
    patient = Path(shutil.copytree(crash, tmp_path_factory.mktemp("patient") / "crash"))
    toml = patient / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_ms = 50", "tick_ms = 5000"))
    return patient


def fail(game: GameHost) -> GameError:
    with game, pytest.raises(GameError) as info:
        for _ in range(10):
            game.tick(InputState(1))
    return info.value


def where(error: GameError) -> list[tuple[str, str, int]]:
    return [(str(f["function"]), str(f["file"]), int(str(f["line"]))) for f in error.frames]


@pytest.mark.parametrize(("seed", "marker", "kind", "trap_code"), CASES, ids=[case[1] for case in CASES])
def test_a_trap_or_timeout_names_the_frames_wasmtime_names(crash: Path, patient_crash: Path, engine: Engine,
                                                             aot_compiler: AotCompiler, seed: int, marker: str,
                                                             kind: type[GameError], trap_code: str) -> None:
    b = Bundle.open(patient_crash if kind is GameCrashed else crash)
    wasm = fail(Game(b, engine, seed=seed, audio=False))
    aot = fail(AotGame(b, engine, aot_compiler, seed=seed, audio=False))
    assert isinstance(wasm, kind) and isinstance(aot, kind), (wasm, aot)
    if trap_code:
        assert getattr(aot, "trap_code", "") == getattr(wasm, "trap_code", "") == trap_code
    assert where(aot) == where(wasm), f"{aot}\n---\n{wasm}"
    assert where(aot)[0][1:] == ("crash.c", line_of(marker)), str(aot)
    assert [f[0] for f in where(aot)][1:] == ["lw_game_tick", "lw_tick"], str(aot)
    assert str(aot).splitlines()[0] == str(wasm).splitlines()[0]
    if marker in ("wild store", "divide"):  # the same instruction: the same offsets, the same report
        assert str(aot) == str(wasm)
        assert aot.frames == wasm.frames


def test_a_runaway_recursion_names_its_innermost_calls(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    # a deadline no loaded machine reaches before the stack runs out (1-2 ms of CPU)
    b = bundle(tmp_path, contract_wat(tick="(drop (call $down (i32.const 0)))", extra=RECURSE), memory_mb=4, tick_ms=5000)
    wasm = fail(Game(b, engine))
    aot = fail(AotGame(b, engine, aot_compiler))
    assert isinstance(aot, GameCrashed) and aot.trap_code == "stack_overflow"
    calls = [f for f in wasm.frames if f["function"] == "down" and f["offset"] != wasm.frames[0]["offset"]]
    assert calls and len(aot.frames) > 8  # the recursing call, named from the name section on both tiers
    assert all(f == calls[0] for f in aot.frames), aot.frames


def test_a_deadline_taken_after_a_host_import_names_its_caller(tmp_path: Path, engine: Engine,
                                                                aot_compiler: AotCompiler) -> None:
    """The deadline passes while Python runs an import: the trap is taken when it returns, in the
    guest frame that called it (or, if the signal came between two calls, in its loop)."""
    log_forever = "(loop (call $log (i32.const 1) (i32.const 0) (i32.const 0)) (br 0))"
    wat = contract_wat(imports='(import "layerw" "log" (func $log (param i32 i32 i32)))', tick=log_forever)
    b = bundle(tmp_path, wat, **LIMITS)
    wasm = fail(Game(b, engine))
    aot = fail(AotGame(b, engine, aot_compiler))
    assert isinstance(wasm, GameTimedOut) and isinstance(aot, GameTimedOut)
    assert [f["function"] for f in aot.frames] == [f["function"] for f in wasm.frames] == ["lw_tick"]


@pytest.mark.parametrize("name", [*CORE_GAMES, "crash"])
def test_every_trapping_and_calling_instruction_is_matched(name: str, built: Callable[[Path], Path],
                                                           tmp_path: Path) -> None:
    """wasm2c's C and wasm-objdump's listing agree, kind by kind, in every function of the sample
    games: each trap and call site carries its own offset (none falls back to a neighbour's)."""
    wasm = built(CRASH if name == "crash" else GAMES / name) / "game.wasm"
    source, functions = translated(wasm, tmp_path)
    assert functions and annotation.unmatched(source, functions) == []
    annotated = annotation.annotate(source, functions)
    assert annotated.count(f'"{annotation.FILE_PREFIX}') > len(functions)


@pytest.mark.parametrize("flavour", ["game-shaped", "game-shaped, no traps"])
def test_generated_modules_are_matched_instruction_by_instruction(flavour: str, tmp_path: Path) -> None:
    """wasm-smith's modules (SIMD, multi-value results, empty loops, unreachable code) match too."""
    matched = 0
    for seed in range(examples(8)):
        module = smith(seed, flavour, tmp_path, WASM2C_FEATURES)
        if module is None:
            continue
        (tmp_path / "m.wasm").write_bytes(module)
        source, functions = translated(tmp_path / "m.wasm", tmp_path)
        assert annotation.unmatched(source, functions) == [], f"seed {seed}"
        annotation.annotate(source, functions)
        matched += 1
    assert matched


def test_a_module_the_matching_cannot_read_still_runs(crash: Path, tmp_path: Path, engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The line table is for crash reports: where it cannot be made the game runs, and says so."""
    def unreadable(wasm: Path, tool: str) -> list[annotation.Function]:
        raise ToolchainError("wasm-objdump failed: (a listing this matching does not know)")

    monkeypatch.setattr(annotation, "disassemble", unreadable)
    with caplog.at_level(logging.WARNING, logger="layerw.aot"):
        aot = fail(AotGame(Bundle.open(crash), engine, AotCompiler(cache=tmp_path / "aot"), seed=DIVIDE, audio=False))
    assert "its traps will name no guest frames" in caplog.text
    assert isinstance(aot, GameCrashed) and aot.trap_code == "integer_division_by_zero" and aot.frames == []


def translated(wasm: Path, work: Path) -> tuple[str, list[annotation.Function]]:
    """wasm2c's C for ``wasm`` as the AOT tier rewrites it, and wasm-objdump's listing of it."""
    subprocess.run([wabt_tool("wasm2c"), str(wasm), "-n", "game", "-o", str(work / "game.c")], check=True)
    return fold(rewrite((work / "game.c").read_text())), annotation.disassemble(wasm, wabt_tool("wasm-objdump"))


def test_unreachable_code_is_left_out_as_wasm2c_leaves_it() -> None:
    listing = """
000010 func[3]:
 000011: 02 40                      | block
 000013: 41 00                      |   i32.const 0
 000015: 0c 00                      |   br 0
 000017: 10 01                      |   call 1
 000019: 0b                         | end
 00001a: 10 02                      | call 2
 00001c: 0b                         | end
000020 func[4]:
 000021: 00                         | unreachable
 000022: 10 05                      | call 5
 000024: 0b                         | end
000030 func[5]:
 000031: 03 40                      | loop
 000033: 0b                         | end
 000034: 03 40                      | loop
 000036: 0c 00                      |   br 0
 000038: 0b                         | end
 000039: 0b                         | end
"""
    first, second, third = annotation.parse_disassembly(listing)
    assert (first.index, first.start) == (3, 0x11)
    assert first.instructions == [(0x11, "block"), (0x13, "i32.const"), (0x15, "br"), (0x1a, "call")]
    assert second.instructions == [(0x21, "unreachable")]
    assert third.instructions == [(0x34, "loop"), (0x36, "br")]  # no label for an empty loop


def test_the_line_table_changes_no_code(crash: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module built with its line table and without (no #line, no DWARF) has the same .text."""
    wasm = (crash / "game.wasm").read_bytes()
    annotated = AotCompiler(cache=tmp_path / "lines").module(wasm, "crash")
    monkeypatch.setattr(compiler, "LINES", [])
    monkeypatch.setattr(annotation, "annotate", lambda source, functions: source)
    plain = AotCompiler(cache=tmp_path / "plain").module(wasm, "crash")

    def text(path: Path) -> tuple[int, bytes]:
        with path.open("rb") as f:
            section = ELFFile(f).get_section_by_name(".text")
            assert section is not None
            return int(section["sh_addr"]), bytes(section.data())

    (start, code), (_, plain_code) = text(annotated), text(plain)
    assert code == plain_code
    named = [LineTable(path) for path in (annotated, plain)]
    found = [{index for address in range(start, start + len(code)) for _, index in table.frames(address)} for table in named]
    assert found[0] and found[1] == set()  # wasm functions everywhere in the one, nowhere in the other
    assert "lw_module_new" in named[0].symbols
