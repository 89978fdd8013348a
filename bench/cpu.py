"""CPU: the same C kernels natively and in wasm under each CpuLimit (off, epoch, fuel).

Rounds interleave native and every wasm mode, so background load hits all alike; each cell is
the median over rounds. Ratio = native time / wasm time (1.0 = native speed). n-body and matmul
also compare checksums: the wasm result must be bit-identical to the native one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import wasmtime

from bench.kernels import KERNELS, SPRITES, Kernel, build_native, build_wasm
from bench.report import Section, table
from bench.timing import clock, median, ms, ratio
from bench.workload import DEADLINE_MS, guest_export, open_game
from layerw.runtime.engine import CpuLimit, Engine

MODES = (CpuLimit.OFF, CpuLimit.EPOCH, CpuLimit.FUEL)
Run = Callable[[int], tuple[float, float | None]]  # iterations -> (seconds, checksum)


def native(exe: Path, checksum: bool = True) -> Run:
    """The native executable, one process per round (a warm-up run, then the timed one)."""
    def run(iterations: int) -> tuple[float, float | None]:
        out = subprocess.run([str(exe), str(iterations), "1"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split() for line in out.splitlines())
        return int(fields["ns"]) / 1e9, float(fields["checksum"]) if checksum else None
    return run


def wasm(engine: Engine, path: Path) -> Run:
    """An instance of a kernel module (WASI defined, no capabilities) calling its ``run``."""
    store = wasmtime.Store(engine.wasmtime)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine.wasmtime)
    linker.define_wasi()
    exports = linker.instantiate(store, engine.compile(path.read_bytes())).exports(store)
    funcs = {name: f for name, f in exports.items() if isinstance(f, wasmtime.Func)}
    engine.arm(store, DEADLINE_MS)
    if "_initialize" in funcs:
        funcs["_initialize"](store)
    func = funcs["run"]

    def run(iterations: int) -> tuple[float, float | None]:
        engine.arm(store, DEADLINE_MS)
        t0 = clock()
        result = func(store, iterations)
        return clock() - t0, float(result)
    return run


def game_ticks(engine: Engine, build_dir: Path) -> Run:
    """The sprites game's lw_tick export, called ``ticks`` times back to back."""
    game = open_game(build_dir, engine)
    tick = guest_export(game, "lw_tick")

    def run(ticks: int) -> tuple[float, float | None]:
        engine.arm(game.store, DEADLINE_MS)
        store = game.store
        t0 = clock()
        for _ in range(ticks):
            tick(store)
        return clock() - t0, None
    return run


def measure(kernel: Kernel, runs: dict[str, Run], rounds: int) -> dict[str, object]:
    """One warm-up call of each run, then ``rounds`` interleaved samples; medians, ratios to
    ``runs['native']`` and whether every run's checksum agrees."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    checksums: dict[str, float | None] = {}
    for run in runs.values():
        run(kernel.iterations)  # warm-up: page in code and data
    for _ in range(rounds):
        for name, run in runs.items():
            seconds, checksum = run(kernel.iterations)
            samples[name].append(seconds)
            checksums[name] = checksum
    medians = {name: median(s) for name, s in samples.items()}
    known = [c for c in checksums.values() if c is not None]
    return {
        "work": kernel.work, "iterations": kernel.iterations,
        "ms": {name: m * 1e3 for name, m in medians.items()},
        "ratio": {name: ratio(medians["native"], m) for name, m in medians.items() if name != "native"},
        "checksums_match": len(set(known)) == 1 if len(known) == len(checksums) else None,
        "rounds": rounds,
    }


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    engines = {mode: Engine(mode, cache=out_dir / "modules") for mode in MODES}
    results: dict[str, dict[str, object]] = {}
    try:
        for kernel in KERNELS:
            module = build_wasm(kernel, out_dir / "wasm")
            runs = {"native": native(build_native(kernel, out_dir / "native"))}
            runs |= {mode.value: wasm(engines[mode], module) for mode in MODES}
            results[kernel.name] = measure(kernel, runs, rounds)
        runs = {"native": native(build_native(SPRITES, out_dir / "native"), checksum=False)}
        runs |= {mode.value: game_ticks(engines[mode], sprites_build) for mode in MODES}
        results[SPRITES.name] = measure(SPRITES, runs, rounds)
    finally:
        for engine in engines.values():
            engine.close()
    return _section(results)


def _section(results: dict[str, dict[str, object]]) -> Section:
    t = table("1. Guest CPU speed vs native (ms per run, median; ratio = native / wasm, 1.0 = native speed)",
              "kernel", "work per run", "native ms", "wasm off ms", "epoch ms", "fuel ms", "checksum")
    notes = ["checksum: n-body and matmul results are compared bit for bit across all four builds"]
    for name, r in results.items():
        m, q = r["ms"], r["ratio"]
        assert isinstance(m, dict) and isinstance(q, dict)
        cells = [f"{ms(m[mode.value] / 1e3)} ({q[mode.value]:.2f})" for mode in MODES]
        same = r["checksums_match"]
        t.add_row(name, str(r["work"]), ms(m["native"] / 1e3), *cells,
                  "n/a" if same is None else ("same" if same else "DIFFERS"))
        off = m["off"]
        r["overhead_vs_off"] = {mode: m[mode] / off - 1 for mode in ("epoch", "fuel")}
        notes.append(f"{name}: epoch +{(m['epoch'] / off - 1) * 100:.0f}%, fuel +{(m['fuel'] / off - 1) * 100:.0f}% over off")
    notes.append("native: zig cc -O2 -mcpu=baseline (SSE2); wasm: zig cc --target=wasm32-wasi -O2 -msimd128, "
                 "wasmtime Cranelift (opt speed, SIMD on); sprites wasm = the built game's lw_tick export")
    return Section("cpu", t, results, notes)
