"""GpuChecker: checks a frame's GPU commands before any reaches the GPU (pure Python, no wgpu).

Every handle, size, offset, format, enum and binding is checked against the game's ``GpuTable``
and the limits in ``abi`` (resources, memory, passes, draws, vertices per frame), and the pass
structure (pass commands only inside a pass, every pass ended, pipelines matching the pass's
targets, draws inside their bound buffers). A hostile frame is a ``GpuStreamError`` naming the
command and its byte offset; the table changes only when the whole frame passes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerw import abi
from layerw.errors import GpuStreamError
from layerw.gfx.gpuresources import (
    BIND_GROUP,
    BUFFER,
    FRAME_FORMAT,
    LAYOUT,
    PIPELINE,
    SAMPLER,
    SHADER,
    TEXTURE,
    BindGroup,
    Buffer,
    GpuTable,
    Layout,
    Pipeline,
    Sampler,
    Shader,
    Texture,
    VertexSlot,
)
from layerw.gfx.gpurun import FrameCommand, PassRun
from layerw.gfx.gpustream import CODE, LAYOUTS, OP, GpuCommand, PassCommand, where
from layerw.gfx.wgslloops import endless_loops

_BUF_USAGE = sum(abi.GPU_BUFFER_USAGE.values())
_TEX_USAGE = sum(abi.GPU_TEXTURE_USAGE.values())
_ONE_LEVEL_USAGE = abi.GPU_TEXTURE_USAGE["RENDER_ATTACHMENT"] | abi.GPU_TEXTURE_USAGE["STORAGE_BINDING"]
_VIS = sum(abi.GPU_VISIBILITY.values())
_FORMATS = list(abi.GPU_TEXTURE_FORMATS)
_VFORMATS = list(abi.GPU_VERTEX_FORMATS)
_BUFFER_BINDINGS = {"uniform": abi.GPU_BUFFER_USAGE["UNIFORM"], "storage": abi.GPU_BUFFER_USAGE["STORAGE"],
                    "read-only-storage": abi.GPU_BUFFER_USAGE["STORAGE"]}
_TEXTURE_BINDINGS = ("float", "unfilterable-float", "depth")
_SAMPLER_BINDINGS = ("filtering", "non-filtering", "comparison")
_PASS_OPS = frozenset({"SET_PIPELINE", "SET_BIND_GROUP", "SET_VERTEX_BUFFER", "SET_INDEX_BUFFER", "DRAW",
                       "DRAW_INDEXED", "DISPATCH", "END_PASS"})
_DRAW, _DRAW_INDEXED, _SET_BIND_GROUP = CODE["DRAW"], CODE["DRAW_INDEXED"], CODE["SET_BIND_GROUP"]
_RECORDS = {op.code: LAYOUTS[op.record.name].tuple for op in OP.values()}
_MAX_DRAWS, _MAX_VERTICES, _MAX_BIND_GROUPS = abi.GPU_MAX_DRAWS, abi.GPU_MAX_VERTICES, abi.GPU_MAX_BIND_GROUPS


def enum(names: Sequence[str], code: int, what: str, *, zero: bool = True) -> str:
    """The name of enum ``code`` in ``names`` (a GpuStreamError if out of range, or 0 when not ``zero``)."""
    if not (0 if zero else 1) <= code < len(names):
        raise GpuStreamError(f"{what} {code} is not one of 0 .. {len(names) - 1}" if zero else
                             f"{what} {code} is not one of 1 .. {len(names) - 1}")
    return names[code]


@dataclass
class PassState:
    """What a render pass has bound so far."""

    colors: tuple[str, ...]
    depth: str | None
    pipeline: Pipeline | None = None
    pipeline_handle: int = 0
    groups: dict[int, BindGroup] = field(default_factory=dict)
    groups_checked: bool = False  # the bound groups fit the pipeline (reset by SET_PIPELINE, SET_BIND_GROUP)
    vertex: dict[int, int] = field(default_factory=dict)  # slot -> bytes bound
    index: tuple[int, int] | None = None  # (bytes bound, bytes per index)
    compute: bool = False  # a compute pass: pipelines are compute pipelines, and it dispatches, never draws
    # After a draw passed: the furthest vertex and instance element a draw may read with what is bound
    # (reset by SET_PIPELINE and SET_VERTEX_BUFFER), so the draws after it are checked in a few compares
    limits: tuple[int, int] | None = None


class GpuChecker:
    """Checks frames of one game's GPU commands; ``table`` is what the game holds after the last
    frame that passed."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.table = GpuTable()

    def check(self, commands: Sequence[FrameCommand]) -> bool:
        """Check one frame's commands (and adopt its table); True when a pass draws into the frame."""
        table = self.table.copy()
        frame = _FrameCheck(table, self.width, self.height)
        fast, i = frame.fast, 0
        for cmd in commands:
            if type(cmd) is PassRun:
                i = _check_run(frame, cmd, i)
                continue
            try:
                if type(cmd) is tuple:
                    fast(cmd)
                else:
                    frame.command(cmd)  # type: ignore[arg-type]
            except GpuStreamError as e:
                raise GpuStreamError(f"{where(cmd, i)}: {e}") from None
            i += 1
        if frame.pass_state is not None:
            raise GpuStreamError("the frame ends inside a render pass or compute pass (no END_PASS)")
        self.table = table
        return frame.drew_frame

    def reset(self) -> None:
        self.table = GpuTable()


def _check_run(frame: _FrameCheck, run: PassRun, i: int) -> int:
    """Check a run of pass-command blocks whose first command is the frame's GPU command ``i``; the
    index after it. The first block is checked as single commands while the pass is not set for the
    column checks (its draw checks the bound groups), and every block after it too where a column
    check does not pass: the same verdicts and messages as when no run is found."""
    first = 0
    if not frame.run_ready(run):
        _each(frame, run.commands(0, 1), i)
        first = 1
    if not (frame.run_ready(run) and frame.run(run, first)):
        _each(frame, run.commands(first), i + first * len(run.codes))
    return i + len(run)


def _each(frame: _FrameCheck, commands: list[PassCommand], i: int) -> None:
    """Check pass commands one at a time, the first being the frame's GPU command ``i``."""
    for cmd in commands:
        try:
            frame.fast(cmd)
        except GpuStreamError as e:
            raise GpuStreamError(f"{where(cmd, i)}: {e}") from None
        i += 1


def _fits(p: Pipeline, pipeline_handle: int, i: int, g: BindGroup | None) -> bool:
    """Whether bind group ``g`` at index ``i`` fits pipeline ``p`` (set as ``pipeline_handle``)."""
    if p.layouts:
        return i >= len(p.layouts) or (g is not None and g.layout == p.layouts[i])
    return g is None or g.pipeline == pipeline_handle


class _FrameCheck:
    def __init__(self, table: GpuTable, width: int, height: int) -> None:
        self.table, self.width, self.height = table, width, height
        self.pass_state: PassState | None = None
        self.passes = self.draws = self.vertices = self.workgroups = 0
        self.drew_frame = False

    def fast(self, cmd: tuple[int, ...]) -> None:
        """A pass command with one record, as parsed: (code, 1, 0, reserved, *fields)."""
        state = self.pass_state
        if state is None:
            raise GpuStreamError("only allowed inside a pass")
        code = cmd[0]
        if code == _DRAW:
            limits = state.limits
            if limits is not None:  # the hot path: the same checks as _drawn's, on the bounds it found
                _, _, _, _, count, instances, first, first_instance = cmd
                vertices = self.vertices + count * instances
                if (first + count <= limits[0] and first_instance + instances <= limits[1] and self.draws < _MAX_DRAWS
                        and vertices <= _MAX_VERTICES):
                    self.draws += 1
                    self.vertices = vertices
                    return
            self._draw_one(state, cmd[4], cmd[5], cmd[6], cmd[7])
            state.limits = self._limits(state)
        elif code == _SET_BIND_GROUP:
            index, group = cmd[4], self.table.resources.get((BIND_GROUP, cmd[5]))
            if index >= _MAX_BIND_GROUPS or not isinstance(group, BindGroup):
                raise GpuStreamError(f"no bind group {cmd[5]}, or index {index} is not below {abi.GPU_MAX_BIND_GROUPS}")
            state.groups[index] = group
            p = state.pipeline
            # only the new group needs checking (an auto layout's group of the pipeline set fits: the hot path)
            if state.groups_checked and p is not None and (p.layouts or group.pipeline != state.pipeline_handle):
                self._check_group(state, p, index)
        elif code == _DRAW_INDEXED:
            if state.index is None:
                raise GpuStreamError("no index buffer is bound")
            bound, size = state.index
            if (cmd[6] + cmd[4]) * size > bound:
                raise GpuStreamError(f"draws read indices up to {cmd[6] + cmd[4]}, the index buffer holds {bound // size}")
            self._draw_one(state, cmd[4], cmd[5], None, cmd[8])
        else:
            getattr(self, abi.GPU_OP_BY_CODE[code].name.lower())(None, _RECORDS[code]._make(cmd[4:]))

    def _draw_one(self, state: PassState, count: int, instances: int, first: int | None, first_instance: int) -> None:
        vertex_end = first + count if first is not None and count else 0
        self._drawn(state, 1, count * instances, vertex_end, first_instance + instances if instances else 0)

    @staticmethod
    def _limits(state: PassState) -> tuple[int, int]:
        """The furthest vertex and instance element (exclusive) a draw may read from the bound slots
        of the pipeline set; called after a draw passed, so every slot is bound."""
        assert state.pipeline is not None
        ends = {"vertex": 2**63, "instance": 2**63}
        for slot, vs in enumerate(state.pipeline.slots):
            room = state.vertex[slot] - vs.extent
            end = 0 if room < 0 else room // vs.stride + 1 if vs.stride else 2**63
            ends[vs.step] = min(ends[vs.step], end)
        return ends["vertex"], ends["instance"]

    def _drawn(self, state: PassState, draws: int, vertices: int, vertex_end: int, instance_end: int) -> None:
        """Draws of ``vertices`` vertex invocations in all, reading per-vertex data up to element
        ``vertex_end`` (0: nothing known, e.g. indexed) and per-instance data up to ``instance_end``."""
        p = state.pipeline
        if state.compute:
            raise GpuStreamError("a compute pass dispatches, it does not draw")
        if p is None:
            raise GpuStreamError("no pipeline is set")
        self.draws += draws
        self.vertices += vertices
        if self.draws > abi.GPU_MAX_DRAWS or self.vertices > abi.GPU_MAX_VERTICES:
            raise GpuStreamError(f"over the frame's limit of {abi.GPU_MAX_DRAWS} draws or "
                                 f"{abi.GPU_MAX_VERTICES} vertices (count x instances)")
        if not state.groups_checked:
            self._check_groups(state, p)
        for slot, vs in enumerate(p.slots):
            bound = state.vertex.get(slot)
            if bound is None:
                raise GpuStreamError(f"vertex buffer slot {slot} is not bound")
            end = vertex_end if vs.step == "vertex" else instance_end
            if end and (end - 1) * vs.stride + vs.extent > bound:
                raise GpuStreamError(f"draws read past the {bound} bytes bound at vertex buffer slot {slot}")

    def _check_groups(self, state: PassState, p: Pipeline) -> None:
        for i in range(len(p.layouts) or abi.GPU_MAX_BIND_GROUPS):
            self._check_group(state, p, i)
        state.groups_checked = True

    def _check_group(self, state: PassState, p: Pipeline, i: int) -> None:
        """The bind group at index ``i`` fits pipeline ``p`` (an explicit layout needs one at every index)."""
        g = state.groups.get(i)
        if _fits(p, state.pipeline_handle, i, g):
            return
        if p.layouts:
            raise GpuStreamError(f"group {i} needs a bind group of layout {p.layouts[i]}")
        raise GpuStreamError(f"bind group at {i} was made for another pipeline's auto layout")

    def run_ready(self, run: PassRun) -> bool:
        """Whether the pass is set for ``run``'s column checks: a render pass whose pipeline has its
        groups checked and every vertex slot (and the index buffer, for indexed draws) bound."""
        state = self.pass_state
        return (state is not None and not state.compute and state.pipeline is not None and state.groups_checked
                and all(slot in state.vertex for slot in range(len(state.pipeline.slots)))
                and (state.index is not None or _DRAW_INDEXED not in run.codes))

    def run(self, run: PassRun, first: int) -> bool:
        """Check repeats ``first`` .. of ``run`` (the pass being ``run_ready``) a column at a time:
        what the single-command checks accept, on every row at once. False, with nothing changed,
        where any row would need more than the single-command hot path's compares."""
        state = self.pass_state
        assert state is not None and state.pipeline is not None
        p, rows = state.pipeline, len(run.rows) - first
        vertex_end, instance_end = (min(end, 2**62) for end in self._limits(state))  # int64 compares below
        groups: dict[int, BindGroup] = {}
        draws = vertices = 0
        for slot, code in enumerate(run.codes):
            def col(field: int, slot: int = slot) -> np.ndarray:
                return run.column(slot, field)[first:].astype(np.int64)
            if code == _SET_BIND_GROUP:
                index, handle = col(0), col(1)
                if not (index == index[0]).all():
                    return False
                for h in np.unique(handle).tolist():
                    group = self.table.resources.get((BIND_GROUP, h))
                    if not (index[0] < _MAX_BIND_GROUPS and isinstance(group, BindGroup)
                            and _fits(p, state.pipeline_handle, int(index[0]), group)):
                        return False
                    if h == handle[-1]:
                        groups[int(index[0])] = group
                continue
            if code == _DRAW:
                count, instances, first_vertex, first_instance = col(0), col(1), col(2), col(3)
                if (first_vertex + count > vertex_end).any():
                    return False
            else:  # DRAW_INDEXED: the indices it reads are inside the bound index buffer
                assert state.index is not None
                count, instances, first_index, first_instance = col(0), col(1), col(2), col(4)
                bound, size = state.index
                if ((first_index + count) * size > bound).any():
                    return False
            each = count.astype(np.uint64) * instances.astype(np.uint64)
            if (first_instance + instances > instance_end).any() or int(each.max()) > _MAX_VERTICES:
                return False
            draws, vertices = draws + rows, vertices + int(each.sum())
        if self.draws + draws > _MAX_DRAWS or self.vertices + vertices > _MAX_VERTICES:
            return False
        self.draws += draws
        self.vertices += vertices
        state.groups.update(groups)
        return True

    def command(self, cmd: GpuCommand) -> None:
        in_pass = self.pass_state is not None
        if (cmd.name in _PASS_OPS) != in_pass:
            raise GpuStreamError("only allowed inside a pass" if not in_pass else
                                 "not allowed inside a pass (END_PASS first)")
        getattr(self, cmd.name.lower())(cmd, cmd.rec)

    # --- resources ---------------------------------------------------------------------------------

    def reset(self, cmd: GpuCommand, r: Any) -> None:
        self.table.clear()

    def destroy(self, cmd: GpuCommand, r: Any) -> None:
        if r.kind not in abi.GPU_KINDS.values():
            raise GpuStreamError(f"kind {r.kind} is not an LW_GPU_KIND_*")
        self.table.remove(r.kind, r.handle, "destroy")

    def buffer(self, cmd: GpuCommand, r: Any) -> None:
        if not 0 < r.size <= abi.GPU_MAX_BUFFER_BYTES or r.size % 4:
            raise GpuStreamError(f"size {r.size} must be a multiple of 4 in 4 .. {abi.GPU_MAX_BUFFER_BYTES}")
        if not r.usage or r.usage & ~_BUF_USAGE:
            raise GpuStreamError(f"usage {r.usage:#x} must be LW_GPU_BUFFER_* bits (mapping is not offered)")
        self.table.add(BUFFER, r.handle, Buffer(r.size, r.usage), "buffer")

    def write_buffer(self, cmd: GpuCommand, r: Any) -> None:
        buf = self._buffer(r.handle, abi.GPU_BUFFER_USAGE["COPY_DST"], "COPY_DST")
        n = len(cmd.data)
        if r.offset % 4 or n % 4 or r.offset + n > buf.size:
            raise GpuStreamError(f"{n} bytes at offset {r.offset} must be multiples of 4 inside the buffer's "
                                 f"{buf.size} bytes")

    def texture(self, cmd: GpuCommand, r: Any) -> None:
        fmt = enum(_FORMATS, r.format, "format", zero=False)
        limit = abi.GPU_MAX_TEXTURE_SIZE
        if not (0 < r.width <= limit and 0 < r.height <= limit):
            raise GpuStreamError(f"size {r.width}x{r.height} must be within 1 .. {limit}")
        if not r.usage or r.usage & ~_TEX_USAGE:
            raise GpuStreamError(f"usage {r.usage:#x} must be LW_GPU_TEXTURE_* bits")
        levels = max(1, r.mip_levels)
        if levels > max(r.width, r.height).bit_length():
            raise GpuStreamError(f"{r.mip_levels} mip levels, more than a {r.width}x{r.height} texture has")
        tex = Texture(r.width, r.height, fmt, r.usage, levels)
        if tex.depth and r.usage & (abi.GPU_TEXTURE_USAGE["COPY_DST"] | abi.GPU_TEXTURE_USAGE["STORAGE_BINDING"]):
            raise GpuStreamError(f"a {fmt} texture cannot be written (COPY_DST, STORAGE_BINDING)")
        if levels > 1 and (tex.depth or r.usage & _ONE_LEVEL_USAGE):
            raise GpuStreamError(f"a {fmt} texture with usage {r.usage:#x} has one mip level, not {levels} "
                                 "(mip levels are for sampled colour textures)")
        self.table.add(TEXTURE, r.handle, tex, "texture")

    def write_texture(self, cmd: GpuCommand, r: Any) -> None:
        tex = self._texture(r.handle, abi.GPU_TEXTURE_USAGE["COPY_DST"], "COPY_DST")
        if tex.depth:
            raise GpuStreamError(f"texture {r.handle} is {tex.format}: depth textures are written by passes only")
        if r.mip_level >= tex.mip_levels:
            raise GpuStreamError(f"mip level {r.mip_level} is outside the texture's {tex.mip_levels}")
        width, height = tex.level_size(r.mip_level)
        if not (r.width and r.height and r.x + r.width <= width and r.y + r.height <= height):
            raise GpuStreamError(f"rect {r.x},{r.y} {r.width}x{r.height} is empty or outside the texture's "
                                 f"{width}x{height} (mip level {r.mip_level})")
        row = r.width * abi.GPU_TEXTURE_FORMATS[tex.format]
        if r.bytes_per_row < row or len(cmd.data) != r.bytes_per_row * r.height:
            raise GpuStreamError(f"{len(cmd.data)} bytes of {r.height} rows of {r.bytes_per_row} bytes "
                                 f"(at least {row} each) do not match")

    def sampler(self, cmd: GpuCommand, r: Any) -> None:
        for name in ("mag_filter", "min_filter", "mipmap_filter"):
            enum(abi.GPU_FILTERS, getattr(r, name), name)
        for name in ("address_u", "address_v", "address_w"):
            enum(abi.GPU_ADDRESS_MODES, getattr(r, name), name)
        compare = enum(abi.GPU_COMPARE, r.compare, "compare")
        self.table.add(SAMPLER, r.handle, Sampler(compare != "none"), "sampler")

    def shader(self, cmd: GpuCommand, r: Any) -> None:
        if not cmd.text.strip():
            raise GpuStreamError("the WGSL source is empty")
        for line in endless_loops(cmd.text)[:1]:
            raise GpuStreamError(f"WGSL line {line}: this loop has no break or return, so it never ends")
        self.table.add(SHADER, r.handle, Shader(), "shader")

    def layout(self, cmd: GpuCommand, r: Any) -> None:
        types: dict[int, str] = {}
        for e in cmd.items:
            if e.binding >= abi.GPU_MAX_BINDINGS or e.binding in types:
                raise GpuStreamError(f"binding {e.binding} is repeated or not below {abi.GPU_MAX_BINDINGS}")
            if not e.visibility or e.visibility & ~_VIS:
                raise GpuStreamError(f"binding {e.binding}: visibility {e.visibility:#x} must be LW_GPU_VISIBILITY_* bits")
            types[e.binding] = enum(abi.GPU_BINDING_TYPES, e.type, f"binding {e.binding}: type", zero=False)
            if types[e.binding] == "storage" and e.visibility & abi.GPU_VISIBILITY["VERTEX"]:
                raise GpuStreamError(f"binding {e.binding}: a vertex shader cannot write a storage buffer "
                                     "(read-only-storage can be read there)")
        self.table.add(LAYOUT, r.handle, Layout(types), "layout")

    def pipeline(self, cmd: GpuCommand, r: Any) -> None:
        self.table.get(SHADER, r.shader, "shader")
        layouts = tuple(r.layouts[:r.layout_count])
        for h in layouts:
            self.table.get(LAYOUT, h, "layout")
        enum(abi.GPU_TOPOLOGIES, r.topology, "topology")
        enum(abi.GPU_CULL_MODES, r.cull_mode, "cull mode")
        enum(abi.GPU_FRONT_FACES, r.front_face, "front face")
        depth = None
        if r.depth_format:
            depth = enum(_FORMATS, r.depth_format, "depth format")
            if abi.GPU_TEXTURE_FORMATS[depth]:
                raise GpuStreamError(f"depth format {depth} is a colour format")
            enum(abi.GPU_COMPARE[1:], r.depth_compare - 1, "depth compare")
            if r.depth_write > 1:
                raise GpuStreamError(f"depth_write {r.depth_write} must be 0 or 1")
        colors = []
        for c in cmd.items:
            fmt = enum(_FORMATS, c.format, "colour target format", zero=False)
            if not abi.GPU_TEXTURE_FORMATS[fmt]:
                raise GpuStreamError(f"colour target format {fmt} is a depth format")
            enum(abi.GPU_BLENDS, c.blend, "blend")
            if c.write_mask > 15:
                raise GpuStreamError(f"write mask {c.write_mask:#x} must be RGBA bits")
            colors.append(fmt)
        if not cmd.names[0] or (colors and not cmd.names[1]):
            raise GpuStreamError("a pipeline names its vertex entry point, and its fragment one when it has colour targets")
        self.table.add(PIPELINE, r.handle, Pipeline(layouts, tuple(colors), depth, self._slots(cmd)), "pipeline")

    def compute_pipeline(self, cmd: GpuCommand, r: Any) -> None:
        self.table.get(SHADER, r.shader, "shader")
        layouts = tuple(r.layouts[:r.layout_count])
        for h in layouts:
            self.table.get(LAYOUT, h, "layout")
        if not cmd.names[0]:
            raise GpuStreamError("a compute pipeline names its entry point")
        self.table.add(PIPELINE, r.handle, Pipeline(layouts, (), None, (), compute=True), "pipeline")

    def _slots(self, cmd: GpuCommand) -> tuple[VertexSlot, ...]:
        if sum(b.attribute_count for b in cmd.buffers) != len(cmd.attributes):
            raise GpuStreamError("the buffers' attribute counts do not add up to attribute_count")
        slots, at, seen = [], 0, set()
        for i, b in enumerate(cmd.buffers):
            if b.stride % 4 or b.stride > abi.GPU_MAX_STRIDE:
                raise GpuStreamError(f"buffer {i}: stride {b.stride} must be a multiple of 4 up to {abi.GPU_MAX_STRIDE}")
            step = enum(abi.GPU_STEP_MODES, b.step_mode, f"buffer {i}: step mode")
            extent = 0
            for a in cmd.attributes[at:at + b.attribute_count]:
                size = abi.GPU_VERTEX_FORMATS[enum(_VFORMATS, a.format, "attribute format", zero=False)]
                if a.location >= abi.GPU_MAX_ATTRIBUTES or a.location in seen:
                    raise GpuStreamError(f"attribute location {a.location} is repeated or not below {abi.GPU_MAX_ATTRIBUTES}")
                if a.offset % min(4, size) or (b.stride and a.offset + size > b.stride) or a.offset + size > abi.GPU_MAX_STRIDE:
                    raise GpuStreamError(f"attribute {a.location}: offset {a.offset} is misaligned or past the stride")
                seen.add(a.location)
                extent = max(extent, a.offset + size)
            at += b.attribute_count
            slots.append(VertexSlot(b.stride, step, extent))
        return tuple(slots)

    def bind_group(self, cmd: GpuCommand, r: Any) -> None:
        types: dict[int, str] | None = None
        if r.layout:
            layout = self.table.get(LAYOUT, r.layout, "layout")
            assert isinstance(layout, Layout)
            types = layout.types
        else:
            pipe = self.table.get(PIPELINE, r.pipeline, "pipeline")
            assert isinstance(pipe, Pipeline)
            if not pipe.auto or r.group >= abi.GPU_MAX_BIND_GROUPS:
                raise GpuStreamError(f"group {r.group} of pipeline {r.pipeline}: layout 0 needs an auto-layout "
                                     f"pipeline and a group below {abi.GPU_MAX_BIND_GROUPS}")
        uses, bindings = set(), set()
        for e in cmd.items:
            if e.binding in bindings or e.binding >= abi.GPU_MAX_BINDINGS:
                raise GpuStreamError(f"binding {e.binding} is repeated or not below {abi.GPU_MAX_BINDINGS}")
            bindings.add(e.binding)
            want = types.get(e.binding) if types is not None else None
            if types is not None and want is None:
                raise GpuStreamError(f"binding {e.binding} is not in layout {r.layout}")
            self._bind_entry(e, want)
            uses.add((e.kind, e.handle))
        if types is not None and bindings != set(types):
            raise GpuStreamError(f"bindings {sorted(set(types) - bindings)} of layout {r.layout} are missing")
        group = BindGroup(r.layout, 0 if r.layout else r.pipeline, r.group, frozenset(uses))
        self.table.add(BIND_GROUP, r.handle, group, "bind group")

    def _bind_entry(self, e: Any, want: str | None) -> None:
        what = f"binding {e.binding}"
        if e.kind == BUFFER:
            usage = _BUFFER_BINDINGS.get(want or "", abi.GPU_BUFFER_USAGE["UNIFORM"] | abi.GPU_BUFFER_USAGE["STORAGE"])
            if want is not None and want not in _BUFFER_BINDINGS:
                raise GpuStreamError(f"{what}: the layout wants a {want} binding, not a buffer")
            buf = self._buffer(e.handle, usage, "UNIFORM or STORAGE" if want is None else want.upper())
            size = e.size or buf.size - e.offset
            if e.offset % abi.GPU_UNIFORM_ALIGN or size <= 0 or size % 4 or e.offset + size > buf.size:
                raise GpuStreamError(f"{what}: range {e.offset}+{size} must start at a multiple of "
                                     f"{abi.GPU_UNIFORM_ALIGN} and fit the buffer's {buf.size} bytes")
        elif e.kind == TEXTURE:
            if want is not None and want not in _TEXTURE_BINDINGS:
                raise GpuStreamError(f"{what}: the layout wants a {want} binding, not a texture")
            tex = self._texture(e.handle, abi.GPU_TEXTURE_USAGE["TEXTURE_BINDING"], "TEXTURE_BINDING")
            if want is not None and (want == "depth") != tex.depth:
                raise GpuStreamError(f"{what}: a {want} binding cannot take a {tex.format} texture")
        elif e.kind == SAMPLER:
            sampler = self.table.get(SAMPLER, e.handle, what)
            assert isinstance(sampler, Sampler)
            if want is not None and (want not in _SAMPLER_BINDINGS or (want == "comparison") != sampler.comparison):
                raise GpuStreamError(f"{what}: the layout wants a {want} binding, not this sampler")
        else:
            raise GpuStreamError(f"{what}: kind {e.kind} is not BUFFER, TEXTURE or SAMPLER")

    def _buffer(self, handle: int, usage: int, usage_name: str) -> Buffer:
        buf = self.table.get(BUFFER, handle, "buffer")
        assert isinstance(buf, Buffer)
        if not buf.usage & usage:
            raise GpuStreamError(f"buffer {handle} lacks {usage_name} usage")
        return buf

    def _texture(self, handle: int, usage: int, usage_name: str) -> Texture:
        tex = self.table.get(TEXTURE, handle, "texture")
        assert isinstance(tex, Texture)
        if not tex.usage & usage:
            raise GpuStreamError(f"texture {handle} lacks {usage_name} usage")
        return tex

    # --- passes ------------------------------------------------------------------------------------

    def _count_pass(self) -> None:
        self.passes += 1
        if self.passes > abi.GPU_MAX_PASSES:
            raise GpuStreamError(f"over the limit of {abi.GPU_MAX_PASSES} render and compute passes per frame")

    def begin_compute_pass(self, cmd: GpuCommand, r: Any) -> None:
        self._count_pass()
        self.pass_state = PassState((), None, compute=True)

    def begin_pass(self, cmd: GpuCommand, r: Any) -> None:
        self._count_pass()
        sizes, colors, seen = set(), [], set()
        for a in cmd.items:
            enum(abi.GPU_LOAD_OPS, a.load_op, "load op")
            enum(abi.GPU_STORE_OPS, a.store_op, "store op")
            if not all(math.isfinite(v) for v in a.clear) or a.texture in seen:
                raise GpuStreamError(f"attachment {a.texture} is repeated or its clear colour is not finite")
            seen.add(a.texture)
            if a.texture == abi.GPU_FRAME:
                self.drew_frame = True
                sizes.add((self.width, self.height))
                colors.append(FRAME_FORMAT)
                continue
            tex = self._texture(a.texture, abi.GPU_TEXTURE_USAGE["RENDER_ATTACHMENT"], "RENDER_ATTACHMENT")
            if tex.depth:
                raise GpuStreamError(f"colour attachment {a.texture} is a {tex.format} texture")
            sizes.add((tex.width, tex.height))
            colors.append(tex.format)
        depth = None
        if r.depth_texture:
            tex = self._texture(r.depth_texture, abi.GPU_TEXTURE_USAGE["RENDER_ATTACHMENT"], "RENDER_ATTACHMENT")
            if not tex.depth:
                raise GpuStreamError(f"depth attachment {r.depth_texture} is a {tex.format} texture")
            enum(abi.GPU_LOAD_OPS, r.depth_load_op, "depth load op")
            enum(abi.GPU_STORE_OPS, r.depth_store_op, "depth store op")
            if not 0.0 <= r.depth_clear <= 1.0:
                raise GpuStreamError(f"depth clear {r.depth_clear} is not within 0 .. 1")
            sizes.add((tex.width, tex.height))
            depth = tex.format
        if len(sizes) != 1:
            raise GpuStreamError("a pass needs attachments, all of one size" if sizes else "a pass needs an attachment")
        self.pass_state = PassState(tuple(colors), depth)

    def end_pass(self, cmd: GpuCommand, r: Any) -> None:
        self.pass_state = None

    def _pass(self) -> PassState:
        assert self.pass_state is not None
        return self.pass_state

    def set_pipeline(self, cmd: GpuCommand | None, r: Any) -> None:
        p = self.table.get(PIPELINE, r.handle, "pipeline")
        assert isinstance(p, Pipeline)
        state = self._pass()
        if p.compute != state.compute:
            raise GpuStreamError(f"pipeline {r.handle} is a {'compute' if p.compute else 'render'} pipeline, "
                                 f"the pass is a {'compute' if state.compute else 'render'} pass")
        if p.colors != state.colors or p.depth != state.depth:
            raise GpuStreamError(f"pipeline {r.handle} draws to {list(p.colors)} depth {p.depth}, the pass has "
                                 f"{list(state.colors)} depth {state.depth}")
        state.pipeline, state.pipeline_handle = p, r.handle
        state.groups_checked = False
        state.limits = None

    def set_bind_group(self, cmd: GpuCommand | None, r: Any) -> None:
        if r.index >= abi.GPU_MAX_BIND_GROUPS:
            raise GpuStreamError(f"index {r.index} is not below {abi.GPU_MAX_BIND_GROUPS}")
        group = self.table.get(BIND_GROUP, r.handle, "bind group")
        assert isinstance(group, BindGroup)
        state = self._pass()
        state.groups[r.index] = group
        if state.groups_checked and state.pipeline is not None:
            self._check_group(state, state.pipeline, r.index)

    def set_vertex_buffer(self, cmd: GpuCommand | None, r: Any) -> None:
        if r.slot >= abi.GPU_MAX_VERTEX_BUFFERS:
            raise GpuStreamError(f"slot {r.slot} is not below {abi.GPU_MAX_VERTEX_BUFFERS}")
        state = self._pass()
        state.vertex[r.slot] = self._range(r, abi.GPU_BUFFER_USAGE["VERTEX"], "VERTEX", 4)
        state.limits = None

    def set_index_buffer(self, cmd: GpuCommand | None, r: Any) -> None:
        size = 2 if enum(abi.GPU_INDEX_FORMATS, r.format, "index format") == "uint16" else 4
        self._pass().index = (self._range(r, abi.GPU_BUFFER_USAGE["INDEX"], "INDEX", size), size)

    def dispatch(self, cmd: GpuCommand | None, r: Any) -> None:
        state = self._pass()
        if not state.compute:
            raise GpuStreamError("a render pass draws, it does not dispatch")
        if state.pipeline is None:
            raise GpuStreamError("no pipeline is set")
        limit = abi.GPU_MAX_WORKGROUPS_PER_DIMENSION
        if max(r.x, r.y, r.z) > limit:
            raise GpuStreamError(f"{r.x}x{r.y}x{r.z} workgroups: each dimension must be at most {limit}")
        self.workgroups += r.x * r.y * r.z
        if self.workgroups > abi.GPU_MAX_WORKGROUPS:
            raise GpuStreamError(f"over the frame's limit of {abi.GPU_MAX_WORKGROUPS} workgroups")
        if not state.groups_checked:
            self._check_groups(state, state.pipeline)

    def _range(self, r: Any, usage: int, name: str, align: int) -> int:
        if self._pass().compute:
            raise GpuStreamError("a compute pass binds no vertex or index buffers")
        buf = self._buffer(r.handle, usage, name)
        size = r.size or buf.size - r.offset
        if r.offset % align or size < 0 or r.offset + size > buf.size:
            raise GpuStreamError(f"range {r.offset}+{size} is misaligned or outside the buffer's {buf.size} bytes")
        return int(size)

    def draw(self, cmd: GpuCommand, r: Any) -> None:
        assert cmd.draws is not None
        d = cmd.draws
        self._draws(d, d["vertex_count"], d["first_vertex"], d["instance_count"], d["first_instance"])

    def draw_indexed(self, cmd: GpuCommand, r: Any) -> None:
        assert cmd.draws is not None
        d = cmd.draws
        state = self._pass()
        if state.index is None:
            raise GpuStreamError("no index buffer is bound")
        bound, size = state.index
        end = d["first_index"].astype(np.uint64) + d["index_count"]
        if len(d) and int(end.max()) * size > bound:
            raise GpuStreamError(f"draws read indices up to {int(end.max())}, the index buffer holds {bound // size}")
        self._draws(d, d["index_count"], None, d["instance_count"], d["first_instance"])

    def _draws(self, d: np.ndarray, counts: np.ndarray, firsts: np.ndarray | None, instances: np.ndarray,
               first_instances: np.ndarray) -> None:
        """A batch of draws: the same checks as one draw, on the batch's totals and furthest reads."""
        def furthest(first: np.ndarray, count: np.ndarray) -> int:
            live = count > 0
            return int((first.astype(np.uint64) + count)[live].max()) if live.any() else 0

        vertex_end = furthest(firsts, counts) if firsts is not None else 0  # indexed: reads not known before the GPU
        each = counts.astype(np.uint64) * instances  # < 2^64 each; their sum may wrap, so a big one counts as over
        vertices = int(each.sum()) if not len(each) or int(each.max()) <= abi.GPU_MAX_VERTICES else abi.GPU_MAX_VERTICES + 1
        self._drawn(self._pass(), len(d), vertices, vertex_end, furthest(first_instances, instances))
