"""Mixer: builds the one sound mixer (``runtime/lw_mixer.c``) into ``web/mixer.wasm``.

Every host runs that module (the native host on wasmtime, browsers with WebAssembly), so a game's
samples are the same integers everywhere. The module is shipped as package data, built by the
project's zig; ``python -m layerw.toolchain.mixer`` rebuilds it after the source or the ABI changes,
and ``tests/toolchain/test_mixer.py`` fails while the shipped module differs from a fresh build.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from layerw.errors import CompileError
from layerw.toolchain import zig
from layerw.toolchain.compiler import INCLUDE, TOOLCHAIN

SOURCE = TOOLCHAIN / "runtime" / "lw_mixer.c"
MODULE = TOOLCHAIN.parent / "web" / "mixer.wasm"
FLAGS = ["cc", "--target=wasm32-freestanding", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-fno-builtin-memset", f"-I{INCLUDE}", "-Wl,--no-entry", "-Wl,-z,stack-size=65536", "-s"]


def build_module(source: Path, flags: list[str]) -> bytes:
    """Compile one of the runtime's own C modules (``source``, a single file) with ``flags``; its bytes."""
    with tempfile.TemporaryDirectory(prefix="layerw-runtime-") as tmp:
        out = Path(tmp) / "module.wasm"
        proc = zig.run([*flags, str(source), "-o", str(out)])
        if proc.returncode != 0:
            raise CompileError(f"compiling {source} failed:\n{(proc.stderr or proc.stdout).strip()}")
        return out.read_bytes()


def build_mixer() -> bytes:
    """Compile the mixer's source; its module's bytes."""
    return build_module(SOURCE, FLAGS)


def write_mixer() -> Path:
    """Rebuild ``web/mixer.wasm`` from its source."""
    MODULE.write_bytes(build_mixer())
    return MODULE


if __name__ == "__main__":
    print(write_mixer(), file=sys.stderr)
