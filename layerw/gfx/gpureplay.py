"""GpuReplay: runs a frame's checked GPU commands on wgpu, on the 2D renderer's device.

Each frame is first checked whole by ``GpuChecker`` (nothing reaches the GPU from a frame that
fails); then resources are created and written, and passes recorded in one command encoder (a
write after a recorded pass submits what came before, so writes land in stream order). Texture
``abi.GPU_FRAME`` is the renderer's own target, which the 2D batches then draw over.

Restores and joins: the game declares its resources again (``lw_gpu_fresh``): the guest runtime
marks a fresh instance, which a start and a join make (a restore, in place or not, clears the mark
too), and the game's first frame after it RESETs and declares everything, so pixels after a
restore are those of the uninterrupted run.
Shaders are compiled with their loops bounded (``wgslloops.bound_loops``), as browsers compile them.
If wgpu still rejects something the checker let through (a shader that does not compile, a
binding the shader does not declare), the game's GPU resources are dropped and the error is a
``GpuStreamError`` (``ShaderError`` for WGSL, with its line): the device stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from layerw import abi
from layerw.errors import GpuStreamError, ShaderError
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpuresources import BIND_GROUP, BUFFER, LAYOUT, PIPELINE, SAMPLER, SHADER, TEXTURE
from layerw.gfx.gpurun import FIELD_TYPES, FrameCommand, PassRun
from layerw.gfx.gpustream import CODE, LAYOUTS, GpuCommand
from layerw.gfx.wgslloops import bound_loops

_FORMATS = list(abi.GPU_TEXTURE_FORMATS)
_VFORMATS = list(abi.GPU_VERTEX_FORMATS)
_LINE = re.compile(r"wgsl:(\d+):(\d+)")
_DRAW, _DRAW_INDEXED, _SET_BIND_GROUP = CODE["DRAW"], CODE["DRAW_INDEXED"], CODE["SET_BIND_GROUP"]
_RECORDS = {op.code: LAYOUTS[op.record.name].tuple for op in abi.GPU_OPS}
_BLENDS: dict[str, dict[str, dict[str, str]] | None] = {
    "replace": None,
    "alpha": {"color": {"src_factor": "src-alpha", "dst_factor": "one-minus-src-alpha"},
              "alpha": {"src_factor": "one", "dst_factor": "one-minus-src-alpha"}},
    "additive": {"color": {"src_factor": "one", "dst_factor": "one"},
                 "alpha": {"src_factor": "one", "dst_factor": "one"}},
    "premultiplied": {"color": {"src_factor": "one", "dst_factor": "one-minus-src-alpha"},
                      "alpha": {"src_factor": "one", "dst_factor": "one-minus-src-alpha"}},
}
_BINDING_TYPES = {"uniform": ("buffer", "type"), "storage": ("buffer", "type"), "read-only-storage": ("buffer", "type"),
                  "float": ("texture", "sample_type"), "unfilterable-float": ("texture", "sample_type"),
                  "depth": ("texture", "sample_type"), "filtering": ("sampler", "type"),
                  "non-filtering": ("sampler", "type"), "comparison": ("sampler", "type")}


def shader_error(error: Exception, asset: str = "") -> ShaderError:
    """A wgpu shader compile error as a ShaderError with the first line it points at."""
    text = str(error)
    found = _LINE.search(text)
    line = int(found.group(1)) if found else 0
    where = f"{asset or 'WGSL'}:{line}" if line else (asset or "WGSL")
    detail = "\n".join(s for s in text.splitlines() if s.strip() and "Caused by" not in s and "In wgpu" not in s)
    return ShaderError(f"{where}: the shader does not compile: {detail}", asset=asset, line=line)


class GpuReplay:
    """One game's GPU resources on a device; ``target_view`` is the frame's colour target."""

    def __init__(self, device: Any, target_view: Any, width: int, height: int) -> None:
        import wgpu

        self._wgpu, self.device, self.target_view = wgpu, device, target_view
        self.checker = GpuChecker(width, height)
        self.objects: dict[tuple[int, int], Any] = {}  # (kind, handle) -> wgpu object (a texture: (texture, view))
        self.groups: dict[int, Any] = {}  # handle -> wgpu bind group, as in objects: SET_BIND_GROUP's hot path
        self.encoder: Any = None  # the frame's command encoder while passes are recorded
        self.pass_: Any = None  # the render pass being recorded
        self._methods: dict[int, Any] = {op.code: getattr(self, "_" + op.name.lower()) for op in abi.GPU_OPS}

    def run(self, commands: Sequence[FrameCommand]) -> bool:
        """Check, then replay one frame's commands; True when a pass drew into the frame's target."""
        drew = self.checker.check(commands)
        try:
            self._replay(commands)
        except self._wgpu.GPUError as e:
            self.clear()
            raise GpuStreamError(f"the GPU rejected the frame's GPU commands, the game's GPU resources are "
                                 f"dropped: {e}") from e
        except ShaderError:
            self.clear()
            raise
        return drew

    def _replay(self, commands: Sequence[FrameCommand]) -> None:
        self.encoder = self.pass_ = None
        groups, methods = self.groups, self._methods
        rp: Any = None  # the open pass (the checker made sure pass commands come inside one)
        for cmd in commands:
            if type(cmd) is PassRun:
                self._run(rp, cmd)
                continue
            if type(cmd) is not tuple:
                methods[cmd.op.code](cmd, cmd.rec)  # type: ignore[union-attr]
                rp = self.pass_
                continue
            code = cmd[0]  # a pass command with one record, (code, 1, 0, reserved, *fields): the hot path
            if code == _DRAW:
                rp.draw(cmd[4], cmd[5], cmd[6], cmd[7])
            elif code == _SET_BIND_GROUP:
                rp.set_bind_group(cmd[4], groups[cmd[5]])
            elif code == _DRAW_INDEXED:
                rp.draw_indexed(cmd[4], cmd[5], cmd[6], cmd[7], cmd[8])
            else:
                methods[code](None, _RECORDS[code]._make(cmd[4:]))
        self._submit()

    def _run(self, rp: Any, run: PassRun) -> None:
        """A run's commands in order, their arguments taken from its columns a column at a time."""
        calls = {_SET_BIND_GROUP: rp.set_bind_group, _DRAW: rp.draw, _DRAW_INDEXED: rp.draw_indexed}
        f = [calls[code] for code in run.codes]
        a: list[Any] = []
        for slot, code in enumerate(run.codes):
            columns = [run.column(slot, field).tolist() for field in range(len(FIELD_TYPES[code]))]
            if code == _SET_BIND_GROUP:
                columns[1] = list(map(self.groups.__getitem__, columns[1]))
            a.append(zip(*columns, strict=True))
        if len(f) == 1:  # one loop per block size (MAX_BLOCK of them): a call per command, as a plain program makes
            for x in a[0]:
                f[0](*x)
        elif len(f) == 2:
            for x, y in zip(*a, strict=True):
                f[0](*x)
                f[1](*y)
        elif len(f) == 3:
            for x, y, z in zip(*a, strict=True):
                f[0](*x)
                f[1](*y)
                f[2](*z)
        else:
            for x, y, z, t in zip(*a, strict=True):
                f[0](*x)
                f[1](*y)
                f[2](*z)
                f[3](*t)

    def _submit(self) -> None:
        if self.encoder is not None:
            self.device.queue.submit([self.encoder.finish()])
            self.encoder = None

    def clear(self) -> None:
        """Drop every resource (RESET, an error, close)."""
        for (kind, _), obj in self.objects.items():
            if kind == BUFFER:
                obj.destroy()
            elif kind == TEXTURE:
                obj[0].destroy()
        self.objects.clear()
        self.groups.clear()
        self.checker.reset()

    close = clear

    # --- resources ---------------------------------------------------------------------------------

    def _reset(self, cmd: GpuCommand, r: Any) -> None:
        self._submit()
        table = self.checker.table
        self.clear()
        self.checker.table = table  # the checked frame's table, which already holds what follows RESET

    def _destroy(self, cmd: GpuCommand, r: Any) -> None:
        self._submit()
        obj = self.objects.pop((r.kind, r.handle))
        if r.kind == BIND_GROUP:
            del self.groups[r.handle]
        if r.kind == BUFFER:
            obj.destroy()
        elif r.kind == TEXTURE:
            obj[0].destroy()

    def _buffer(self, cmd: GpuCommand, r: Any) -> None:
        self.objects[(BUFFER, r.handle)] = self.device.create_buffer(size=r.size, usage=r.usage)

    def _write_buffer(self, cmd: GpuCommand, r: Any) -> None:
        self._submit()  # writes land after the passes recorded before them
        if len(cmd.data):
            self.device.queue.write_buffer(self.objects[(BUFFER, r.handle)], r.offset, cmd.data)

    def _texture(self, cmd: GpuCommand, r: Any) -> None:
        tex = self.device.create_texture(size=(r.width, r.height, 1), format=_FORMATS[r.format], usage=r.usage,
                                         mip_level_count=max(1, r.mip_levels))
        self.objects[(TEXTURE, r.handle)] = (tex, tex.create_view())

    def _write_texture(self, cmd: GpuCommand, r: Any) -> None:
        self._submit()
        self.device.queue.write_texture(
            {"texture": self.objects[(TEXTURE, r.handle)][0], "mip_level": r.mip_level, "origin": (r.x, r.y, 0)}, cmd.data,
            {"bytes_per_row": r.bytes_per_row, "rows_per_image": r.height}, (r.width, r.height, 1))

    def _sampler(self, cmd: GpuCommand, r: Any) -> None:
        compare = abi.GPU_COMPARE[r.compare]
        self.objects[(SAMPLER, r.handle)] = self.device.create_sampler(
            mag_filter=abi.GPU_FILTERS[r.mag_filter], min_filter=abi.GPU_FILTERS[r.min_filter],
            mipmap_filter=abi.GPU_FILTERS[r.mipmap_filter], address_mode_u=abi.GPU_ADDRESS_MODES[r.address_u],
            address_mode_v=abi.GPU_ADDRESS_MODES[r.address_v], address_mode_w=abi.GPU_ADDRESS_MODES[r.address_w],
            compare=None if compare == "none" else compare)

    def _shader(self, cmd: GpuCommand, r: Any) -> None:
        try:
            self.objects[(SHADER, r.handle)] = self.device.create_shader_module(code=bound_loops(cmd.text))
        except self._wgpu.GPUError as e:
            raise shader_error(e) from e

    def _layout(self, cmd: GpuCommand, r: Any) -> None:
        entries = []
        for e in cmd.items:
            kind = abi.GPU_BINDING_TYPES[e.type]
            group, key = _BINDING_TYPES[kind]
            entries.append({"binding": e.binding, "visibility": e.visibility, group: {key: kind}})
        self.objects[(LAYOUT, r.handle)] = self.device.create_bind_group_layout(entries=entries)

    def _pipeline(self, cmd: GpuCommand, r: Any) -> None:
        layout = self._pipeline_layout(r)
        module = self.objects[(SHADER, r.shader)]
        buffers, at = [], 0
        for b in cmd.buffers:
            attributes = [{"shader_location": a.location, "offset": a.offset, "format": _VFORMATS[a.format]}
                          for a in cmd.attributes[at:at + b.attribute_count]]
            at += b.attribute_count
            buffers.append({"array_stride": b.stride, "step_mode": abi.GPU_STEP_MODES[b.step_mode],
                            "attributes": attributes})
        targets = []
        for c in cmd.items:
            target: dict[str, Any] = {"format": _FORMATS[c.format], "write_mask": c.write_mask or 0xF}
            blend = _BLENDS[abi.GPU_BLENDS[c.blend]]
            if blend is not None:
                target["blend"] = blend
            targets.append(target)
        depth = None
        if r.depth_format:
            depth = {"format": _FORMATS[r.depth_format], "depth_write_enabled": bool(r.depth_write),
                     "depth_compare": abi.GPU_COMPARE[r.depth_compare]}
        vs, fs = cmd.names
        self.objects[(PIPELINE, r.handle)] = self.device.create_render_pipeline(
            layout=layout, vertex={"module": module, "entry_point": vs, "buffers": buffers},
            primitive={"topology": abi.GPU_TOPOLOGIES[r.topology], "cull_mode": abi.GPU_CULL_MODES[r.cull_mode],
                       "front_face": abi.GPU_FRONT_FACES[r.front_face]},
            depth_stencil=depth,
            fragment={"module": module, "entry_point": fs, "targets": targets} if targets else None)

    def _compute_pipeline(self, cmd: GpuCommand, r: Any) -> None:
        self.objects[(PIPELINE, r.handle)] = self.device.create_compute_pipeline(
            layout=self._pipeline_layout(r), compute={"module": self.objects[(SHADER, r.shader)], "entry_point": cmd.names[0]})

    def _pipeline_layout(self, r: Any) -> Any:
        """A pipeline record's explicit layout, or auto when it names none."""
        layouts = [self.objects[(LAYOUT, h)] for h in r.layouts[:r.layout_count]]
        return self.device.create_pipeline_layout(bind_group_layouts=layouts) if layouts else self._wgpu.AutoLayoutMode.auto

    def _bind_group(self, cmd: GpuCommand, r: Any) -> None:
        layout = (self.objects[(LAYOUT, r.layout)] if r.layout
                  else self.objects[(PIPELINE, r.pipeline)].get_bind_group_layout(r.group))
        entries = []
        for e in cmd.items:
            if e.kind == BUFFER:
                buf = self.objects[(BUFFER, e.handle)]
                resource: Any = {"buffer": buf, "offset": e.offset, "size": e.size or buf.size - e.offset}
            elif e.kind == TEXTURE:
                resource = self.objects[(TEXTURE, e.handle)][1]
            else:
                resource = self.objects[(SAMPLER, e.handle)]
            entries.append({"binding": e.binding, "resource": resource})
        self.objects[(BIND_GROUP, r.handle)] = self.groups[r.handle] = self.device.create_bind_group(layout=layout,
                                                                                                   entries=entries)

    # --- passes ------------------------------------------------------------------------------------

    def _begin_pass(self, cmd: GpuCommand, r: Any) -> None:
        if self.encoder is None:
            self.encoder = self.device.create_command_encoder()
        colors = [{"view": self.target_view if a.texture == abi.GPU_FRAME else self.objects[(TEXTURE, a.texture)][1],
                   "load_op": abi.GPU_LOAD_OPS[a.load_op], "store_op": abi.GPU_STORE_OPS[a.store_op],
                   "clear_value": tuple(a.clear)} for a in cmd.items]
        depth = None
        if r.depth_texture:
            tex, view = self.objects[(TEXTURE, r.depth_texture)]
            depth = {"view": view, "depth_clear_value": r.depth_clear,
                     "depth_load_op": abi.GPU_LOAD_OPS[r.depth_load_op],
                     "depth_store_op": abi.GPU_STORE_OPS[r.depth_store_op]}
            if "stencil" in tex.format:
                depth.update(stencil_load_op="clear", stencil_store_op="store", stencil_clear_value=0)
        self.pass_ = self.encoder.begin_render_pass(color_attachments=colors, depth_stencil_attachment=depth)

    def _begin_compute_pass(self, cmd: GpuCommand, r: Any) -> None:
        if self.encoder is None:
            self.encoder = self.device.create_command_encoder()
        self.pass_ = self.encoder.begin_compute_pass()

    def _dispatch(self, cmd: GpuCommand | None, r: Any) -> None:
        self.pass_.dispatch_workgroups(r.x, r.y, r.z)

    def _end_pass(self, cmd: GpuCommand, r: Any) -> None:
        self.pass_.end()
        self.pass_ = None

    def _set_pipeline(self, cmd: GpuCommand, r: Any) -> None:
        self.pass_.set_pipeline(self.objects[(PIPELINE, r.handle)])

    def _set_bind_group(self, cmd: GpuCommand, r: Any) -> None:
        self.pass_.set_bind_group(r.index, self.groups[r.handle])

    def _set_vertex_buffer(self, cmd: GpuCommand, r: Any) -> None:
        buf = self.objects[(BUFFER, r.handle)]
        self.pass_.set_vertex_buffer(r.slot, buf, r.offset, r.size or buf.size - r.offset)

    def _set_index_buffer(self, cmd: GpuCommand, r: Any) -> None:
        buf = self.objects[(BUFFER, r.handle)]
        self.pass_.set_index_buffer(buf, abi.GPU_INDEX_FORMATS[r.format], r.offset, r.size or buf.size - r.offset)

    def _draw(self, cmd: GpuCommand, r: Any) -> None:
        assert cmd.draws is not None
        draw = self.pass_.draw
        for vertices, instances, first, first_instance in cmd.draws.tolist():
            draw(vertices, instances, first, first_instance)

    def _draw_indexed(self, cmd: GpuCommand, r: Any) -> None:
        assert cmd.draws is not None
        draw = self.pass_.draw_indexed
        for indices, instances, first, base, first_instance in cmd.draws.tolist():
            draw(indices, instances, first, base, first_instance)
