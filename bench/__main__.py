"""`python -m bench`: build the workloads, run every section, print the tables, write JSON.

    python -m bench                 all sections (under a minute on two cores once zig has built its libcs)
    python -m bench --quick         fewer rounds, for checking the benchmarks themselves
    python -m bench --only cpu,render
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import traceback
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from rich.console import Console

from bench import (
    bound,
    carts,
    checkpoint,
    component,
    cpu,
    failover,
    gpu,
    host,
    render,
    rollback,
    rooms,
    saves,
    sound,
    start,
    store,
    tracing,
    web,
)
from bench.report import Section, show, table, write_json
from bench.workload import ROOT, build_sprites

OUT = ROOT / "out"
# section -> (runner, rounds, quick rounds); rounds are interleaved samples of everything compared
SECTIONS: dict[str, tuple[Callable[[Path, Path, int], Section], int, int]] = {
    "cpu": (cpu.run, 31, 3),
    "host": (host.run, 600, 30),
    "render": (render.run, 60, 5),
    "gpu": (gpu.run, 21, 3),
    "start": (start.run, 21, 2),
    "bound": (bound.run, 9, 2),
    "rooms": (rooms.run, 1, 1),
    "rollback": (rollback.run, 1800, 300),  # rounds: ticks each room confirms
    "web": (web.run, 5, 1),
    "store": (store.run, 3, 1),
    "component": (component.run, 200, 20),
    "tracing": (tracing.run, 600, 30),
    "sound": (sound.run, 600, 32),
    "checkpoint": (checkpoint.run, 2, 1),  # rounds > 1: kill past the first kept snapshot (7 s a row), else at 2 s
    "carts": (carts.run, 5, 1),
    "failover": (failover.run, 3, 1),  # rounds: kills of the owner of 20 rooms (~40 s each)
    "saves": (saves.run, 200, 10),  # rounds: writes and reads of one slot, per size and place
}


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("wasmtime", "wgpu", "ziglang", "numpy")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Layer-W benchmarks")
    parser.add_argument("--quick", action="store_true", help="few rounds: checks the benchmarks, not the numbers")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, default=OUT / "bench.json", help="where to write the numbers")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")

    console = Console(width=max(Console().width, 120))
    work = OUT / "bench"
    with console.status("building games/sprites (zig, wasm32-wasi)"):
        sprites = build_sprites(work)
    sections: list[Section] = []
    failed = False
    for key in chosen:
        runner, rounds, quick = SECTIONS[key]
        with console.status(f"{key}: measuring ({quick if args.quick else rounds} rounds)"):
            try:
                section = runner(work, sprites, quick if args.quick else rounds)
            except Exception as e:  # one broken section must not hide the others' numbers
                failed = True
                console.print(f"[red]{key} failed: {type(e).__name__}: {e}[/red]")
                console.print(traceback.format_exc(), style="dim", markup=False, highlight=False)
                section = Section(key, table(f"{key}: failed"), {"error": f"{type(e).__name__}: {e}"})
                sections.append(section)
                continue
        show(console, section)
        sections.append(section)
    write_json(args.json, machine() | {"quick": args.quick}, sections)
    console.print(f"numbers written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
