"""translation.rewrite on wasm2c's real output: the FORCE_READ barriers become volatile loads, the
SIMD group only where the module uses SIMD, sqrt loses wasm2c's NaN branch and keeps wasmtime's bits,
and text that moved is an error, never left as it was.
(That an unused out-of-bounds load still traps is the hostile corpus's "load past memory" case.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from layerw.errors import ToolchainError
from layerw.runtime.aot import translation
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from tests.hostile.test_aot_differential import outcome
from tests.wat import bundle, contract_wat

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


# sqrt inputs whose result bits x86-64 decides (NaN payloads and signs, the default NaN, -0), in a
# data segment so that neither compiler can fold them: each result is stored beside its input
SQRT_F64 = (0x7FF0000000000123, 0xFFF4000000000001, 0x7FF8000000000042, 0xC000000000000000, 0x8000000000000000,
            0xFFF0000000000000, 0x3FF0000000000001)
SQRT_F32 = (0x7F800123, 0xFFC00005, 0xBF800000, 0x80000000, 0xFF800000, 0x3F800001)
SQRT_IN, SQRT_OUT = 0x9400, 0x9800  # the state region, above the lw_io block


def sqrt_module() -> str:
    data = b"".join(x.to_bytes(8, "little") for x in SQRT_F64) + b"".join(x.to_bytes(4, "little") for x in SQRT_F32)
    f32_at = SQRT_IN + 8 * len(SQRT_F64)
    body = "".join(f"(f64.store (i32.const {SQRT_OUT + 8 * i}) (f64.sqrt (f64.load (i32.const {SQRT_IN + 8 * i}))))"
                   for i in range(len(SQRT_F64)))
    body += "".join(f"(f32.store (i32.const {SQRT_OUT + 0x100 + 4 * i}) (f32.sqrt (f32.load (i32.const {f32_at + 4 * i}))))"
                    for i in range(len(SQRT_F32)))
    segment = "".join(f"\\{b:02x}" for b in data)
    return contract_wat(tick=body, extra=f'(data (i32.const {SQRT_IN}) "{segment}")')


def test_sqrt_without_its_nan_branch_gives_wasmtimes_bits(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """The rewrite drops wasm2c's NaN branch in front of sqrt: x86-64's sqrtsd/sqrtss quiet a NaN
    keeping its payload and sign, as the branch did and as wasmtime's code does."""
    out = translation.rewrite(wasm2c(tmp_path, SCALAR))
    for name in ("double wasm_sqrt(double x)", "float wasm_sqrtf(float x)"):
        assert f"{name} {{\n  if (UNLIKELY(isnan(x)))" not in out and f"{name} {{\n" in out
    b = bundle(tmp_path / "sqrt", sqrt_module(), memory_mb=4, tick_ms=1000)
    expected = outcome(Game, b, engine)
    assert expected[0] == "ran"
    assert outcome(aot_compiler, b, engine) == expected
