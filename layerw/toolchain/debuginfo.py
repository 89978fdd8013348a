"""debuginfo: split a module built with DWARF into the shipped module and its source-line table.

The build links with ``-g`` and without ``-s``; this module then writes
- the shipped module: every custom section stripped (``wasm-tools strip --all``), so it carries no
  debug info, no names and is no larger than a plain stripped build (code offsets unchanged:
  custom sections follow the code);
- the ``layerw.symbols`` table (``game.symbols.json``), derived at build time with
  ``wasm-tools print --print-offsets`` (each function body and instruction offset, the name
  section's names) and ``wasm-tools addr2line`` (each instruction's frames from DWARF, inlined
  calls included), so hosts and browsers symbolise traps without a DWARF parser. Two offsets get
  the line a developer looks for rather than DWARF's prologue row (line of the function, column
  0): a body's start (where wasmtime places a trap in its first instruction) and a ``loop``
  header (where engines check epochs and fuel, so where timeouts and profile samples land).
The debug module itself stays in the build directory (``game.debug.wasm``) for debuggers.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from pathlib import Path

from layerw.symbols import FORMAT, VERSION
from layerw.toolchain.compiler import INCLUDE
from layerw.toolchain.wasmtools import wasm_tools

BATCH = 4000  # addresses per addr2line run (the command line stays far below ARG_MAX)
LOOP_LOOKAHEAD = 16  # instructions after a loop header searched for its body's first line
_LINE = re.compile(r"^\(;@([0-9a-f]+)\s*;\)(\s*)(.*)$")
_FUNC = re.compile(r'^\(func (?:\$("(?:[^"\\]|\\.)*"|\S+) )?\(;(\d+);\)')
_PATH_START = re.compile(r" (?:/|[A-Za-z]:[\\/])")  # where a frame's absolute source path begins


def split(debug_module: Path, shipped: Path, symbols: Path, source_root: Path) -> None:
    """Write ``shipped`` (``debug_module`` stripped) and ``symbols`` (its table); files under
    ``source_root`` are named relative to it."""
    wasm_tools("strip", "--all", str(debug_module), "-o", str(shipped))
    functions, instructions, loops = _layout(wasm_tools("print", "--print-offsets", str(debug_module)))
    table = _Table(source_root)
    for name_start_end in functions:
        table.function(*name_start_end)
    chains: dict[int, list[tuple[str, str, int, int]]] = {}
    for i in range(0, len(instructions), BATCH):
        batch = instructions[i:i + BATCH]
        chains.update(_parse_addr2line(wasm_tools("addr2line", str(debug_module), *(f"0x{a:x}" for a in batch))))
    for _name, start, end in functions:  # a trap at a body's start (its locals) is at the function's first line
        if not any(line for _, _, line, _ in chains.get(start, [])):
            body = instructions[bisect.bisect_right(instructions, start):bisect.bisect_left(instructions, end)]
            first = next((chains[a] for a in body if any(f[2] for f in chains.get(a, []))), None)
            if first is not None:
                chains[start] = first
    for start in loops:  # where engines check deadlines: name the loop's first line, not the prologue
        if chains.get(start) and chains[start][0][3] == 0:
            after = instructions[bisect.bisect_right(instructions, start):]
            first = next((chains[a] for a in after[:LOOP_LOOKAHEAD] if chains.get(a) and chains[a][0][3]), None)
            if first is not None and first[0][0] == chains[start][0][0]:  # still in the same function
                chains[start] = first
    for offset in sorted(chains):
        table.row(offset, chains[offset])
    digests = (hashlib.sha256(shipped.read_bytes()).hexdigest(), hashlib.sha256(debug_module.read_bytes()).hexdigest())
    symbols.write_text(json.dumps(table.to_json(*digests), separators=(",", ":")))


def retarget(symbols: Path, module: bytes) -> None:
    """Make the table ``symbols`` describe ``module``: the module it was split from with custom sections
    appended (a component's core module once wrapped: its code and offsets unchanged; the caller checks
    that ``module`` starts with those bytes), so a host that runs ``module`` finds the table fits."""
    table = json.loads(symbols.read_text())
    table["module_sha256"] = hashlib.sha256(module).hexdigest()
    symbols.write_text(json.dumps(table, separators=(",", ":")))


def _layout(text: str) -> tuple[list[tuple[str, int, int]], list[int], list[int]]:
    """From ``wasm-tools print -p``: each defined function (name, body start, end), the offset of
    every body's start and of every instruction in it (the closing ``end`` included), and of every
    ``loop`` instruction."""
    functions: list[tuple[str, int, int]] = []
    instructions: list[int] = []
    loops: list[int] = []
    current: tuple[str, int] | None = None
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        offset, indent, rest = int(m[1], 16), len(m[2]), m[3]
        if indent <= 2:  # a module field: a function body starts, or the previous one ended
            if current is not None and rest.startswith(")"):
                instructions.append(offset)
                functions.append((current[0], current[1], offset + 1))
                current = None
            elif (f := _FUNC.match(rest)) is not None:
                name = f[1] or f"wasm-function[{f[2]}]"
                current = (json.loads(name) if name.startswith('"') else name, offset)
                instructions.append(offset)
        elif current is not None:
            instructions.append(offset)
            if rest.startswith("loop"):
                loops.append(offset)
    return functions, instructions, loops


def _parse_addr2line(text: str) -> list[tuple[int, list[tuple[str, str, int, int]]]]:
    """addr2line's answer: per address its frames (name, path, line, column), innermost first."""
    out: list[tuple[int, list[tuple[str, str, int, int]]]] = []
    for line in text.splitlines():
        if line.startswith("\t") and out:
            out[-1][1].append(_frame(line[1:]))
        elif line.startswith("0x"):
            address, _, rest = line.partition(": ")
            frames = [] if rest.startswith("no dwarf frames") else [_frame(rest)]
            out.append((int(address, 16), frames))
    return out


def _frame(text: str) -> tuple[str, str, int, int]:
    """``NAME PATH:LINE:COL``, ``NAME PATH`` or ``NAME``, where PATH is absolute (/... or C:\\...)."""
    m = _PATH_START.search(text.strip())
    if m is None:
        return text.strip(), "", 0, 0
    name, where = text.strip()[:m.start()], text.strip()[m.start() + 1:]
    numbers: list[int] = []
    while len(numbers) < 2 and (cut := where.rpartition(":"))[2].isdigit() and cut[1]:
        numbers.insert(0, int(cut[2]))
        where = cut[0]
    line, col = (numbers + [0, 0])[:2]
    return name, where, line, col


class _Table:
    """The table being built: strings interned, rows kept only where the chain changes."""

    def __init__(self, source_root: Path) -> None:
        self.root = source_root.resolve()
        self.strings: list[str] = []
        self.index: dict[str, int] = {}
        self.functions: list[list[int]] = []
        self.rows: list[list[int]] = []
        self.chains: list[list[list[int]]] = []
        self.chain_index: dict[str, int] = {}
        self.files: dict[str, int] = {}

    def _string(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.strings)
            self.strings.append(s)
        return self.index[s]

    def _file(self, path: str) -> int:
        """A file as players and developers read it: relative to the game, the contract header by
        name, anything else (libc, compiler runtime) by its last two parts."""
        if not path:
            return -1
        if path not in self.files:  # a few distinct paths, met thousands of times
            p = Path(path)
            if p.is_relative_to(self.root):
                name = p.relative_to(self.root).as_posix()
            elif p.is_relative_to(INCLUDE):
                name = p.relative_to(INCLUDE).as_posix()
            else:
                name = "/".join(p.parts[-2:])
            self.files[path] = self._string(name)
        return self.files[path]

    def function(self, name: str, start: int, end: int) -> None:
        self.functions.append([start, end, self._string(name)])

    def row(self, offset: int, chain: list[tuple[str, str, int, int]]) -> None:
        encoded = [[self._string(name), self._file(path), line, col] for name, path, line, col in chain]
        chain_id = -1
        if encoded:
            key = json.dumps(encoded)
            if key not in self.chain_index:
                self.chain_index[key] = len(self.chains)
                self.chains.append(encoded)
            chain_id = self.chain_index[key]
        if not self.rows or self.rows[-1][1] != chain_id:
            self.rows.append([offset, chain_id])

    def to_json(self, module_sha256: str, debug_module_sha256: str) -> dict[str, object]:
        return {"format": FORMAT, "version": VERSION, "module_sha256": module_sha256,
                "debug_module_sha256": debug_module_sha256, "strings": self.strings,
                "functions": self.functions, "rows": self.rows, "chains": self.chains}
