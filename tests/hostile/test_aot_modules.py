"""The hostile module corpus on the AOT tier: every case ends in the same typed error as on
wasmtime (or runs harmlessly), within the same bound on host memory, while a healthy game beside
it keeps ticking on time."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import GameTimedOut, InvalidModule, LayerWError
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.memoryhost import MemoryHost
from tests.hostile.harness import Pacer, bounded_memory, exercise
from tests.hostile.modules import CASES, LOOPS, Case
from tests.wat import bundle

LIMITS = {"memory_mb": 4, "tick_ms": 50}
# wasm GC is wasmtime's alone: wasm2c does not translate it, so the AOT tier refuses the module
# (it never starts) instead of running it into the memory cap
OTHER_OUTCOME: dict[str, tuple[type[LayerWError], str]] = {
    "GC array of 400 MB (wasm GC)": (InvalidModule, "the AOT tier cannot translate this module"),
}


def _on(compiler: AotCompiler) -> object:
    def start(b: Bundle, engine: Engine, seed: int) -> MemoryHost:
        return AotGame(b, engine, compiler, seed=seed)
    return start


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path, engine: Engine, pacer: Pacer, aot_compiler: AotCompiler) -> None:
    b = bundle(tmp_path, case.wasm, **(LIMITS | case.limits))
    with pacer.watch(), bounded_memory(case.peak_mb):
        err = exercise(b, engine, start=_on(aot_compiler))  # type: ignore[arg-type]
    expect, match = OTHER_OUTCOME.get(case.name, (case.expect, case.match))
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
        err = exercise(b, engine, start=_on(aot_compiler))  # type: ignore[arg-type]
    assert isinstance(err, GameTimedOut), err
    where, tick = {"start": ("instantiate", 0), "lw_render": ("lw_render", 3)}.get(entry, (entry, 0))
    assert f"hostile at tick {tick} in {where}: ran past its CPU deadline of 50 ms" in str(err)
