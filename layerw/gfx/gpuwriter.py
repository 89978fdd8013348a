"""GpuWriter: a CommandWriter that also writes GPU commands, byte for byte as layerw_gpu.h does.

Tests, benchmarks and tools build mixed frames (GPU passes, then 2D on top) without a wasm game.
Enum arguments take WebGPU's names ("rgba8unorm", "triangle-list") or the ABI's codes; ``raw``
writes any header and bytes, for hostile streams.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from layerw import abi
from layerw.gfx.writer import CommandWriter

_HEADER = struct.Struct("<4I")
_OP = {op.name: op for op in abi.GPU_OPS}
_TABLES: dict[str, Sequence[str]] = {
    "format": list(abi.GPU_TEXTURE_FORMATS), "vertex": list(abi.GPU_VERTEX_FORMATS),
    "binding": abi.GPU_BINDING_TYPES, "topology": abi.GPU_TOPOLOGIES, "cull": abi.GPU_CULL_MODES,
    "front": abi.GPU_FRONT_FACES, "compare": abi.GPU_COMPARE, "filter": abi.GPU_FILTERS,
    "address": abi.GPU_ADDRESS_MODES, "blend": abi.GPU_BLENDS, "step": abi.GPU_STEP_MODES,
    "index": abi.GPU_INDEX_FORMATS, "load": abi.GPU_LOAD_OPS, "store": abi.GPU_STORE_OPS,
}
Code = int | str
Color = tuple[float, float, float, float]


def code(table: str, value: Code) -> int:
    """An enum argument as the ABI's code."""
    return _TABLES[table].index(value) if isinstance(value, str) else value


def _pack(s: abi.Struct, *values: object) -> bytes:
    return np.array([tuple(values)], s.dtype).tobytes()


class GpuWriter(CommandWriter):
    """A command list of GPU and 2D commands; ``kind(name)`` is an LW_GPU_KIND_* code."""

    def raw(self, op: int, count: int, arg: int, payload: bytes) -> None:
        """Any header and payload, unchecked."""
        self._buf += _HEADER.pack(op, count, arg, 0) + payload
        self._last = -1

    def _gpu(self, name: str, record: bytes, tail: bytes | bytearray | memoryview = b"") -> None:
        tail = bytes(tail)
        op = _OP[name]
        if op.batch and self._last != -1:
            c, count, arg, _ = _HEADER.unpack_from(self._buf, self._last)
            if c == op.code and self._last + _HEADER.size + op.record.size * count == len(self._buf):
                _HEADER.pack_into(self._buf, self._last, c, count + 1, 0, 0)
                self._buf += record
                return
        need = _HEADER.size + len(record) + len(tail) + (-len(tail) % 4)
        if len(self._buf) + need > self.capacity:
            self.dropped += 1
            return
        self._last = len(self._buf) if op.batch else -1
        self._buf += _HEADER.pack(op.code, 1, len(tail), 0) + record + tail + bytes(-len(tail) % 4)

    @staticmethod
    def kind(name: str) -> int:
        return abi.GPU_KINDS[name.upper()]

    def gpu_reset(self) -> None:
        self._gpu("RESET", _pack(abi.GPU_RESET, 0))

    def destroy(self, kind: int, handle: int) -> None:
        self._gpu("DESTROY", _pack(abi.GPU_DESTROY, kind, handle))

    def buffer(self, handle: int, size: int, usage: int) -> None:
        self._gpu("BUFFER", _pack(abi.GPU_BUFFER, handle, size, usage, 0))

    def write_buffer(self, handle: int, offset: int, data: bytes | bytearray | memoryview) -> None:
        self._gpu("WRITE_BUFFER", _pack(abi.GPU_WRITE_BUFFER, handle, offset), data)

    def texture(self, handle: int, width: int, height: int, format: Code, usage: int, mip_levels: int = 1) -> None:
        self._gpu("TEXTURE", _pack(abi.GPU_TEXTURE, handle, width, height, code("format", format), usage, mip_levels))

    def write_texture(self, handle: int, x: int, y: int, width: int, height: int, bytes_per_row: int,
                      data: bytes | bytearray | memoryview, mip_level: int = 0) -> None:
        self._gpu("WRITE_TEXTURE", _pack(abi.GPU_WRITE_TEXTURE, handle, x, y, width, height, bytes_per_row, mip_level),
                  data)

    def sampler(self, handle: int, filter: Code = "nearest", address: Code = "clamp-to-edge",
                compare: Code = "none") -> None:
        f, a = code("filter", filter), code("address", address)
        self._gpu("SAMPLER", _pack(abi.GPU_SAMPLER, handle, f, f, f, a, a, a, code("compare", compare)))

    def shader(self, handle: int, source: str | bytes) -> None:
        data = source.encode() if isinstance(source, str) else source
        self._gpu("SHADER", _pack(abi.GPU_SHADER, handle, 0), data)

    def layout(self, handle: int, entries: Sequence[tuple[int, int, Code]]) -> None:
        """Entries as (binding, visibility bits, binding type)."""
        tail = b"".join(_pack(abi.GPU_LAYOUT_ENTRY, b, v, code("binding", t), 0) for b, v, t in entries)
        self._gpu("LAYOUT", _pack(abi.GPU_LAYOUT, handle, len(entries)), tail)

    def pipeline(self, handle: int, shader: int, vs: str, fs: str, *,
                 colors: Sequence[tuple[Code, Code]] = (("rgba8unorm", "replace"),),
                 buffers: Sequence[tuple[int, Code, Sequence[tuple[int, int, Code]]]] = (),
                 layouts: Sequence[int] = (), topology: Code = "triangle-list", cull: Code = "none",
                 front: Code = "ccw", depth_format: Code = 0, depth_write: int = 0,
                 depth_compare: Code = 0) -> None:
        """``colors`` as (format, blend); ``buffers`` as (stride, step mode, [(location, offset, format)])."""
        attributes = [a for _, _, attrs in buffers for a in attrs]
        tail = b"".join(_pack(abi.GPU_COLOR_TARGET, code("format", f), code("blend", b), 0) for f, b in colors)
        tail += b"".join(_pack(abi.GPU_VERTEX_BUFFER, stride, code("step", step), len(attrs))
                         for stride, step, attrs in buffers)
        tail += b"".join(_pack(abi.GPU_ATTRIBUTE, loc, off, code("vertex", fmt)) for loc, off, fmt in attributes)
        tail += vs.encode() + fs.encode()
        slots = list(layouts) + [0] * (abi.GPU_MAX_BIND_GROUPS - len(layouts))
        rec = _pack(abi.GPU_PIPELINE, handle, shader, len(layouts), slots, code("topology", topology),
                    code("cull", cull), code("front", front), code("format", depth_format), depth_write,
                    code("compare", depth_compare), len(colors), len(buffers), len(attributes),
                    len(vs.encode()), len(fs.encode()))
        self._gpu("PIPELINE", rec, tail)

    def compute_pipeline(self, handle: int, shader: int, entry: str, *, layouts: Sequence[int] = ()) -> None:
        slots = list(layouts) + [0] * (abi.GPU_MAX_BIND_GROUPS - len(layouts))
        name = entry.encode()
        self._gpu("COMPUTE_PIPELINE", _pack(abi.GPU_COMPUTE_PIPELINE, handle, shader, len(layouts), slots, len(name)), name)

    def bind_group(self, handle: int, entries: Sequence[tuple[int, int, int, int, int]], *, layout: int = 0,
                   pipeline: int = 0, group: int = 0) -> None:
        """Entries as (binding, kind, handle, offset, size)."""
        tail = b"".join(_pack(abi.GPU_BIND_ENTRY, *e) for e in entries)
        self._gpu("BIND_GROUP", _pack(abi.GPU_BIND_GROUP, handle, layout, pipeline, group, len(entries)), tail)

    def begin_pass(self, colors: Sequence[tuple[int, Code, Code, Color]], depth: int = 0,
                   depth_clear: float = 1.0) -> None:
        """Colour attachments as (texture, load op, store op, clear RGBA)."""
        tail = b"".join(_pack(abi.GPU_COLOR_ATTACHMENT, t, code("load", lo), code("store", so), c)
                        for t, lo, so, c in colors)
        self._gpu("BEGIN_PASS", _pack(abi.GPU_PASS, len(colors), depth, 0, 0, depth_clear, 0), tail)

    def begin_compute_pass(self) -> None:
        self._gpu("BEGIN_COMPUTE_PASS", _pack(abi.GPU_COMPUTE_PASS, 0))

    def dispatch(self, x: int, y: int = 1, z: int = 1) -> None:
        self._gpu("DISPATCH", _pack(abi.GPU_DISPATCH, x, y, z))

    def end_pass(self) -> None:
        self._gpu("END_PASS", _pack(abi.GPU_END_PASS, 0))

    def set_pipeline(self, handle: int) -> None:
        self._gpu("SET_PIPELINE", _pack(abi.GPU_SET_PIPELINE, handle))

    def set_bind_group(self, index: int, handle: int) -> None:
        self._gpu("SET_BIND_GROUP", _pack(abi.GPU_SET_BIND_GROUP, index, handle))

    def set_vertex_buffer(self, slot: int, handle: int, offset: int = 0, size: int = 0) -> None:
        self._gpu("SET_VERTEX_BUFFER", _pack(abi.GPU_SET_VERTEX_BUFFER, slot, handle, offset, size))

    def set_index_buffer(self, handle: int, format: Code = "uint16", offset: int = 0, size: int = 0) -> None:
        self._gpu("SET_INDEX_BUFFER", _pack(abi.GPU_SET_INDEX_BUFFER, handle, code("index", format), offset, size))

    def draw(self, vertices: int, instances: int = 1, first: int = 0, first_instance: int = 0) -> None:
        self._gpu("DRAW", _pack(abi.GPU_DRAW, vertices, instances, first, first_instance))

    def draw_indexed(self, indices: int, instances: int = 1, first: int = 0, base: int = 0,
                     first_instance: int = 0) -> None:
        self._gpu("DRAW_INDEXED", _pack(abi.GPU_DRAW_INDEXED, indices, instances, first, base, first_instance))
