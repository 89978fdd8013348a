"""CPU: the same C kernels natively, in wasm under each CpuLimit (off, epoch, fuel), and on the
AOT tier (the module translated by wasm2c and compiled by zig, with its whole sandbox on: guard
pages, the memory cap and a per-call deadline).

Rounds interleave native and every wasm mode, so background load hits all alike; each cell is
the median over rounds. Ratio = native time / wasm time (1.0 = native speed). n-body and matmul
also compare checksums: the wasm result must be bit-identical to the native one.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from bench.kernels import KERNELS, SPRITES, Kernel, build_native, build_wasm
from bench.report import Section, table
from bench.timing import clock, median, ms, ratio
from bench.workload import DEADLINE_MS, guest_export, open_game
from layerw.bundle import Bundle
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.aot.library import AotInstance, Library
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import MAX_TABLE_ELEMENTS, MAX_TABLES
from layerw.runtime.inputs import InputState

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


KERNEL_EXPORTS = ("_initialize", "run")
KERNEL_CAP_PAGES = 16384  # 1 GiB: a kernel's memory cap on the AOT tier


def _no_imports(index: int, args: Any, result: Any) -> int:
    return 1  # a kernel calls no host function while it runs: any call traps


def aot(compiler: AotCompiler, path: Path) -> Run:
    """A kernel module on the AOT tier: ``run`` called through lw_call, its deadline armed."""
    lib = Library(compiler.runtime(), compiler.module(path.read_bytes(), path.stem, KERNEL_EXPORTS))
    instance = AotInstance(lib, _no_imports, cap_pages=KERNEL_CAP_PAGES, max_tables=MAX_TABLES,
                           max_table_elements=MAX_TABLE_ELEMENTS)
    for which in (0, 1):  # instantiate, _initialize
        code, _ = instance.call(which, (), DEADLINE_MS)
        assert code == 0, f"{path.name}: trap {code}"

    def run(iterations: int) -> tuple[float, float | None]:
        t0 = clock()
        code, bits = instance.call(2, (iterations,), DEADLINE_MS)
        elapsed = clock() - t0
        assert code == 0, f"{path.name}: trap {code}"
        return elapsed, struct.unpack("<d", struct.pack("<Q", bits))[0]
    return run


def aot_game_ticks(engine: Engine, compiler: AotCompiler, build_dir: Path) -> Run:
    """The sprites game's lw_tick on the AOT tier, called ``ticks`` times back to back (each call
    with its own deadline, as a game's ticks have)."""
    game = AotGame(Bundle.open(build_dir), engine, compiler)
    game.tick(InputState())

    def run(ticks: int) -> tuple[float, float | None]:
        t0 = clock()
        for _ in range(ticks):
            game.raw_call("lw_tick", deadline_ms=DEADLINE_MS)
        return clock() - t0, None
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
    compiler = AotCompiler(cache=out_dir / "aot")
    results: dict[str, dict[str, object]] = {}
    try:
        for kernel in KERNELS:
            module = build_wasm(kernel, out_dir / "wasm")
            runs = {"native": native(build_native(kernel, out_dir / "native"))}
            runs |= {mode.value: wasm(engines[mode], module) for mode in MODES}
            runs["aot"] = aot(compiler, module)
            results[kernel.name] = measure(kernel, runs, rounds)
        runs = {"native": native(build_native(SPRITES, out_dir / "native"), checksum=False)}
        runs |= {mode.value: game_ticks(engines[mode], sprites_build) for mode in MODES}
        runs["aot"] = aot_game_ticks(engines[CpuLimit.OFF], compiler, sprites_build)
        results[SPRITES.name] = measure(SPRITES, runs, rounds)
    finally:
        for engine in engines.values():
            engine.close()
    return _section(results)


def _section(results: dict[str, dict[str, object]]) -> Section:
    t = table("1. Guest CPU speed vs native (ms per run, median; ratio = native / guest, 1.0 = native speed)",
              "kernel", "work per run", "native ms", "AOT tier ms", "wasm off ms", "epoch ms", "fuel ms", "checksum")
    notes = ["checksum: n-body and matmul results are compared bit for bit across all five builds"]
    ratios: list[float] = []
    for name, r in results.items():
        m, q = r["ms"], r["ratio"]
        assert isinstance(m, dict) and isinstance(q, dict)
        cells = [f"{ms(m[mode] / 1e3)} ({q[mode]:.2f})" for mode in ("aot", *(mode.value for mode in MODES))]
        same = r["checksums_match"]
        t.add_row(name, str(r["work"]), ms(m["native"] / 1e3), *cells,
                  "n/a" if same is None else ("same" if same else "DIFFERS"))
        ratios.append(q["aot"])
        off = m["off"]
        r["overhead_vs_off"] = {mode: m[mode] / off - 1 for mode in ("epoch", "fuel")}
        notes.append(f"{name}: epoch +{(m['epoch'] / off - 1) * 100:.0f}%, fuel +{(m['fuel'] / off - 1) * 100:.0f}% over off")
    geomean = 1.0
    for x in ratios:
        geomean *= x
    notes.append(f"AOT tier geomean: {geomean ** (1 / len(ratios)):.2f}x native (its whole sandbox on: guard pages, "
                 "memory cap, a deadline on every call)")
    notes.append("native: zig cc -O2 -mcpu=baseline (SSE2); wasm: zig cc --target=wasm32-wasi -O2 -msimd128, "
                 "wasmtime Cranelift (opt speed, SIMD on); AOT: wasm2c, zig cc -O2 -mcpu=baseline (SIMD128 via simde); "
                 "sprites = the built game's lw_tick export")
    return Section("cpu", t, results, notes)
