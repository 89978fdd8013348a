"""The hostile module corpus on the AOT tier: every case ends in the same typed error as on
wasmtime (or runs harmlessly), within the same bound on host memory, while a healthy game beside
it keeps ticking on time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameOutOfMemory, GameTimedOut, InvalidModule, LayerWError
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.memoryhost import MemoryHost
from layerw.toolchain.build import build
from tests.hostile.harness import LIMITS, Pacer, bounded_memory, exercise, limits_for
from tests.hostile.modules import CASES, LOOPS, Case
from tests.hostile.test_c_modules import MODES, game_dir
from tests.wat import bundle

# wasm GC is wasmtime's alone: wasm2c does not translate it, so the AOT tier refuses the module
# (it never starts) instead of running it into the memory cap
OTHER_OUTCOME: dict[str, tuple[type[LayerWError], str]] = {
    "GC array of 400 MB (wasm GC)": (InvalidModule, "the AOT tier cannot translate this module"),
}


def _on(compiler: AotCompiler) -> Callable[[Bundle, Engine, int], MemoryHost]:
    def start(b: Bundle, engine: Engine, seed: int) -> MemoryHost:
        return AotGame(b, engine, compiler, seed=seed)
    return start


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path, engine: Engine, pacer: Pacer, aot_compiler: AotCompiler) -> None:
    expect, match = OTHER_OUTCOME.get(case.name, (case.expect, case.match))
    b = bundle(tmp_path, case.wasm, **limits_for(expect, case.limits))
    with pacer.watch(), bounded_memory(case.peak_mb):
        err = exercise(b, engine, start=_on(aot_compiler))
    if expect is None:
        assert err is None, f"{case.name}: expected to run, got {err!r}"
    else:
        assert isinstance(err, expect), f"{case.name}: expected {expect.__name__}, got {err!r}"
        assert match in str(err), f"{case.name}: {match!r} not in {err}"


@pytest.mark.parametrize("entry", list(LOOPS))
def test_infinite_loop_in_every_entry_point(entry: str, tmp_path: Path, engine: Engine, pacer: Pacer,
                                            aot_compiler: AotCompiler) -> None:
    b = bundle(tmp_path, LOOPS[entry], **LIMITS)
    with pacer.watch():
        err = exercise(b, engine, start=_on(aot_compiler))
    assert isinstance(err, GameTimedOut), err
    where, tick = {"start": ("instantiate", 0), "lw_render": ("lw_render", 3)}.get(entry, (entry, 0))
    assert f"hostile at tick {tick} in {where}: ran past its CPU deadline of 50 ms" in str(err)


@pytest.fixture(scope="module")
def hostile_c(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    tmp = tmp_path_factory.mktemp("c")
    return Bundle.open(build(game_dir(tmp, "hostile.c"), tmp / "build").out)


@pytest.mark.parametrize("mode", list(MODES))
def test_c_mode(mode: str, hostile_c: Bundle, engine: Engine, pacer: Pacer, aot_compiler: AotCompiler) -> None:
    seed, expect, fragment = MODES[mode]
    with pacer.watch():
        err = exercise(hostile_c, engine, seed=seed, start=_on(aot_compiler))
    if expect is None:
        assert err is None, f"{mode}: {err!r}"
    else:
        assert isinstance(err, expect), f"{mode}: expected {expect.__name__}, got {err!r}"
        assert fragment in str(err), f"{mode}: {fragment!r} not in {err}"


@pytest.mark.parametrize("source, expect, fragment", [
    ("ctor.c", GameTimedOut, "in _initialize"), ("huge_static.c", GameOutOfMemory, "initial memory")])
def test_c_module_refused_at_start(source: str, expect: type[LayerWError], fragment: str, tmp_path: Path,
                                   engine: Engine, pacer: Pacer, aot_compiler: AotCompiler) -> None:
    b = Bundle.open(build(game_dir(tmp_path, source), tmp_path / "build").out)
    with pacer.watch():
        err = exercise(b, engine, start=_on(aot_compiler))
    assert isinstance(err, expect) and fragment in str(err), err
