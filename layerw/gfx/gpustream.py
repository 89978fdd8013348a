"""GpuCommand: one GPU command of a frame's command list, parsed into typed records (no wgpu).

GPU commands share the 2D list's 16-byte header (``abi.HEADER``); their op is in the GPU range
(``abi.GPU_OPS``), ``count`` is 1 (or the number of draws of a batched draw), and ``arg`` bytes of
tail follow the records, padded to 4. ``parse_command`` reads one; what it may refer to is checked
by ``gpucheck.GpuChecker`` before anything reaches the GPU.
"""

from __future__ import annotations

import re
import struct
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from layerw import abi
from layerw.errors import GpuStreamError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class Layout:
    """A struct of the GPU section as a ``struct`` format and a namedtuple of its fields (arrays
    such as ``layouts[4]`` become tuples)."""

    def __init__(self, s: abi.Struct) -> None:
        self.struct = s
        codes = {"u32": "I", "i32": "i", "f32": "f", "u16": "H", "u8": "B"}
        self.format = struct.Struct("<" + "".join(f"{f.count}{codes[str(f.type)]}" for f in s.fields))
        assert self.format.size == s.size, s.name
        self.tuple: Any = namedtuple(s.name, [f.name for f in s.fields])  # type: ignore[misc]
        self.counts = [f.count for f in s.fields]

    def unpack(self, mv: memoryview, at: int) -> Any:
        values = self.format.unpack_from(mv, at)
        if all(c == 1 for c in self.counts):
            return self.tuple._make(values)
        out, i = [], 0
        for c in self.counts:
            out.append(values[i] if c == 1 else values[i:i + c])
            i += c
        return self.tuple._make(out)

    def unpack_many(self, mv: memoryview, at: int, n: int) -> tuple[Any, ...]:
        return tuple(self.unpack(mv, at + i * self.struct.size) for i in range(n))


LAYOUTS: dict[str, Layout] = {s.name: Layout(s) for s in abi.GPU_STRUCTS}
OP = {op.name: op for op in abi.GPU_OPS}
CODE = {op.name: op.code for op in abi.GPU_OPS}
# Pass commands with one record are the hot path (a draw and its state per object drawn): they are
# kept as the plain tuple one struct call reads: (code, 1, 0, reserved, *record fields).
PASS_OPS = ("SET_PIPELINE", "SET_BIND_GROUP", "SET_VERTEX_BUFFER", "SET_INDEX_BUFFER", "DRAW", "DRAW_INDEXED", "DISPATCH")
PASS_FORMATS: dict[int, struct.Struct] = {
    OP[n].code: struct.Struct("<4I" + LAYOUTS[OP[n].record.name].format.format.removeprefix("<")) for n in PASS_OPS}
PassCommand = tuple[int, ...]
_ENTRY = LAYOUTS[abi.GPU_LAYOUT_ENTRY.name]
_BIND = LAYOUTS[abi.GPU_BIND_ENTRY.name]
_COLOR = LAYOUTS[abi.GPU_COLOR_TARGET.name]
_VBUF = LAYOUTS[abi.GPU_VERTEX_BUFFER.name]
_ATTR = LAYOUTS[abi.GPU_ATTRIBUTE.name]
_ATTACH = LAYOUTS[abi.GPU_COLOR_ATTACHMENT.name]


@dataclass(slots=True)
class GpuCommand:
    """One GPU command: its op, its byte offset in the list, its record (a namedtuple of the op's
    struct) and what its tail holds: sub-records (``items``, and ``buffers``/``attributes`` for a
    pipeline), bytes (``data``: buffer or texture contents), text (``text``: WGSL source) or the
    entry points (``names``). Batched draws keep their records as a numpy array in ``draws``."""

    op: abi.Op
    at: int
    rec: Any
    items: tuple[Any, ...] = ()
    buffers: tuple[Any, ...] = ()
    attributes: tuple[Any, ...] = ()
    data: memoryview = field(default_factory=lambda: memoryview(b""))
    text: str = ""
    names: tuple[str, str] = ("", "")
    draws: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.op.name


Command = GpuCommand | PassCommand


class Named(Protocol):
    """What a command other than a pass command's tuple tells of itself (a GpuCommand, a gpurun.PassRun)."""

    @property
    def name(self) -> str: ...

    @property
    def at(self) -> int: ...


def name_of(cmd: PassCommand | Named) -> str:
    """The op name of a parsed GPU command (a GpuCommand or a pass command's tuple)."""
    return abi.GPU_OP_BY_CODE[cmd[0]].name if isinstance(cmd, tuple) else cmd.name


def where(cmd: PassCommand | Named, index: int) -> str:
    """Where a parsed GPU command is: its op, its place among the frame's GPU commands and (when
    kept) its byte offset in the command list."""
    at = "" if isinstance(cmd, tuple) else f", byte {cmd.at}"
    return f"GPU {name_of(cmd)} (GPU command {index}{at})"


def _fail(at: int, op: abi.Op, what: str) -> GpuStreamError:
    return GpuStreamError(f"GPU {op.name} at byte {at}: {what}")


def command_size(op: abi.Op, at: int, count: int, arg: int) -> int:
    """Bytes after the header: ``count`` records plus the tail; a count or tail the op cannot have
    is an error."""
    if op.batch:
        if arg != 0:
            raise _fail(at, op, f"a batched op has no tail (arg {arg})")
        if count > abi.GPU_MAX_DRAWS:
            raise _fail(at, op, f"{count} draws, over the limit of {abi.GPU_MAX_DRAWS}")
        return op.record.size * count
    if count != 1:
        raise _fail(at, op, f"count {count}, expected 1")
    return op.record.size + ((arg + 3) & ~3)


def parse_command(mv: memoryview, at: int, op: abi.Op, count: int, arg: int) -> GpuCommand:
    """The command whose header is at byte ``at`` of ``mv`` (its size already checked against the list)."""
    body = at + abi.HEADER.size
    if op.batch:
        draws = np.frombuffer(mv, op.record.dtype, count, body)
        return GpuCommand(op, at, None, draws=draws)
    layout = LAYOUTS[op.record.name]
    rec = layout.unpack(mv, body)
    tail_at = body + op.record.size
    cmd = GpuCommand(op, at, rec)
    name = op.name
    if name in ("WRITE_BUFFER", "WRITE_TEXTURE"):
        cmd.data = mv[tail_at:tail_at + arg]
    elif name == "SHADER":
        if arg > abi.GPU_MAX_SHADER_BYTES:
            raise _fail(at, op, f"{arg} bytes of WGSL, over the limit of {abi.GPU_MAX_SHADER_BYTES}")
        try:
            cmd.text = bytes(mv[tail_at:tail_at + arg]).decode("utf-8")
        except UnicodeDecodeError as e:
            raise _fail(at, op, f"the WGSL source is not UTF-8 ({e})") from None
    elif name == "LAYOUT":
        cmd.items = _items(op, at, rec.entry_count, _ENTRY, abi.GPU_MAX_BINDINGS, arg, mv, tail_at)
    elif name == "BIND_GROUP":
        cmd.items = _items(op, at, rec.entry_count, _BIND, abi.GPU_MAX_BINDINGS, arg, mv, tail_at)
    elif name == "BEGIN_PASS":
        cmd.items = _items(op, at, rec.color_count, _ATTACH, abi.GPU_MAX_COLOR_TARGETS, arg, mv, tail_at)
    elif name == "PIPELINE":
        _pipeline_tail(cmd, mv, tail_at, arg)
    elif name == "COMPUTE_PIPELINE":
        if rec.layout_count > abi.GPU_MAX_BIND_GROUPS or rec.entry_len > 128 or rec.entry_len != arg:
            raise _fail(at, op, f"{rec.layout_count} layouts (at most {abi.GPU_MAX_BIND_GROUPS}) and an entry point "
                        f"of {rec.entry_len} bytes (at most 128) need a tail of entry_len bytes, got {arg}")
        cmd.names = (_entry_point(cmd, mv, tail_at, arg), "")
    elif arg:
        raise _fail(at, op, f"this op has no tail, got {arg} bytes")
    return cmd


def _items(op: abi.Op, at: int, n: int, layout: Layout, limit: int, arg: int, mv: memoryview,
           tail_at: int) -> tuple[Any, ...]:
    if n > limit:
        raise _fail(at, op, f"{n} entries, over the limit of {limit}")
    if n * layout.struct.size != arg:
        raise _fail(at, op, f"{n} entries of {layout.struct.size} bytes need a tail of {n * layout.struct.size}, got {arg}")
    return layout.unpack_many(mv, tail_at, n)


def _pipeline_tail(cmd: GpuCommand, mv: memoryview, at: int, arg: int) -> None:
    r, op = cmd.rec, cmd.op
    limits = ((r.color_count, abi.GPU_MAX_COLOR_TARGETS, "colour targets"),
              (r.buffer_count, abi.GPU_MAX_VERTEX_BUFFERS, "vertex buffers"),
              (r.attribute_count, abi.GPU_MAX_ATTRIBUTES, "attributes"),
              (r.layout_count, abi.GPU_MAX_BIND_GROUPS, "bind group layouts"),
              (r.vs_len, 128, "bytes of vertex entry point"), (r.fs_len, 128, "bytes of fragment entry point"))
    for n, limit, what in limits:
        if n > limit:
            raise _fail(cmd.at, op, f"{n} {what}, over the limit of {limit}")
    need = (r.color_count * _COLOR.struct.size + r.buffer_count * _VBUF.struct.size
            + r.attribute_count * _ATTR.struct.size + r.vs_len + r.fs_len)
    if need != arg:
        raise _fail(cmd.at, op, f"its counts need a tail of {need} bytes, got {arg}")
    cmd.items = _COLOR.unpack_many(mv, at, r.color_count)
    at += r.color_count * _COLOR.struct.size
    cmd.buffers = _VBUF.unpack_many(mv, at, r.buffer_count)
    at += r.buffer_count * _VBUF.struct.size
    cmd.attributes = _ATTR.unpack_many(mv, at, r.attribute_count)
    at += r.attribute_count * _ATTR.struct.size
    vs = _entry_point(cmd, mv, at, r.vs_len)
    cmd.names = (vs, _entry_point(cmd, mv, at + r.vs_len, r.fs_len))


def _entry_point(cmd: GpuCommand, mv: memoryview, at: int, n: int) -> str:
    """The ``n`` bytes at ``at`` as an entry point's name ("" when n is 0)."""
    text = bytes(mv[at:at + n]).decode("ascii", "replace")
    if n and not _IDENT.fullmatch(text):
        raise _fail(cmd.at, cmd.op, f"entry point {text!r} is not a WGSL identifier")
    return text
