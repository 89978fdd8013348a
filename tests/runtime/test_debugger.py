"""Stepping through a game's C natively: `layerw build --debug` compiles at -O0 with DWARF, and
`layerw run BUILD --debug` runs game.debug.wasm on an engine that hands gdb the guest's native
DWARF (wasmtime debug_info), so gdb and lldb stop in a C function, show its file:line, backtrace and
locals, and lldb steps line by line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameCrashed, UnsupportedCpuLimit
from layerw.runtime import CpuLimit, open_game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.wasmtools import wasm_tools
from tests.runtime.test_symbols import CRASH, WILD_STORE, line_of

HEAVY = 4
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def debug_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(CRASH, tmp_path_factory.mktemp("debug") / "crash", optimize=False).out


def test_a_debug_build_runs_its_dwarf_module_and_still_names_lines(debug_build: Path) -> None:
    bundle = Bundle.open(debug_build)
    debug = type(bundle)(debug_build, debug=True)
    assert ".debug_info" in wasm_tools("objdump", str(debug_build / "game.debug.wasm"))
    assert debug.module != bundle.module
    with open_game(debug, cpu_limit=CpuLimit.OFF, seed=WILD_STORE, debug_info=True) as game:
        with pytest.raises(GameCrashed) as info:
            for _ in range(5):
                game.tick(InputState(1))
    assert f"at store_far (crash.c:{line_of('wild store')})" in str(info.value)  # the table fits the debug twin
    with pytest.raises(UnsupportedCpuLimit, match="only in this process"):
        with open_game(debug, cpu_limit=CpuLimit.WATCHDOG, debug_info=True):
            pass


def debug(debugger: list[str], debug_build: Path) -> str:
    """What ``debugger`` (its command line up to the program) says about `layerw run BUILD --debug`
    on the heavy seed's five ticks."""
    proc = subprocess.run(
        [*debugger, sys.executable, "-m", "layerw.cli", "run", str(debug_build), "--debug", "--headless",
         "--ticks", "5", "--seed", str(HEAVY)],
        capture_output=True, text=True, timeout=180, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
    return proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed (the README shows the lldb steps)")
def test_gdb_stops_in_the_games_c_and_reads_its_locals(debug_build: Path) -> None:
    commands = ["set breakpoint pending on", "break churn", "run", "bt", "print n * 10", "info locals", "kill"]
    out = debug(["gdb", "-batch", "-nx", *(arg for c in commands for arg in ("-ex", c)), "--args"], debug_build)
    churn = line_of("churn")
    assert re.search(rf"hit Breakpoint 1, churn \(n=3\) at \S*crash\.c:{churn - 1}", out), out[-3000:]
    assert re.search(r"in lw_game_tick \(in=.*\) at \S*crash\.c:\d+", out), out[-3000:]
    assert "$1 = 30" in out, out[-3000:]  # an argument of the -O0 build, in an expression
    assert re.search(r"\nh = \d+\n", out), out[-3000:]  # and its locals


@pytest.mark.skipif(shutil.which("lldb") is None, reason="lldb is not installed (apt install lldb; `make setup` does it)")
def test_lldb_stops_steps_and_reads_locals(debug_build: Path) -> None:
    commands = ["breakpoint set -n churn", "run", "bt 3", "expression n * 10", "frame variable", "next", "kill"]
    out = debug(["lldb", "--batch", "--no-lldbinit", *(arg for c in commands for arg in ("-o", c)), "--"], debug_build)
    churn = line_of("churn")
    assert re.search(rf"stop reason = breakpoint 1\.1\s+frame #0: \S+ JIT\(\S+\)`churn\(n=3\) at crash\.c:{churn - 1}:", out), \
        out[-3000:]
    assert re.search(r"frame #1: \S+ JIT\(\S+\)`lw_game_tick\(in=.*\) at crash\.c:\d+", out), out[-3000:]
    assert re.search(r"\(unsigned int\) \$0 = 30\n", out), out[-3000:]  # an argument of the -O0 build, in an expression
    assert re.search(r"\(uint32_t\) h = \d+\n", out), out[-3000:]  # and its locals
    # and a step to the next line (gdb's `next` through JIT code can fail; lldb's steps)
    assert re.search(rf"stop reason = step over\s+frame #0: \S+ JIT\(\S+\)`churn\(n=3\) at crash\.c:{churn}:", out), out[-3000:]
