"""Wasm4fb: builds WASM-4's drawing functions (``runtime/lw_wasm4fb.c``) into ``web/wasm4fb.wasm``.

Every host links a cart's drawing imports straight to this module's exports (wasm to wasm, the
cart's memory imported), so natively and in browsers one implementation draws every pixel. The
module is shipped as package data, built by the project's zig; ``python -m layerw.toolchain.wasm4fb``
rebuilds it after the source (or the font, ``lw_wasm4font.h``) changes, and
``tests/toolchain/test_wasm4fb.py`` fails while the shipped module differs from a fresh build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from layerw.toolchain.compiler import TOOLCHAIN
from layerw.toolchain.mixer import build_module

SOURCE = TOOLCHAIN / "runtime" / "lw_wasm4fb.c"
MODULE = TOOLCHAIN.parent / "web" / "wasm4fb.wasm"
# The module must own nothing in the cart's memory: no stack, no data (the font is a switch, kept as
# code by -fno-jump-tables), the memory imported at exactly one page. Address 0 is the cart's first byte.
FLAGS = ["cc", "--target=wasm32-freestanding", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-fno-builtin", "-fno-jump-tables", "-fno-delete-null-pointer-checks",
         "-Wl,--no-entry", "-Wl,--import-memory", "-Wl,--initial-memory=65536", "-Wl,--max-memory=65536",
         "-Wl,-z,stack-size=0", "-s"]


def build_wasm4fb() -> bytes:
    """Compile the drawing module's source; its module's bytes."""
    return build_module(SOURCE, FLAGS)


def write_wasm4fb() -> Path:
    """Rebuild ``web/wasm4fb.wasm`` from its source."""
    MODULE.write_bytes(build_wasm4fb())
    return MODULE


if __name__ == "__main__":
    print(write_wasm4fb(), file=sys.stderr)
