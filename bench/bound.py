"""Bound: what each way of bounding a tick's CPU costs per frame, on the sprites game.

In-process bounds (wasmtime epoch or fuel checks) tax the guest's own loops, so their cost grows
with the work a tick does. The watchdog bound (the guest in a worker process, killed past its
deadline) costs a fixed pipe round trip per call plus one copy of the command list, whatever the
work. Measured at two loads so the crossover is visible; rounds interleave the four bounds.
"""

from __future__ import annotations

from pathlib import Path

from bench.report import Section, table
from bench.timing import clock, median, ms
from bench.workload import with_count
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier
from layerw.runtime.worker import WorkerGame

LOADS = (10_000, 80_000)
FRAMES = 20  # tick + render pairs per sample
BOUNDS = ("off", "epoch", "fuel", "watchdog")
MODES = ("tick + render", "ticks only")  # a window or browser host / a headless or server host


def _sample(game: GameHost, state: InputState, render: bool) -> float:
    """Seconds per frame over FRAMES frames: a tick (and a render), then wait for every answer."""
    t0 = clock()
    for _ in range(FRAMES):
        game.tick(state)
        if render:
            game.render()
    game.wait()  # the watchdog's worker pipelines ticks; in-process hosts have nothing in flight
    return (clock() - t0) / FRAMES


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    state = InputState()
    results: dict[tuple[int, str], dict[str, float]] = {}
    engines = {limit: Engine(limit, cache=out_dir / "modules") for limit in CpuLimit if limit.in_process}
    try:
        for count in LOADS:
            bundle = Bundle.open(with_count(sprites_build, out_dir, count))
            games: dict[str, GameHost] = {limit.value: start_game(bundle, engine, tier=Tier.WASMTIME)  # wasmtime's bounds
                                            for limit, engine in engines.items()}
            games[CpuLimit.WATCHDOG.value] = WorkerGame(bundle, cache=out_dir / "modules")
            try:
                for mode in MODES:
                    samples: dict[str, list[float]] = {b: [] for b in BOUNDS}
                    for _ in range(rounds):
                        for name in BOUNDS:
                            samples[name].append(_sample(games[name], state, render=mode == "tick + render"))
                    results[(count, mode)] = {b: median(s) for b, s in samples.items()}
            finally:
                for g in games.values():
                    g.close()
    finally:
        for e in engines.values():
            e.close()
    t = table(f"5. CPU bound cost per frame, sprites game (median of {rounds} x {FRAMES} frames)",
              "sprites", "per frame", "off ms", "epoch ms (+%)", "fuel ms (+%)", "watchdog ms (+%)")
    data: dict[str, object] = {"frames_per_sample": FRAMES, "rounds": rounds, "ms": {}}
    for (count, mode), r in results.items():
        off = r["off"]
        t.add_row(f"{count:,}", mode, ms(off), *(f"{ms(r[b])} ({(r[b] / off - 1) * 100:+.0f}%)" for b in BOUNDS[1:]))
        data["ms"][f"{count} {mode}"] = {b: v * 1e3 for b, v in r.items()}  # type: ignore[index]
    notes = ["watchdog = guest with no checks in a worker process; it pays pipe round trips (ticks are "
             "pipelined) and one copy of the command list per render, not a check per loop iteration"]
    return Section("bound", t, data, notes)
