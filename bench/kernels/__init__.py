"""Kernels: C sources compiled by the project's zig twice, natively and to wasm.

Each kernel defines ``double run(int iterations)`` (see kernel.h): natively ``native_main.c``
times it with clock_gettime; in wasm it is the module's ``run`` export. Native code is built for
the baseline CPU of the host's architecture (SSE2 on x86-64), wasm like ``layerw build`` builds
games (-O2 -msimd128, a WASI reactor).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from layerw.errors import CompileError
from layerw.toolchain import zig
from layerw.toolchain.compiler import INCLUDE

HERE = Path(__file__).resolve().parent
GAMES = HERE.parents[1] / "games"
NATIVE_TARGET = f"{platform.machine().replace('amd64', 'x86_64').replace('arm64', 'aarch64')}-linux-musl"
COMMON = ["-O2", "-std=c11", "-Wall", "-Wextra", f"-I{HERE}", f"-I{INCLUDE}"]
# layerw.h declares host imports with wasm import attributes, which a native target ignores.
# -fno-math-errno and -fstack-clash-protection as the AOT tier builds modules (layerw.runtime.aot.compiler),
# so its ratio to native compares code generation, not flags (wasm's sqrt sets no errno either)
NATIVE_FLAGS = ["-target", NATIVE_TARGET, "-mcpu=baseline", "-fno-math-errno", "-fstack-clash-protection",
                "-Wno-unknown-attributes", *COMMON]
WASM_FLAGS = [f"--target={zig.TARGET}", "-msimd128", "-mexec-model=reactor", *COMMON]


@dataclass(frozen=True)
class Kernel:
    name: str
    sources: tuple[Path, ...]
    iterations: int  # per timed run(): 10-30 ms natively
    work: str  # what one run() does, for the table


KERNELS: tuple[Kernel, ...] = (
    Kernel("n-body", (HERE / "nbody.c",), 200_000, "200k steps, f64"),
    Kernel("matmul", (HERE / "matmul.c",), 40, "40 x 128^3, f32x4"),
)
SPRITES = Kernel("sprites tick", (GAMES / "sprites" / "sprites.c", HERE / "sprites_native.c"), 200,
                 "200 ticks, 10k sprites")


def _compile(args: list[str], what: str) -> None:
    proc = zig.run(["cc", *args])
    if proc.returncode != 0:
        raise CompileError(f"compiling {what} failed:\n{(proc.stderr or proc.stdout).strip()}")


def build_native(kernel: Kernel, out_dir: Path) -> Path:
    """An executable: ``EXE ITERATIONS REPEATS`` prints ``ns N`` per repeat, then ``checksum X``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / kernel.name.replace(" ", "-")
    _compile([*NATIVE_FLAGS, *map(str, kernel.sources), str(HERE / "native_main.c"), "-o", str(exe), "-lm"],
             f"{kernel.name} natively")
    return exe


def build_wasm(kernel: Kernel, out_dir: Path) -> Path:
    """A wasm reactor module exporting ``run``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wasm = out_dir / f"{kernel.name.replace(' ', '-')}.wasm"
    _compile([*WASM_FLAGS, *map(str, kernel.sources), "-o", str(wasm), "-lm"], f"{kernel.name} to wasm")
    return wasm
