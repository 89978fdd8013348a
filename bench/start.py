"""Start: from nothing to the first tick, with the compiled-module cache warm vs cold.

Each start creates an Engine, opens the build, constructs the Game (compile or deserialise,
instantiate, _initialize, lw_init) and runs the first tick. Cold starts get an empty cache
directory each, so they include Cranelift compiling the module and writing the artefact; warm
starts share one directory that already holds it. Rounds interleave the two.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench.report import Section, table
from bench.timing import clock, median, ms, ratio
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState

CPU_LIMIT = CpuLimit.EPOCH


def _start(build_dir: Path, cache: Path) -> dict[str, float]:
    """Seconds to each stage of one start, cumulative from Engine construction."""
    t0 = clock()
    engine = Engine(CPU_LIMIT, cache=cache)
    t1 = clock()
    game = Game(Bundle.open(build_dir), engine)
    t2 = clock()
    game.tick(InputState())
    t3 = clock()
    game.close()
    engine.close()
    return {"engine": t1 - t0, "game": t2 - t1, "first_tick": t3 - t2, "total": t3 - t0}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    scratch = Path(tempfile.mkdtemp(prefix="bench-start-", dir=out_dir))
    try:
        warm_cache = scratch / "warm"
        _start(sprites_build, warm_cache)  # fills the warm cache
        samples: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
        for i in range(rounds):
            samples["cold"].append(_start(sprites_build, scratch / f"cold-{i}"))
            samples["warm"].append(_start(sprites_build, warm_cache))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    m = {kind: {stage: median([s[stage] for s in runs]) for stage in runs[0]} for kind, runs in samples.items()}
    module_kib = len((sprites_build / "game.wasm").read_bytes()) // 1024
    data = {"ms": {kind: {k: v * 1e3 for k, v in stages.items()} for kind, stages in m.items()},
            "ratio_cold_over_warm": m["cold"]["total"] / m["warm"]["total"], "rounds": rounds,
            "module_kib": module_kib, "cpu_limit": CPU_LIMIT.value}
    t = table(f"4. Start to first tick, sprites game ({module_kib} KiB module; median of {rounds} starts each)",
              "cache", "Engine() ms", "Game() ms", "first tick ms", "total ms", "x faster than cold")
    for kind in ("cold", "warm"):
        s = m[kind]
        t.add_row(f"{kind} ({'empty dir: Cranelift compile' if kind == 'cold' else 'deserialise .cwasm'})",
                  ms(s["engine"]), ms(s["game"]), ms(s["first_tick"]), ms(s["total"]),
                  f"{ratio(m['cold']['total'], s['total']):.2f}")
    notes = [f"warm start is {m['cold']['total'] / m['warm']['total']:.1f}x faster than cold; Game() = Bundle.open + "
             "compile/load + instantiate + _initialize + lw_init (10k sprites spawned)"]
    return Section("start", t, data, notes)
