"""Bound: what each way of bounding a tick's CPU costs per frame, on the sprites game.

In-process bounds (wasmtime epoch or fuel checks) tax the guest's own loops, so their cost grows
with the work a tick does. The watchdog bound (the guest in a worker process, killed past its
deadline) costs a fixed pipe round trip per call plus one copy of the command list, whatever the
work. Measured at two loads so the crossover is visible; rounds interleave the four bounds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.report import Section, table
from bench.timing import clock, median, ms
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.worker import WorkerGame

LOADS = (10_000, 80_000)
FRAMES = 20  # tick + render pairs per sample
BOUNDS = ("off", "epoch", "fuel", "watchdog")


def _build_with_count(sprites_build: Path, out_dir: Path, count: int) -> Path:
    """A copy of the sprites build whose preloaded config.txt asks for ``count`` sprites."""
    path = out_dir / f"sprites-{count}"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(sprites_build, path)
    (path / "assets" / "config.txt").write_text(f"count={count}\n")
    return path


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    state = InputState()
    results: dict[int, dict[str, float]] = {}
    engines = {limit: Engine(limit, cache=out_dir / "modules") for limit in CpuLimit}
    try:
        for count in LOADS:
            bundle = Bundle.open(_build_with_count(sprites_build, out_dir, count))
            games: dict[str, Game | WorkerGame] = {
                limit.value: Game(bundle, engines[limit]) for limit in CpuLimit}
            games["watchdog"] = WorkerGame(bundle, cache=out_dir / "modules")
            samples: dict[str, list[float]] = {b: [] for b in BOUNDS}
            try:
                for _ in range(rounds):
                    for name in BOUNDS:
                        game = games[name]
                        t0 = clock()
                        for _ in range(FRAMES):
                            game.tick(state)
                            game.render()
                        samples[name].append((clock() - t0) / FRAMES)
            finally:
                for g in games.values():
                    g.close()
            results[count] = {b: median(s) for b, s in samples.items()}
    finally:
        for e in engines.values():
            e.close()
    t = table(f"5. CPU bound cost per frame (tick + render), sprites game (median of {rounds} x {FRAMES} frames)",
              "sprites", "off ms", "epoch ms (+%)", "fuel ms (+%)", "watchdog ms (+%)")
    data: dict[str, object] = {"frames_per_sample": FRAMES, "rounds": rounds, "ms": {}}
    for count, r in results.items():
        off = r["off"]
        t.add_row(f"{count:,}", ms(off), *(f"{ms(r[b])} ({(r[b] / off - 1) * 100:+.0f}%)" for b in BOUNDS[1:]))
        data["ms"][str(count)] = {b: v * 1e3 for b, v in r.items()}  # type: ignore[index]
    notes = ["watchdog = guest with no checks in a worker process; per frame it pays two pipe round trips "
             "and one copy of the command list, not a check per loop iteration"]
    return Section("bound", t, data, notes)
