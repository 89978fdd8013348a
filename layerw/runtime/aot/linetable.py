"""LineTable: a module library's native addresses mapped back to wasm code offsets.

The module's C carries ``#line OFFSET "wasm-function[N]"`` before each line of a function body
(``layerw.runtime.aot.annotation``) and is compiled with a DWARF 4 line table, so the library's
DWARF holds, for each native instruction, the wasm instruction it came from, and, for each call
that clang inlined, the wasm call instruction it replaced (``DW_AT_call_file``/``DW_AT_call_line``
of the inlined subroutine). One address is then a chain of wasm frames, innermost first, as
wasmtime's backtrace has them. wasm2c's own helpers (``i32_load`` and the like) keep their C lines
and are skipped. Read with pyelftools, once per library, on the first trap that needs it.
"""

from __future__ import annotations

import bisect
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerw.runtime.aot.annotation import FILE_PREFIX

Range = tuple[int, int]


@dataclass(frozen=True)
class _Inlined:
    """A call clang inlined: where its code lies, how deep, and the wasm call it stands for."""

    ranges: tuple[Range, ...]
    depth: int
    function: int  # the wasm function index of the call site, -1 when it is not in wasm code (a helper)
    offset: int  # the call instruction's wasm offset


def _function_of(name: bytes | str) -> int:
    """The wasm function index a #line file name stands for; -1 for a real C file."""
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    text = text.rsplit("/", 1)[-1]
    if text.startswith(FILE_PREFIX) and text.endswith("]") and text[len(FILE_PREFIX):-1].isdigit():
        return int(text[len(FILE_PREFIX):-1])
    return -1


class LineTable:
    """``frames(address)``: the wasm frames (code offset, function index) at a native address of
    the library at ``path``, innermost first; none outside translated wasm code."""

    def __init__(self, path: Path) -> None:
        elffile: Any = importlib.import_module("elftools.elf.elffile")  # pyelftools: only a trap's report needs it

        self._rows: list[tuple[int, int, int]] = []  # (address, function index or -1, offset), sorted
        self._bodies: list[tuple[int, int, list[_Inlined]]] = []  # (low, high, its inlined calls)
        self.symbols: dict[str, int] = {}
        with path.open("rb") as f:
            elf = elffile.ELFFile(f)
            for section in (elf.get_section_by_name(".symtab"), elf.get_section_by_name(".dynsym")):
                for symbol in section.iter_symbols() if section is not None else ():
                    if symbol.name and symbol["st_value"]:
                        self.symbols.setdefault(symbol.name, int(symbol["st_value"]))
            if elf.has_dwarf_info():
                dwarf = elf.get_dwarf_info()
                for cu in dwarf.iter_CUs():
                    self._read_unit(dwarf, cu)
        self._rows.sort()
        self._row_starts = [row[0] for row in self._rows]
        self._bodies.sort(key=lambda body: body[0])
        self._body_starts = [body[0] for body in self._bodies]

    def _read_unit(self, dwarf: Any, cu: Any) -> None:
        program = dwarf.line_program_for_CU(cu)
        if program is None:
            return
        files = [_function_of(entry.name) for entry in program.header["file_entry"]]  # DWARF 4: file i is files[i - 1]

        def function(index: int) -> int:
            return files[index - 1] if 0 < index <= len(files) else -1

        for entry in program.get_entries():
            state = entry.state
            if state is None:
                continue
            at = -1 if state.end_sequence else function(state.file)
            self._rows.append((int(state.address), at, int(state.line) if at >= 0 else 0))
        top = cu.get_top_DIE()
        base = int(top.attributes["DW_AT_low_pc"].value) if "DW_AT_low_pc" in top.attributes else 0
        ranges = dwarf.range_lists()
        for die in top.iter_children():
            if die.tag != "DW_TAG_subprogram":
                continue
            spans = self._ranges(die, base, ranges)
            if not spans:
                continue
            calls: list[_Inlined] = []
            self._inlined(die, 0, base, ranges, function, calls)
            self._bodies.extend((low, high, calls) for low, high in spans)

    def _inlined(self, die: Any, depth: int, base: int, ranges: Any, function: Any, out: list[_Inlined]) -> None:
        for child in die.iter_children():
            if child.tag == "DW_TAG_inlined_subroutine":
                attrs = child.attributes
                index = function(int(attrs["DW_AT_call_file"].value)) if "DW_AT_call_file" in attrs else -1
                line = int(attrs["DW_AT_call_line"].value) if "DW_AT_call_line" in attrs else 0
                out.append(_Inlined(tuple(self._ranges(child, base, ranges)), depth, index, line))
                self._inlined(child, depth + 1, base, ranges, function, out)
            elif child.tag == "DW_TAG_lexical_block":
                self._inlined(child, depth, base, ranges, function, out)

    @staticmethod
    def _ranges(die: Any, base: int, ranges: Any) -> list[Range]:
        attrs = die.attributes
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low, high = attrs["DW_AT_low_pc"], attrs["DW_AT_high_pc"]
            end = int(high.value) if high.form == "DW_FORM_addr" else int(low.value) + int(high.value)
            return [(int(low.value), end)]
        if "DW_AT_ranges" not in attrs or ranges is None:
            return []
        out = []
        for entry in ranges.get_range_list_at_offset(int(attrs["DW_AT_ranges"].value)):
            if hasattr(entry, "base_address"):
                base = int(entry.base_address)
            elif getattr(entry, "is_absolute", False):
                out.append((int(entry.begin_offset), int(entry.end_offset)))
            else:
                out.append((base + int(entry.begin_offset), base + int(entry.end_offset)))
        return out

    def frames(self, address: int) -> list[tuple[int, int]]:
        """(wasm code offset, function index) of each wasm frame at ``address``, innermost first."""
        out: list[tuple[int, int]] = []
        i = bisect.bisect_right(self._row_starts, address) - 1
        if i >= 0 and self._rows[i][1] >= 0:
            out.append((self._rows[i][2], self._rows[i][1]))
        j = bisect.bisect_right(self._body_starts, address) - 1  # bodies do not overlap
        if j >= 0 and address < self._bodies[j][1]:
            inside = [c for c in self._bodies[j][2] if any(a <= address < b for a, b in c.ranges)]
            out += [(c.offset, c.function) for c in sorted(inside, key=lambda c: -c.depth) if c.function >= 0]
        return out
