"""Aligned: a loop's accesses through an aligned induction local made plain, so that clang may
pair them (SLP: two f32 fields in one 8-byte load, add and store, as native code does).

Every load of the translation is volatile (``translation``), so that it still traps when its value
is unused, and it orders every other access: clang never merges or reorders two loads, and a
struct walked field by field stays scalar. Native code pairs neighbouring fields (the sprites tick
adds x, y and vx, vy in one ``addps``: without that, native code runs it as slowly as the AOT tier).

Pairing must not change which access traps or what memory holds when it does. It keeps both here:
a loop whose local starts at a constant right before the loop's label and changes only by
constants inside it (``local = C`` before ``var_LN:``, ``local += K`` within it) holds a multiple
of A (the largest power of two dividing C and every K, at most one 64 KiB wasm page) wherever the
loop runs. An access at ``local + k`` (a sum of the local and constants, plus a static offset)
with ``k + width <= A`` lies in the A-aligned block at ``local``, below 2^32 without wrapping,
and a block lies wholly inside or wholly outside memory (its size is a multiple of 64 KiB). So in
a group of such accesses with nothing between them that can trap (pure arithmetic only: no other
access, no call, no branch or label), either every access faults or none does: the first one run
faults first with none of the group's stores done, as in wasm's order. The group is fenced by
compiler barriers; within it clang may reorder, merge or drop its plain loads and stores freely.
"""

from __future__ import annotations

import math
import re

_LOOP = re.compile(r"\s*(var_L\d+): ")
_CONST = re.compile(r"\s*(var_i\d+) = (\d+)u;")
_MOVE = re.compile(r"\s*(var_\w+) = (var_\w+);")
_ADD = re.compile(r"\s*(var_i\d+) \+= (var_i\d+);")
_ASSIGN = re.compile(r"\s*(\w+) (?:[-+*/%&|^]|<<|>>)?= [^;]*;")
_STORE = re.compile(r"\s*\w+_default32\([^;]*\);")
_CALL = re.compile(r"\b(\w+)\(")
_GOTO = re.compile(r"\bgoto (var_L\d+);")
_ACCESS = re.compile(r"\b(\w+)_default32\(wasm_rt_local_memory_base, wasm_rt_local_memory_size, &instance->w2c_memory, "
                     r"\(u64\)\((var_\w+)\)(?: \+ (\d+)u)?([,)])")
_LOAD_DEF = re.compile(r"^DEFINE_LOAD\((\w+), (\w+), (\w+), (\w+), \w+\)$", re.MULTILINE)
_STORE_DEF = re.compile(r"^DEFINE_STORE\((\w+), (\w+), (\w+)\)$", re.MULTILINE)
WIDTHS = {"u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "f32": 4, "u64": 8, "s64": 8, "f64": 8}
MAX_BLOCK = 65536  # one wasm page: memory ends on a multiple of it
BARRIER = "LW_BARRIER;"
FINGERPRINT = "\0".join(r.pattern for r in (_LOOP, _CONST, _MOVE, _ADD, _ASSIGN, _STORE, _CALL, _GOTO, _ACCESS,
                                            _LOAD_DEF, _STORE_DEF)) + f"\0{MAX_BLOCK}\0{BARRIER}"


class Accessors:
    """wasm2c's scalar loads and stores (its DEFINE_LOAD / DEFINE_STORE lines): per name, the C
    types it converts through and its width; and the plain variants a group uses."""

    def __init__(self, source: str) -> None:
        self.loads = {m[0]: (m[1], m[2], m[3]) for m in _LOAD_DEF.findall(source) if m[1] in WIDTHS}
        self.stores = {m[0]: (m[1], m[2]) for m in _STORE_DEF.findall(source) if m[1] in WIDTHS}
        self.used: set[str] = set()

    def width(self, name: str) -> int | None:
        types = self.loads.get(name) or self.stores.get(name)
        return WIDTHS[types[0]] if types else None

    def definitions(self) -> str:
        out = [f'#define {BARRIER[:-1]} __asm__ volatile("" ::: "memory")']
        for name in sorted(self.used):
            if name in self.loads:
                t1, t2, t3 = self.loads[name]
                out.append(f"static inline {t3} lw_plain_{name}(uint8_t* base, u64 addr) "
                           f"{{ {t1} v; memcpy(&v, base + addr, sizeof v); return ({t3})({t2})v; }}")
            else:
                t1, t2 = self.stores[name]
                out.append(f"static inline void lw_plain_{name}(uint8_t* base, u64 addr, {t2} value) "
                           f"{{ {t1} v = ({t1})value; memcpy(base + addr, &v, sizeof v); }}")
        return "\n".join(out) + "\n"


def _lowest_bit(value: int) -> int:
    return MAX_BLOCK if value == 0 else min(value & -value, MAX_BLOCK)


def _alignment(lines: list[str], label: int, end: int, local: str, entry: int) -> int:
    """The power of two ``local`` is a multiple of throughout lines[label:end] (1: unknown)."""
    step = entry
    for n in range(label + 1, end):
        assigned = _ASSIGN.fullmatch(lines[n])
        if assigned is None or assigned.group(1) != local:
            if re.search(rf"\b{local}\b\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)", lines[n]):
                return 1  # an assignment in a form the scan does not know
            continue
        move = _MOVE.fullmatch(lines[n])
        if move is None or n < 3:
            return 1
        copy, const, add = _MOVE.fullmatch(lines[n - 3]), _CONST.fullmatch(lines[n - 2]), _ADD.fullmatch(lines[n - 1])
        temp = move.group(2)
        if not (copy and const and add and copy.groups() == (temp, local) and add.groups() == (temp, const.group(1))):
            return 1
        step = math.gcd(step, int(const.group(2)))
    return _lowest_bit(step)


def _loops(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """(label line, end line, local, alignment) of each loop entered with ``local = C`` whose local
    the loop changes by constants only; the loop runs from its label to its last back-edge (a loop
    label is reached only by falling into it and by branches from inside the loop: wasm nests)."""
    gotos: dict[tuple[int, str], list[int]] = {}  # (function, label): its branches; labels are per function
    functions = [0] * len(lines)
    function = 0
    for n, line in enumerate(lines):
        functions[n] = function
        function += line.startswith("}")  # wasm2c closes each function at column 0
        for label in _GOTO.findall(line):
            gotos.setdefault((functions[n], label), []).append(n)
    found = []
    for n, line in enumerate(lines):
        loop = _LOOP.fullmatch(line)
        if loop is None or n < 2:
            continue
        const, move = _CONST.fullmatch(lines[n - 2]), _MOVE.fullmatch(lines[n - 1])
        back = gotos.get((functions[n], loop.group(1)), [])
        if not (const and move and move.group(2) == const.group(1) and back and back[0] > n):
            continue
        local = move.group(1)
        align = _alignment(lines, n, back[-1] + 1, local, int(const.group(2)))
        if align >= 8:
            found.append((n, back[-1] + 1, local, align))
    return found


class _Groups:
    """The scan of one loop: names holding ``local + k`` and constants, and the group being built."""

    def __init__(self, lines: list[str], accessors: Accessors, local: str, align: int) -> None:
        self.lines, self.accessors, self.local, self.align = lines, accessors, local, align
        self.sums: dict[str, int] = {local: 0}
        self.consts: dict[str, int] = {}
        self.group: list[tuple[int, str]] = []  # (line, rewritten text)
        self.fences: list[tuple[int, int]] = []  # (first, last) line of each group made plain

    def reset(self) -> None:
        self.close()
        self.sums = {self.local: 0}
        self.consts = {}

    def close(self) -> None:
        if len(self.group) >= 2:
            for n, text in self.group:
                self.lines[n] = text
            self.fences.append((self.group[0][0], self.group[-1][0]))
        self.group = []

    def _plain(self, access: re.Match[str]) -> str | None:
        name, var, offset, after = access.groups()
        width = self.accessors.width(name)
        if width is None or var not in self.sums:
            return None
        k = self.sums[var] + int(offset or 0)
        if k + width > self.align:
            return None
        self.accessors.used.add(name)
        return f"lw_plain_{name}(wasm_rt_local_memory_base, (u64)({self.local}) + {k}ull{after}"

    def line(self, n: int) -> None:
        text = self.lines[n]
        assigned = _ASSIGN.fullmatch(text)
        if assigned is None and _STORE.fullmatch(text) is None:
            self.reset()  # a label, a branch, anything else: the group ends, values may come from elsewhere
            return
        accesses = list(_ACCESS.finditer(text))
        plain = [self._plain(a) for a in accesses]
        calls = [c.group(1) for c in _CALL.finditer(text)]
        pure = len(calls) == len(accesses) and all(p is not None for p in plain)
        target = assigned.group(1) if assigned else None
        if not pure or target == self.local:
            self.close()
        elif accesses:
            for access, new in zip(reversed(accesses), reversed(plain), strict=True):
                assert new is not None
                text = text[:access.start()] + new + text[access.end():]
            self.group.append((n, text))
        if target is not None:
            self._track(text, target)

    def _track(self, text: str, target: str) -> None:
        const, move, add = _CONST.fullmatch(text), _MOVE.fullmatch(text), _ADD.fullmatch(text)
        sum_before, const_before = self.sums.pop(target, None), self.consts.pop(target, None)
        if target == self.local:  # a new value, still a multiple of the alignment (``_alignment``)
            self.sums, self.consts = {target: 0}, {}
        elif const is not None:
            self.consts[target] = int(const.group(2))
        elif move is not None and move.group(2) in self.sums:
            self.sums[target] = self.sums[move.group(2)]
        elif move is not None and move.group(2) in self.consts:
            self.consts[target] = self.consts[move.group(2)]
        elif add is not None and sum_before is not None and add.group(2) in self.consts:
            self.sums[target] = sum_before + self.consts[add.group(2)]
        elif add is not None and const_before is not None and add.group(2) in self.sums:
            self.sums[target] = const_before + self.sums[add.group(2)]


def pair(source: str) -> tuple[str, int]:
    """``source`` (wasm2c's C for a module with one default 32-bit memory) with the groups above
    made plain and fenced; and how many groups it made (0: the source as it was)."""
    accessors = Accessors(source)
    lines = source.split("\n")
    fences: list[tuple[int, int]] = []
    for label, end, local, align in _loops(lines):
        groups = _Groups(lines, accessors, local, align)
        for n in range(label + 1, end):
            groups.line(n)
        groups.close()
        fences += groups.fences
    if not fences:
        return source, 0
    for first, last in sorted(fences, reverse=True):
        indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
        lines.insert(last + 1, indent + BARRIER)
        lines.insert(first, indent + BARRIER)
    anchor = list(_STORE_DEF.finditer("\n".join(lines)))[-1]
    out = "\n".join(lines)
    return out[:anchor.end() + 1] + accessors.definitions() + out[anchor.end() + 1:], len(fences)
