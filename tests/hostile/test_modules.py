"""The hostile module corpus, loaded as games: each ends in its typed error (or runs harmlessly),
within a bounded peak of host memory, while a healthy game beside it keeps ticking on time."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from layerw.errors import ContractError, GameError, GameTimedOut, InvalidModule, LayerWError
from layerw.runtime import worker
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame
from tests.hostile.harness import LIMITS, Pacer, bounded_memory, exercise, limits_for
from tests.hostile.modules import CASES, LOOPS, Case
from tests.wat import bundle, contract_wat


@pytest.fixture(scope="module")
def fuel_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with Engine(CpuLimit.FUEL, cache=tmp_path_factory.mktemp("fuel")) as e:
        yield e


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    b = bundle(tmp_path, case.wasm, **limits_for(case.expect, case.limits))
    with pacer.watch(), bounded_memory(case.peak_mb):
        err = exercise(b, engine)
    if case.expect is None:
        assert err is None, f"{case.name}: expected to run, got {err!r}"
    else:
        assert isinstance(err, case.expect), f"{case.name}: expected {case.expect.__name__}, got {err!r}"
        assert case.match in str(err), f"{case.name}: {case.match!r} not in {err}"


@pytest.mark.parametrize("limit", ["epoch", "fuel"])
@pytest.mark.parametrize("entry", list(LOOPS))
def test_infinite_loop_in_every_entry_point(entry: str, limit: str, tmp_path: Path, engine: Engine,
                                            fuel_engine: Engine, pacer: Pacer) -> None:
    b = bundle(tmp_path, LOOPS[entry], **LIMITS)
    with pacer.watch():
        err = exercise(b, engine if limit == "epoch" else fuel_engine)
    assert isinstance(err, GameTimedOut), err
    where, tick = {"start": ("instantiate", 0), "lw_render": ("lw_render", 3)}.get(entry, (entry, 0))
    assert f"hostile at tick {tick} in {where}: ran past its CPU deadline of 50 ms" in str(err)


@pytest.mark.parametrize("entry", list(LOOPS))
def test_infinite_loop_under_the_watchdog(entry: str, tmp_path: Path, pacer: Pacer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """No in-guest checks at all: the worker is killed from outside; the host process goes on."""
    at_start = entry not in ("lw_tick", "lw_render")
    if at_start:  # start-up (spawn, compile, _initialize, lw_init) has its own, longer deadline
        monkeypatch.setattr(worker, "START_TIMEOUT_S", 1.5)
    b = bundle(tmp_path, LOOPS[entry], **LIMITS)
    with pacer.watch():
        with pytest.raises(GameTimedOut, match="the worker was stopped") as err:
            with WorkerGame(b, cache=tmp_path / "cache") as game:
                game.tick(InputState())
                game.render()
    assert f"in {'start' if at_start else entry}:" in str(err.value)


def test_worker_killed_from_outside_is_a_game_error(tmp_path: Path, pacer: Pacer) -> None:
    with pacer.watch(), WorkerGame(bundle(tmp_path, contract_wat(), **LIMITS), cache=tmp_path / "cache") as game:
        game.tick(InputState())
        game.wait()
        game._proc.kill()
        with pytest.raises(GameError, match="worker process died"):
            game.tick(InputState())
            game.render()


def _contract_module() -> bytes:
    count = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"
    return wasmtime.wat2wasm(contract_wat(tick=count, render="(i32.const 0)"))


def test_every_truncation(tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    """Every proper prefix of a valid game: a prefix ending on a section boundary is a valid module
    missing its exports (ContractError) or, past the last code, only its name section (it runs);
    any other is InvalidModule."""
    data = _contract_module()
    outcomes: dict[str, int] = {}
    with pacer.watch():
        for n in range(len(data)):
            err = exercise(bundle(tmp_path / str(n), data[:n], **LIMITS), engine)
            assert err is None or isinstance(err, (InvalidModule, ContractError)), f"prefix of {n} bytes: {err!r}"
            outcomes[type(err).__name__] = outcomes.get(type(err).__name__, 0) + 1
    assert outcomes["InvalidModule"] > len(data) // 2


def test_byte_mutations(tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    """300 seeded mutations (flip, overwrite, insert, delete) of a valid game: each ends in a typed
    error or runs."""
    data = _contract_module()
    rng = random.Random(1234)
    outcomes: dict[str, int] = {}
    with pacer.watch():
        for i in range(300):
            m = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(m))
                kind = rng.randrange(4)
                if kind == 0:
                    m[at] ^= 1 << rng.randrange(8)
                elif kind == 1:
                    m[at] = rng.choice((0x00, 0x7F, 0x80, 0xFF, rng.randrange(256)))
                elif kind == 2:
                    m[at:at] = rng.randbytes(rng.randint(1, 8))
                else:
                    del m[at:at + rng.randint(1, 8)]
            err = exercise(bundle(tmp_path / str(i), bytes(m), **LIMITS), engine)
            assert err is None or isinstance(err, LayerWError)
            outcomes[type(err).__name__] = outcomes.get(type(err).__name__, 0) + 1
    assert len(outcomes) >= 3, outcomes  # the mutations reach past the parser


@pytest.mark.parametrize("module", [random.Random(3).randbytes(2048), b"\0asm\x01\0\0\0" + random.Random(4).randbytes(64)])
def test_layerw_run_on_random_bytes_exits_with_a_typed_error(tmp_path: Path, module: bytes) -> None:
    bundle(tmp_path / "build", module, **LIMITS)
    run = subprocess.run([sys.executable, "-m", "layerw.cli", "run", str(tmp_path / "build"), "--headless", "--ticks", "5"],
                         capture_output=True, text=True, timeout=120, env=os.environ | {"LAYERW_CACHE_DIR": str(tmp_path)})
    out = run.stdout + run.stderr
    assert run.returncode == 1 and "Traceback" not in out, out
    assert "error: InvalidModule:" in out, out
