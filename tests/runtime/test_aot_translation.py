"""translation.rewrite on wasm2c's real output: the FORCE_READ barriers become volatile loads, the
SIMD group only where the module uses SIMD, and text that moved is an error, never left as it was.
(That an unused out-of-bounds load still traps is the hostile corpus's "load past memory" case.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from layerw.errors import ToolchainError
from layerw.runtime.aot import translation

SCALAR = '(module (memory (export "memory") 1) (func (export "f") (drop (i32.load (i32.const -4)))))'
SIMD = ('(module (memory (export "memory") 1) (func (export "f") (result v128) '
        '(v128.load32_splat (i32.const 8))))')


def wasm2c(tmp_path: Path, wat: str) -> str:
    (tmp_path / "m.wasm").write_bytes(wasmtime.wat2wasm(wat))
    tool = Path(sys.executable).parent / "wasm2c"
    subprocess.run([str(tool) if tool.is_file() else "wasm2c", "m.wasm", "-n", "game", "-o", "m.c"], cwd=tmp_path,
                   check=True, capture_output=True)
    return (tmp_path / "m.c").read_text()


@pytest.mark.parametrize("wat", [SCALAR, SIMD], ids=["scalar", "simd"])
def test_barriers_become_volatile_loads(tmp_path: Path, wat: str) -> None:
    source = wasm2c(tmp_path, wat)
    out = translation.rewrite(source)
    assert '__asm__("" ::"r"(var))' in source and '__asm__("" ::"r"(var))' not in out
    assert '__asm__("" ::"x"(var));' not in out  # no SIMD barrier left on x86-64 either
    assert "wasm_rt_memcpy(&result, MEM_ADDR_MEMOP" not in out
    assert out.count("const volatile struct") == (3 if wat is SIMD else 1)  # scalar loads (+ SIMD load and lane)
    assert "#undef MEMCHECK_GENERAL" in out


def test_moved_text_is_an_error(tmp_path: Path) -> None:
    source = wasm2c(tmp_path, SCALAR).replace('__asm__("" ::"r"(var))', '__asm__ volatile("" ::"r"(var))')
    with pytest.raises(ToolchainError, match="FORCE_READ_INT"):
        translation.rewrite(source)
