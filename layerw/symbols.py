"""Symbols: a built module's source-line table, so a trap names functions and file:line.

``layerw build`` compiles with DWARF, ships the module stripped and writes this table beside it
(``game.symbols.json``, derived from the DWARF by ``layerw.toolchain.debuginfo``). Hosts need no
DWARF parser: a code offset (wasmtime's ``Frame.module_offset``, V8's ``wasm-function[N]:0xOFF``;
both count bytes from the start of the module, the same in the stripped and the debug module) maps
to its chain of frames, innermost first (inlined calls included). The browser reads the same JSON
(``layerw/web/symbols.js``). Layout, version 1::

    {"format": "layerw-symbols", "version": 1, "module_sha256": HEX, "debug_module_sha256": HEX,
     "strings": [name or file, ...],
     "functions": [[start, end, name], ...],      # every body in the code section, by offset
     "rows": [[offset, chain], ...],              # sorted; a row holds until the next one
     "chains": [[[name, file, line, column], ...], ...]}   # innermost first; -1: unknown file

Names and files are indices into ``strings``; a row's chain -1 means no line information there.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from layerw.errors import InvalidModule

FORMAT = "layerw-symbols"
VERSION = 1


@dataclass(frozen=True)
class SourceFrame:
    """One guest frame: the function and, when the table knows it, its source file and line."""

    offset: int  # bytes from the start of the module
    function: str
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file and self.line else f" ({self.file})" if self.file else ""
        return f"{self.function}{where} @0x{self.offset:x}"

    def to_json(self) -> dict[str, object]:
        return {"offset": self.offset, "function": self.function, "file": self.file, "line": self.line}

    @classmethod
    def from_json(cls, frame: dict[str, object]) -> SourceFrame:
        """A frame as ``to_json`` wrote it (``GameError.frames``)."""
        return cls(int(str(frame["offset"])), str(frame["function"]), str(frame["file"]), int(str(frame["line"])))


class Symbols:
    """A loaded table: ``frames(offset)`` is the chain of source frames at that code offset."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise InvalidModule(f"not a {FORMAT} table of version {VERSION} "
                                f"(format {data.get('format')!r}, version {data.get('version')!r}); rebuild the game")
        try:
            self.module_sha256 = str(data["module_sha256"])
            self.debug_module_sha256 = str(data.get("debug_module_sha256", ""))
            self._strings = [str(s) for s in data["strings"]]
            functions = sorted((int(a), int(b), int(n)) for a, b, n in data["functions"])
            rows = sorted((int(a), int(c)) for a, c in data["rows"])
            self._chains = [[(int(n), int(f), int(ln), int(col)) for n, f, ln, col in chain] for chain in data["chains"]]
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidModule(f"malformed {FORMAT} table ({type(e).__name__}: {e}); rebuild the game") from e
        self._func_starts = [f[0] for f in functions]
        self._functions = functions
        self._row_starts = [r[0] for r in rows]
        self._rows = rows

    @classmethod
    def from_bytes(cls, data: bytes) -> Symbols:
        try:
            return cls(json.loads(data))
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidModule(f"a {FORMAT} table is not JSON ({e}); rebuild the game") from e

    def fits(self, module_sha256: str) -> bool:
        """True when this table describes that module: the stripped one or its debug twin."""
        return module_sha256 in (self.module_sha256, self.debug_module_sha256)

    def function_at(self, offset: int) -> str:
        """The name of the function whose body holds ``offset``; "" outside every body."""
        i = bisect.bisect_right(self._func_starts, offset) - 1
        if i < 0 or offset >= self._functions[i][1]:
            return ""
        return self._strings[self._functions[i][2]]

    def frames(self, offset: int) -> list[SourceFrame]:
        """The source frames at ``offset``, innermost (an inlined callee) first; one frame with only
        the function's name where the table has no line, none outside every function body."""
        function = self.function_at(offset)
        if not function:
            return []
        body = self._functions[bisect.bisect_right(self._func_starts, offset) - 1]
        i = bisect.bisect_right(self._row_starts, offset) - 1
        row = self._rows[i] if i >= 0 else (0, -1)
        chain = self._chains[row[1]] if row[0] >= body[0] and row[1] >= 0 else []  # a row of this body only
        if not chain:
            return [SourceFrame(offset, function)]
        return [SourceFrame(offset, self._strings[n], self._strings[f] if f >= 0 else "", line)
                for n, f, line, _col in chain]

    def symbolize(self, offsets: list[int]) -> list[SourceFrame]:
        """A backtrace (innermost first) as source frames, inlined calls expanded."""
        return [frame for offset in offsets for frame in self.frames(offset)]


def describe(frames: list[SourceFrame]) -> str:
    """A backtrace as lines for an error message: ``\\n  at FUNCTION (FILE:LINE)`` each."""
    return "".join(f"\n  at {frame}" for frame in frames)
