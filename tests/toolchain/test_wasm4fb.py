"""The drawing module: the shipped web/wasm4fb.wasm is a fresh build of its source, and it owns
nothing in the cart's memory it imports (no data, no stack), so only the draws write there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import wasmtime

from layerw.toolchain import wasm4fb


def test_the_shipped_module_is_up_to_date() -> None:
    stale = "web/wasm4fb.wasm is stale: run python -m layerw.toolchain.wasm4fb"
    assert wasm4fb.MODULE.read_bytes() == wasm4fb.build_wasm4fb(), stale


def test_the_module_imports_one_page_and_keeps_no_data_or_stack() -> None:
    module = wasmtime.Module(wasmtime.Engine(), wasm4fb.MODULE.read_bytes())
    memories = [i.type for i in module.imports if isinstance(i.type, wasmtime.MemoryType)]
    assert len(memories) == 1 and (memories[0].limits.min, memories[0].limits.max) == (1, 1)
    wat = subprocess.run([str(Path(sys.executable).with_name("wasm2wat")), str(wasm4fb.MODULE)], check=True,
                         capture_output=True, text=True).stdout
    assert "(data" not in wat  # the font is code (a switch), not a table in the cart's memory
    assert "global.get" not in wat and "global.set" not in wat  # no stack pointer: every value is a local
