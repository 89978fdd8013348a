"""A component build's replay twin is of its transpiled core module that holds the game's code (GAME_CORE):
that module is the core module the build compiled (custom sections appended), its symbols
(game.component.symbols.json) describe its code offsets, and the twin keeps its imports and exports with the
poll added, which shifts every defined function's index by exactly one (as the page's ReplayMap assumes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import wasmtime

from layerw.bundle import COMPONENT_SYMBOLS_NAME, GAME_CORE, SYMBOLS_NAME, TRANSPILED_DIR
from layerw.symbols import Symbols
from layerw.toolchain.build import build
from layerw.toolchain.replaytwin import MAP_NAME, POLL_MODULE, POLL_NAME, TWIN_NAME, instructions
from layerw.toolchain.wasmtools import wabt
from tests.runtime.test_symbols import CRASH, line_of


@pytest.fixture(scope="module")
def crash_component(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """crash.c built with --component and its replay twin, as `layerw dev` builds it."""
    return build(CRASH, tmp_path_factory.mktemp("component-twin") / "crash", component=True, replay_twin=True).out


def functions(module: Path) -> list[tuple[int, str]]:
    """wasm-objdump's defined functions: (index, export name or "")."""
    out = []
    for line in wabt("wasm-objdump", "-x", "-j", "Function", str(module)).splitlines():
        if line.startswith(" - func["):
            index = int(line.split("[", 1)[1].split("]", 1)[0])
            out.append((index, line.split("<", 1)[1].rstrip(">") if "<" in line else ""))
    return out


def test_the_twin_is_of_the_game_s_core_module_with_one_import_more(crash_component: Path) -> None:
    core = crash_component / TRANSPILED_DIR / GAME_CORE
    offsets = json.loads((crash_component / MAP_NAME).read_text())
    assert offsets["core"] == GAME_CORE and offsets["module_sha256"] == hashlib.sha256(core.read_bytes()).hexdigest()
    engine = wasmtime.Engine()
    module, twin = wasmtime.Module(engine, core.read_bytes()), wasmtime.Module(engine, (crash_component / TWIN_NAME).read_bytes())
    imports = [(i.module, i.name) for i in module.imports]
    assert [(i.module, i.name) for i in twin.imports] == [*imports, (POLL_MODULE, POLL_NAME)]
    assert [e.name for e in twin.exports] == [e.name for e in module.exports]
    # every defined function one index on, in the same order (the poll is the last import)
    assert [(i + 1, name) for i, name in functions(core)] == functions(crash_component / TWIN_NAME)


def test_the_component_symbols_name_the_game_s_core_module(crash_component: Path) -> None:
    symbols = Symbols.from_bytes((crash_component / COMPONENT_SYMBOLS_NAME).read_bytes())
    core = crash_component / TRANSPILED_DIR / GAME_CORE
    loops = [offset for body in instructions(wabt("wasm-objdump", "-d", str(core))) for offset, op in body if op == "loop"]
    named = [(f.function, f.file, f.line) for offset in loops for f in symbols.frames(offset)[:1]]
    assert ("spin", "crash.c", line_of("spin")) in named, named  # the transpiled module's offsets, as compiled
    core_symbols = json.loads((crash_component / SYMBOLS_NAME).read_text())
    assert core_symbols["module_sha256"] != symbols.module_sha256  # game.symbols.json: game.wasm's, another compile
