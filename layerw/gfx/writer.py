"""CommandWriter: builds command lists in Python, byte for byte as the C helpers in layerw.h do.

Tests, benchmarks and tools use it to produce frames without a wasm game. Batching follows
``lw__push``: a record of a batching op (rects, lines, circles, sprites, triangles) extends the
previous command when that command is the last one written and has the same op and arg; a record
that would overflow ``capacity`` is dropped and counted in ``dropped``.
"""

from __future__ import annotations

import struct

import numpy as np

from layerw import abi

_HEADER = struct.Struct("<4I")
_OP = {op.name: op for op in abi.OPS}
_NONE = -1
WHITE = 0xFFFFFFFF


def rgba(r: int, g: int, b: int, a: int = 255) -> int:
    """Pack a colour as the ABI's u32 (r in the low byte)."""
    return (r & 255) | (g & 255) << 8 | (b & 255) << 16 | (a & 255) << 24


class CommandWriter:
    """An in-memory command list; ``bytes(writer)`` or ``getvalue()`` gives the wire bytes."""

    def __init__(self, capacity: int = abi.COMMAND_CAPACITY) -> None:
        self.capacity = capacity
        self.dropped = 0
        self._buf = bytearray()
        self._last = _NONE  # offset of the header a batching op may extend

    def __len__(self) -> int:
        return len(self._buf)

    def __bytes__(self) -> bytes:
        return bytes(self._buf)

    def getvalue(self) -> bytes:
        """The command list written so far."""
        return bytes(self._buf)

    def reset(self) -> None:
        """Start a new frame (the C side's ``len = 0, last = none``)."""
        self._buf.clear()
        self._last = _NONE
        self.dropped = 0

    def _push(self, name: str, arg: int, payload: bytes, n: int) -> None:
        op = _OP[name]
        if op.batch and self._last != _NONE:
            code, count, last_arg, _ = _HEADER.unpack_from(self._buf, self._last)
            if (code == op.code and last_arg == arg
                    and self._last + _HEADER.size + op.record.size * count == len(self._buf)
                    and len(self._buf) + len(payload) <= self.capacity):
                _HEADER.pack_into(self._buf, self._last, code, count + n, arg, 0)
                self._buf += payload
                return
        if len(self._buf) + _HEADER.size + len(payload) > self.capacity:
            self.dropped += n
            return
        self._last = len(self._buf)
        self._buf += _HEADER.pack(op.code, n, arg, 0)
        self._buf += payload

    def _records(self, name: str, arg: int, records: np.ndarray) -> None:
        dtype = _OP[name].record.dtype
        if records.dtype != dtype:
            converted = np.zeros(len(records), dtype)
            for field_name in records.dtype.names or ():
                converted[field_name] = records[field_name]
            records = converted
        if len(records):
            self._push(name, arg, np.ascontiguousarray(records).tobytes(), len(records))

    def _one(self, name: str, arg: int, *values: float | int) -> None:
        self._records(name, arg, np.array([tuple(values)], _OP[name].record.dtype))

    def clear(self, color: int) -> None:
        self._one("CLEAR", 0, color)

    def viewport(self, x: float, y: float, w: float, h: float) -> None:
        """Clip what follows to a rect in game pixels; w = 0 resets to the whole target."""
        self._one("VIEWPORT", 0, x, y, w, h)

    def transform(self, a: float = 1.0, b: float = 0.0, c: float = 0.0, d: float = 1.0,
                  tx: float = 0.0, ty: float = 0.0) -> None:
        """Camera for what follows: x' = a*x + c*y + tx, y' = b*x + d*y + ty."""
        self._one("TRANSFORM", 0, a, b, c, d, tx, ty)

    def rect(self, x: float, y: float, w: float, h: float, rotation: float = 0.0,
             thickness: float = 0.0, color: int = WHITE) -> None:
        self._one("RECTS", 0, x, y, w, h, rotation, thickness, color, 0)

    def line(self, x0: float, y0: float, x1: float, y1: float, thickness: float = 1.0,
             color: int = WHITE) -> None:
        self._one("LINES", 0, x0, y0, x1, y1, thickness, color)

    def circle(self, x: float, y: float, radius: float, thickness: float = 0.0,
               color: int = WHITE) -> None:
        self._one("CIRCLES", 0, x, y, radius, thickness, color, 0)

    def sprite(self, texture: int, x: float, y: float, w: float, h: float, sx: float, sy: float,
               sw: float, sh: float, rotation: float = 0.0, tint: int = WHITE,
               flags: int = 0) -> None:
        self._one("SPRITES", texture, x, y, w, h, sx, sy, sw, sh, rotation, tint, flags, 0)

    def sprites(self, texture: int, records: np.ndarray) -> None:
        """Many sprites at once: a structured array with (some of) ``abi.SPRITE.dtype``'s fields."""
        self._records("SPRITES", texture, records)

    def vertex(self, texture: int, x: float, y: float, u: float, v: float,
               color: int = WHITE) -> None:
        self._one("TRIANGLES", texture, x, y, u, v, color)

    def triangles(self, texture: int, vertices: np.ndarray) -> None:
        """A triangle list: a structured array with ``abi.VERTEX.dtype``'s fields."""
        self._records("TRIANGLES", texture, vertices)

    def text(self, x: float, y: float, size: float, color: int, s: str | bytes) -> None:
        """Text in the built-in font; non-ASCII characters become '?'."""
        data = s.encode("ascii", "replace") if isinstance(s, str) else bytes(s)
        padded = data + bytes(-len(data) % 4)
        rec = np.array([(x, y, size, color)], abi.TEXT.dtype).tobytes()
        need = _HEADER.size + len(rec) + len(padded)
        if len(self._buf) + need > self.capacity:
            self.dropped += 1
            return
        self._buf += _HEADER.pack(_OP["TEXT"].code, 1, len(data), 0) + rec + padded
        self._last = _NONE
