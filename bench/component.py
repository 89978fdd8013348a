"""Component: what the Component Model path costs against the core-module path, natively.

Per frame both paths cross into the guest twice (tick, render); a component call also lowers and
lifts its values (the input's bytes in, the command list out: one copy where the core path reads
guest memory in place) and runs ``post_return``. Measured on pong (a ~1 KiB command list) and on
the sprites workload (10k sprites, ~480 KiB). The stock wasmtime-py conversion of that list (one
Python int per byte, what a typed list<record> would cost per field) is timed beside the byte fast
path of ``layerw.runtime.canon``.

Start: from nothing to the first tick, cold (empty compiled-artefact cache) and warm, for the pong
component (C) and for orbs linking its Python physics plugin (componentize-py: a whole CPython).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from bench.report import Section, table
from bench.timing import clock, median, ms, us
from layerw.bundle import MODULE_NAME, Bundle
from layerw.runtime import canon
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.component import build_plugin

ROOT = Path(__file__).resolve().parents[1]
CPU_LIMIT = CpuLimit.EPOCH


def _core(build_dir: Path) -> Bundle:
    bundle = Bundle.open(build_dir)
    bundle.config = dataclasses.replace(bundle.config, component=False)
    bundle.module = (build_dir / MODULE_NAME).read_bytes()
    return bundle


def _frame_costs(game: Game | ComponentGame, frames: int) -> dict[str, float]:
    inputs = InputState()
    for _ in range(10):
        game.tick(inputs)
        game.render()
    tick, render = [], []
    for _ in range(frames):
        t0 = clock()
        game.tick(inputs)
        t1 = clock()
        bytes(game.render()) if isinstance(game, ComponentGame) else game.render()
        t2 = clock()
        tick.append(t1 - t0)
        render.append(t2 - t1)
    return {"tick": median(tick), "render": median(render), "frame": median(tick) + median(render)}


def _stock_render(game: ComponentGame, rounds: int) -> float:
    """render() with wasmtime-py's own per-byte list conversion instead of the fast path."""
    fast = canon._types.ListType.convert_from_c
    canon._types.ListType.convert_from_c = canon._from_c  # type: ignore[method-assign]
    try:
        samples = []
        for _ in range(rounds):
            t0 = clock()
            game.render()
            samples.append(clock() - t0)
        return median(samples)
    finally:
        canon._types.ListType.convert_from_c = fast  # type: ignore[method-assign]


def _start(bundle: Bundle, cache: Path) -> float:
    t0 = clock()
    with Engine(CPU_LIMIT, cache=cache) as engine, ComponentGame(bundle, engine) as game:
        game.tick(InputState())
        return clock() - t0


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    work = Path(tempfile.mkdtemp(prefix="bench-component-", dir=out_dir))
    try:
        builds = {"pong": build(ROOT / "games" / "pong", work / "pong", component=True).out,
                  "sprites": build(ROOT / "games" / "sprites", work / "sprites", component=True).out}
        orbs = build(ROOT / "games" / "orbs", work / "orbs").out
        build_plugin(ROOT / "games" / "orbs" / "plugins" / "gravity", orbs / "plugins" / "bounce.wasm")
        frames = max(20, rounds)
        data: dict[str, object] = {"frames": frames}
        t = table(f"7. Component vs core module, per frame (median of {frames} frames; 2 calls per frame on both paths)",
                  "game / path", "tick µs", "render µs", "frame µs", "x core")
        with Engine(CPU_LIMIT, cache=work / "modules") as engine:
            for name, build_dir in builds.items():
                with Game(_core(build_dir), engine) as core, ComponentGame(Bundle.open(build_dir), engine) as comp:
                    costs = {"core": _frame_costs(core, frames), "component": _frame_costs(comp, frames)}
                    size = len(comp.render())
                    stock = _stock_render(comp, max(3, frames // 20 if name == "sprites" else frames))
                data[name] = {k: {s: v * 1e6 for s, v in c.items()} for k, c in costs.items()} | {
                    "command_bytes": size, "stock_render_us": stock * 1e6}
                for path, c in costs.items():
                    t.add_row(f"{name} ({size:,} B commands) / {path}", us(c["tick"]), us(c["render"]), us(c["frame"]),
                              f"{c['frame'] / costs['core']['frame']:.1f}")
                t.add_row(f"{name} / component, stock list<u8> lift", "", us(stock), "", "")
        starts: dict[str, dict[str, float]] = {}
        for name, build_dir in (("pong component (C)", builds["pong"]), ("orbs + Python plugin", orbs)):
            bundle = Bundle.open(build_dir)
            warm_cache = work / f"warm-{len(starts)}"
            _start(bundle, warm_cache)
            n = max(2, rounds // 10)
            cold = [_start(bundle, work / f"cold-{len(starts)}-{i}") for i in range(n)]
            warm = [_start(bundle, warm_cache) for _ in range(n)]
            starts[name] = {"cold_ms": median(cold) * 1e3, "warm_ms": median(warm) * 1e3}
            t.add_row(f"start: {name}", "", "", f"cold {ms(median(cold))} ms", f"warm {ms(median(warm))} ms")
        data["start"] = starts
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = ["component frame = lower the input (list<u8>), lift the command list (one copy) and post_return on each call; "
             "the core path writes the input into guest memory and views the command list in place",
             "stock lift = wasmtime-py's per-element conversion: what a typed list<record> would cost per field, "
             "hence list<u8> in the world"]
    return Section("component", t, data, notes)
