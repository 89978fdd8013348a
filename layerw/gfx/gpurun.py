"""PassRun: a run of repeated blocks of pass commands, taken from the list in a few numpy compares.

A game drawing many objects writes the same few pass commands for each: SET_BIND_GROUP then DRAW
or DRAW_INDEXED. ``find_run`` sees such a block (ops with one record and no tail) repeated and
takes every repeat at once as the rows of a uint32 array, instead of one Python step per command.
``gpucheck`` checks a run column by column (and one command at a time, with the same verdicts and
messages, where a column check does not pass), ``gpureplay`` calls wgpu from its columns. A command
that breaks the block's shape ends the run; what follows is parsed as usual.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from layerw import abi
from layerw.gfx.gpustream import CODE, OP, PASS_FORMATS, Command, PassCommand

RUN_OPS = frozenset(CODE[n] for n in ("SET_BIND_GROUP", "DRAW", "DRAW_INDEXED"))
MAX_BLOCK = 4  # commands per block
MIN_REPEATS = 8  # fewer repeats are parsed one command at a time
_FIRST_SCAN = 64  # rows compared first; each further compare takes four times as many (cost ~ the run's length)
_HEAD = struct.Struct("<3I").unpack_from
_HEADER_WORDS = abi.HEADER.size // 4
_SIZE = {code: PASS_FORMATS[code].size for code in RUN_OPS}
# numpy type of each record field, by op code (base_vertex is signed)
FIELD_TYPES: dict[int, tuple[type[np.integer], ...]] = {
    code: tuple(np.int32 if str(f.type) == "i32" else np.uint32 for f in OP[abi.GPU_OP_BY_CODE[code].name].record.fields)
    for code in RUN_OPS}


@dataclass(frozen=True, slots=True)
class PassRun:
    """``rows`` repeats of one block of pass commands starting at byte ``at``: each block holds the
    ops ``codes``, the command of op ``codes[i]`` at word ``offsets[i]`` of a row."""

    at: int
    codes: tuple[int, ...]
    offsets: tuple[int, ...]
    rows: np.ndarray  # (repeats, words per block) uint32, copied out of the list

    def __len__(self) -> int:
        """How many commands the run holds."""
        return len(self.rows) * len(self.codes)

    @property
    def name(self) -> str:
        return "RUN of " + ", ".join(abi.GPU_OP_BY_CODE[c].name for c in self.codes)

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes)

    def column(self, slot: int, field: int) -> np.ndarray:
        """Field ``field`` of the record of the block's command ``slot``, one value per repeat."""
        code = self.codes[slot]
        return self.rows[:, self.offsets[slot] + _HEADER_WORDS + field].view(FIELD_TYPES[code][field])

    def commands(self, first: int = 0, last: int | None = None) -> list[PassCommand]:
        """Repeats ``first`` .. ``last`` (exclusive) as the pass commands' tuples parse makes one at a time."""
        out: list[PassCommand] = []
        formats = [PASS_FORMATS[c] for c in self.codes]
        for row in self.rows[first:last]:
            data = row.tobytes()
            out.extend(f.unpack_from(data, 4 * off) for f, off in zip(formats, self.offsets, strict=True))
        return out


FrameCommand = Command | PassRun  # what commands.parse lists of a frame's GPU commands


def find_run(mv: memoryview, at: int, end: int) -> tuple[PassRun | None, int]:
    """The run of blocks starting at byte ``at`` (a run op's header), or None and the byte before
    which no run needs looking for again (where this look stopped)."""
    codes: list[int] = []
    offsets: list[int] = []
    size, p = 0, at
    while True:
        if p + abi.HEADER.size > end:
            return None, p
        code, count, arg = _HEAD(mv, p)
        if code not in _SIZE or count != 1 or arg != 0:
            return None, p
        if codes and code == codes[0]:
            break
        if len(codes) == MAX_BLOCK:
            return None, p
        codes.append(code)
        offsets.append(size // 4)
        size += _SIZE[code]
        p = at + size
    words = size // 4
    columns = np.array([off + i for off in offsets for i in range(3)])
    want = np.array([v for code in codes for v in (code, 1, 0)], np.uint32)
    total, n, chunk = (end - at) // size, 0, _FIRST_SCAN
    while n < total:
        m = min(chunk, total - n)
        block = np.frombuffer(mv, np.uint32, m * words, at + n * size).reshape(m, words)
        bad = (block[:, columns] != want).any(axis=1)
        if bad.any():
            n += int(bad.argmax())
            break
        n, chunk = n + m, chunk * 4
    if n < MIN_REPEATS:
        return None, max(p, at + n * size)
    rows = np.frombuffer(mv, np.uint32, n * words, at).reshape(n, words).copy()
    return PassRun(at, tuple(codes), tuple(offsets), rows), at + n * size
