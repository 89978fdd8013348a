"""Web ticks: the sprites game's lw_tick and the n-body kernel in Chromium (V8), native wasmtime
and native code, measured in one run and interleaved by round (a ratio table).

The same bytes run everywhere: the page's sprites game is the module `layerw serve` streamed (its
raw lw_tick export, called back to back like bench/cpu.py calls it in wasmtime), and the n-body
module bench/cpu.py builds is handed to the page and instantiated there (it imports nothing).
Native code is the same C built by zig for the host CPU (bench/kernels). The n-body checksums
(the final energy) must agree bit for bit across all hosts.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.cpu import Run, Sample, game_ticks, measure, native, wasm
from bench.kernels import KERNELS, SPRITES, build_native, build_wasm
from bench.report import table
from layerw.runtime.engine import CpuLimit, Engine

NBODY = KERNELS[0]
WASMTIME = (CpuLimit.OFF, CpuLimit.EPOCH)
HOSTS = ("native", *(f"wasmtime {m.value}" for m in WASMTIME), "chromium")
TICK_LOOP = """(n) => {
  const tick = window.layerw.client().game.exports.lw_tick;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) tick();
  return (performance.now() - t0) / 1000;
}"""
KERNEL_LOAD = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  if (instance.exports._initialize) instance.exports._initialize();
  window.benchKernel = instance.exports.run;
}"""
KERNEL_RUN = """(n) => {
  const t0 = performance.now();
  const result = window.benchKernel(n);
  return [(performance.now() - t0) / 1000, result];
}"""


def chromium_ticks(page: Any) -> Run:
    """The page's game (stopped, so nothing else ticks it): its lw_tick export in a loop."""
    def run(ticks: int) -> Sample:
        return Sample(float(page.evaluate(TICK_LOOP, ticks)), None, None)
    return run


def chromium_kernel(page: Any, module: Path) -> Run:
    """A kernel module instantiated in the page, its ``run`` export called once per sample."""
    page.evaluate(KERNEL_LOAD, base64.b64encode(module.read_bytes()).decode())

    def run(iterations: int) -> Sample:
        seconds, result = page.evaluate(KERNEL_RUN, iterations)
        return Sample(float(seconds), None, float(result))
    return run


def measure_all(page: Any, out_dir: Path, sprites_build: Path, rounds: int) -> dict[str, dict[str, Any]]:
    """Samples of both workloads on every host; ``page`` is a stopped /play/sprites page."""
    engines = {mode: Engine(mode, cache=out_dir / "modules") for mode in WASMTIME}
    try:
        sprites = {"native": native(build_native(SPRITES, out_dir / "native"), checksum=False),
                   **{f"wasmtime {m.value}": game_ticks(engines[m], sprites_build) for m in WASMTIME},
                   "chromium": chromium_ticks(page)}
        module = build_wasm(NBODY, out_dir / "wasm")
        nbody = {"native": native(build_native(NBODY, out_dir / "native")),
                 **{f"wasmtime {m.value}": wasm(engines[m], module) for m in WASMTIME},
                 "chromium": chromium_kernel(page, module)}
        results: dict[str, dict[str, Any]] = {}
        for kernel, runs in ((SPRITES, sprites), (NBODY, nbody)):
            runs["chromium"](kernel.iterations)  # one more warm-up: let V8 tier the hot code up
            results[kernel.name] = measure(kernel, runs, rounds)
        return results
    finally:
        for engine in engines.values():
            engine.close()


def ratio_table(results: dict[str, dict[str, Any]]) -> tuple[Table, dict[str, Any]]:
    """Rates per second on each host and each host's ratio to native code (1.00 = native speed)."""
    rows = ((SPRITES, "ticks/s"), (NBODY, "steps/s"))  # one iteration = one tick / one n-body step
    rounds = next(iter(results.values()))["rounds"]
    t = table("Web 2. The same wasm in Chromium (V8) vs native wasmtime vs native code "
              f"(rate per second, median of {rounds} interleaved rounds; (ratio) = rate / native rate)",
              "workload", "unit", *HOSTS, "Chromium / wasmtime epoch", "checksum")
    data: dict[str, Any] = {}
    for kernel, unit in rows:
        r = results[kernel.name]
        rate = {host: kernel.iterations / (r["ms"][host] / 1e3) for host in HOSTS}
        cells = [f"{rate['native']:,.0f}"] + [f"{rate[h]:,.0f} ({rate[h] / rate['native']:.2f})" for h in HOSTS[1:]]
        same = r["checksums_match"]
        t.add_row(f"{kernel.name} ({kernel.work})", unit, *cells, f"{rate['chromium'] / rate['wasmtime epoch']:.2f}x",
                  "n/a" if same is None else ("same" if same else "DIFFERS"))
        data[kernel.name] = {"unit": unit, "per_s": rate, "ratio_to_native": {h: rate[h] / rate["native"] for h in HOSTS},
                             "ms": r["ms"], "checksums_match": same, "rounds": r["rounds"]}
    return t, data

