"""Renderer: draws parsed command lists; WgpuRenderer is the native (wgpu, WGSL) backend.

The render target is offscreen, at the game's resolution; a Window presents it scaled. Every frame
uploads its instances, vertices and cameras into one buffer and records one command encoder with
one render pass: instanced quads for everything but triangles (a shape switch in the fragment
shader where a batch holds circles, rings or outlines; texel times colour, as the triangles draw,
for the rest: a software rasteriser interpolates every varying per pixel), a dynamic uniform
offset per camera and a scissor rect per viewport. A frame starts opaque black unless it clears;
draws with a texture handle nobody set are skipped. A frame's GPU commands (``gpureplay.GpuReplay``)
run first, on this device; when a pass drew into the frame's target the 2D batches draw over it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from layerw import abi
from layerw.errors import RenderError
from layerw.gfx.commands import FONT_TEXTURE, INSTANCE, Frame, Pipeline, parse
from layerw.gfx.gpureplay import GpuReplay

TARGET_FORMAT = "rgba8unorm"
_CAMERA_SIZE = 32
_NO_DEVICE_HINT = ("no GPU adapter found; on Linux install a Vulkan driver (software: "
                   "`apt install mesa-vulkan-drivers`) and set XDG_RUNTIME_DIR")


class Renderer(ABC):
    """Draws command lists into an RGBA target of the game's resolution."""

    width: int
    height: int

    @abstractmethod
    def set_texture(self, handle: int, rgba: np.ndarray) -> None:
        """Upload (or replace) the texture a game refers to by ``handle`` (> 0); HxWx4 uint8."""

    @abstractmethod
    def draw(self, commands: memoryview | bytes) -> None:
        """Parse and draw one frame's command list."""

    @abstractmethod
    def read_pixels(self) -> np.ndarray:
        """The last frame as an HxWx4 uint8 array."""

    @abstractmethod
    def close(self) -> None:
        """Release GPU resources; the renderer is unusable afterwards."""

    def save_png(self, path: str | Path) -> None:
        """Write the last frame as a PNG."""
        from PIL import Image

        Image.fromarray(self.read_pixels(), "RGBA").save(path)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def request_device() -> Any:
    """A wgpu device on the best adapter, or RenderError saying how to get one."""
    try:
        import wgpu

        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        if adapter is None:
            raise RenderError(_NO_DEVICE_HINT)
        return adapter.request_device_sync()
    except RenderError:
        raise
    except Exception as e:  # wgpu reports a missing driver as various runtime errors
        raise RenderError(f"{_NO_DEVICE_HINT} ({type(e).__name__}: {e})") from e


class WgpuRenderer(Renderer):
    """Offscreen wgpu renderer; ``device`` lets a Window share its device. ``filter`` is how game
    textures are sampled (and the frame is scaled into a window): "nearest" or "linear"; the
    built-in font is always sampled "nearest"."""

    def __init__(self, width: int, height: int, *, device: Any = None, filter: str = "nearest") -> None:
        import wgpu

        filters = list(wgpu.FilterMode)  # the sampler's own modes; the game's config names one of them
        if filter not in filters:
            raise RenderError(f"filter {filter!r} must be one of {', '.join(map(repr, filters))}")
        self._wgpu = wgpu
        self._closed = False
        self.width, self.height, self.filter = width, height, filter
        self.device = device or request_device()
        try:
            self._setup()
        except wgpu.GPUError as e:
            raise RenderError(f"could not set up the wgpu renderer: {e}") from e

    def _setup(self) -> None:
        wgpu, dev = self._wgpu, self.device
        usage = wgpu.TextureUsage
        self.target = dev.create_texture(
            size=(self.width, self.height, 1), format=TARGET_FORMAT,
            usage=usage.RENDER_ATTACHMENT | usage.COPY_SRC | usage.TEXTURE_BINDING)
        self.target_view = self.target.create_view()
        self._stride = max(_CAMERA_SIZE, dev.limits["min-uniform-buffer-offset-alignment"])
        self.sampler = dev.create_sampler(mag_filter=self.filter, min_filter=self.filter)
        self._nearest = dev.create_sampler(mag_filter="nearest", min_filter="nearest")
        self.camera_layout = dev.create_bind_group_layout(entries=[{
            "binding": 0, "visibility": wgpu.ShaderStage.VERTEX,
            "buffer": {"type": "uniform", "has_dynamic_offset": True,
                       "min_binding_size": _CAMERA_SIZE}}])
        self.texture_layout = dev.create_bind_group_layout(entries=[
            {"binding": 0, "visibility": wgpu.ShaderStage.VERTEX | wgpu.ShaderStage.FRAGMENT,
             "texture": {"sample_type": "float"}},
            {"binding": 1, "visibility": wgpu.ShaderStage.FRAGMENT,
             "sampler": {"type": "filtering"}}])
        self.layout = dev.create_pipeline_layout(
            bind_group_layouts=[self.camera_layout, self.texture_layout])
        code = resources.files(__package__).joinpath("shaders.wgsl").read_text()
        self.shaders = dev.create_shader_module(code=code)
        quads = {
            "array_stride": INSTANCE.itemsize, "step_mode": "instance", "attributes": [
                {"shader_location": 0, "offset": 0, "format": "float32x4"},
                {"shader_location": 1, "offset": 16, "format": "float32x4"},
                {"shader_location": 2, "offset": 32, "format": "float32"},
                {"shader_location": 3, "offset": 36, "format": "uint32"},
                {"shader_location": 4, "offset": 40, "format": "uint32"},
                {"shader_location": 5, "offset": 44, "format": "float32"}]}
        self._quads = self.pipeline("vs_quad", "fs_quad", "triangle-strip", quads)
        self._plain = self.pipeline("vs_plain", "fs_triangle", "triangle-strip", quads)
        self._triangles = self.pipeline("vs_triangle", "fs_triangle", "triangle-list", {
            "array_stride": abi.VERTEX.size, "step_mode": "vertex", "attributes": [
                {"shader_location": 0, "offset": 0, "format": "float32x2"},
                {"shader_location": 1, "offset": 8, "format": "float32x2"},
                {"shader_location": 2, "offset": 16, "format": "uint32"}]})
        self._textures: dict[int, tuple[Any, Any]] = {}
        self._buffer: Any = None
        self._camera_group: Any = None
        self._gpu: GpuReplay | None = None  # the game's GPU resources, made at its first GPU command
        self._upload(0, np.full((1, 1, 4), 255, np.uint8))
        from layerw.gfx import font  # lazily, as in commands.text

        self._upload(FONT_TEXTURE, font.atlas())

    def pipeline(self, vs: str, fs: str, topology: str, *buffers: dict[str, Any],
                 target_format: str = TARGET_FORMAT) -> Any:
        """A pipeline over shaders.wgsl with alpha blending into ``target_format``."""
        blend = {"color": {"src_factor": "src-alpha", "dst_factor": "one-minus-src-alpha"},
                 "alpha": {"src_factor": "one", "dst_factor": "one-minus-src-alpha"}}
        return self.device.create_render_pipeline(
            layout=self.layout,
            vertex={"module": self.shaders, "entry_point": vs, "buffers": list(buffers)},
            primitive={"topology": topology, "cull_mode": "none"},
            fragment={"module": self.shaders, "entry_point": fs,
                      "targets": [{"format": target_format, "blend": blend}]})

    def texture_group(self, view: Any, sampler: Any = None) -> Any:
        """A group(1) bind group sampling ``view`` with ``sampler`` (default: the game's filter)."""
        return self.device.create_bind_group(layout=self.texture_layout, entries=[
            {"binding": 0, "resource": view}, {"binding": 1, "resource": sampler or self.sampler}])

    def _upload(self, handle: int, rgba: np.ndarray) -> None:
        rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
        if rgba.ndim != 3 or rgba.shape[2] != 4:
            raise RenderError(f"texture {handle} must be an HxWx4 uint8 array, got {rgba.shape}")
        h, w = rgba.shape[:2]
        old = self._textures.pop(handle, None)
        if old is not None:
            old[0].destroy()
        tex = self.device.create_texture(
            size=(w, h, 1), format="rgba8unorm",
            usage=self._wgpu.TextureUsage.TEXTURE_BINDING | self._wgpu.TextureUsage.COPY_DST)
        self.device.queue.write_texture({"texture": tex}, rgba,
                                        {"bytes_per_row": w * 4, "rows_per_image": h}, (w, h, 1))
        sampler = self._nearest if handle == FONT_TEXTURE else self.sampler
        self._textures[handle] = (tex, self.texture_group(tex.create_view(), sampler))

    def set_texture(self, handle: int, rgba: np.ndarray) -> None:
        if handle <= 0:
            raise RenderError(f"texture handle {handle} is reserved; games' handles are > 0")
        self._upload(handle, rgba)

    def draw(self, commands: memoryview | bytes) -> None:
        self.render(parse(commands))

    def _reserve(self, size: int) -> None:
        if self._buffer is not None and self._buffer.size >= size:
            return
        if self._buffer is not None:
            self._buffer.destroy()
        usage = self._wgpu.BufferUsage
        self._buffer = self.device.create_buffer(
            size=max(1 << 16, 1 << (size - 1).bit_length()),
            usage=usage.UNIFORM | usage.VERTEX | usage.COPY_DST)
        self._camera_group = self.device.create_bind_group(layout=self.camera_layout, entries=[
            {"binding": 0, "resource": {"buffer": self._buffer, "offset": 0,
                                        "size": _CAMERA_SIZE}}])

    def render(self, frame: Frame) -> None:
        """Draw a parsed frame: one upload, one encoder, one pass."""
        if self._closed:
            raise RenderError("the renderer is closed")
        try:
            self._render(frame)
        except self._wgpu.GPUError as e:
            raise RenderError(f"the GPU rejected a frame: {e}") from e

    def _render(self, frame: Frame) -> None:
        drew = False
        if frame.gpu:
            if self._gpu is None:
                self._gpu = GpuReplay(self.device, self.target_view, self.width, self.height)
            drew = self._gpu.run(frame.gpu)
            if drew and frame.clear is None and not frame.batches:
                return  # the GPU passes drew the frame and nothing 2D goes over it: a 2D pass would change no pixel
        cameras = np.zeros((len(frame.transforms), self._stride // 4), np.float32)
        cameras[:, :6] = frame.transforms
        cameras[:, 6:8] = (self.width, self.height)
        quads_at = cameras.nbytes
        verts_at = quads_at + frame.instances.nbytes
        verts_at += -verts_at % 4
        self._reserve(verts_at + frame.vertices.nbytes)
        queue = self.device.queue
        queue.write_buffer(self._buffer, 0, cameras)
        if len(frame.instances):
            queue.write_buffer(self._buffer, quads_at, frame.instances)
        if len(frame.vertices):
            queue.write_buffer(self._buffer, verts_at, frame.vertices)
        clear = frame.clear if frame.clear is not None else 0xFF000000
        encoder = self.device.create_command_encoder()
        rp = encoder.begin_render_pass(color_attachments=[{  # 2D over what the GPU passes drew, unless it clears
            "view": self.target_view, "load_op": "load" if drew and frame.clear is None else "clear", "store_op": "store",
            "clear_value": tuple(((clear >> s) & 255) / 255 for s in (0, 8, 16, 24))}])
        for batch in frame.batches:
            texture = self._textures.get(batch.texture)
            scissor = self._scissor(batch.viewport)
            if texture is None or scissor is None:
                continue
            rp.set_scissor_rect(*scissor)
            rp.set_bind_group(0, self._camera_group, [batch.transform * self._stride])
            rp.set_bind_group(1, texture[1])
            if batch.pipeline == Pipeline.QUADS:
                rp.set_pipeline(self._quads if batch.shaped else self._plain)
                rp.set_vertex_buffer(0, self._buffer, quads_at)
                rp.draw(4, batch.count, 0, batch.first)
            else:
                rp.set_pipeline(self._triangles)
                rp.set_vertex_buffer(0, self._buffer, verts_at)
                rp.draw(batch.count, 1, batch.first, 0)
        rp.end()
        queue.submit([encoder.finish()])

    def _scissor(self, viewport: tuple[float, float, float, float] | None
                 ) -> tuple[int, int, int, int] | None:
        """A viewport in game pixels as a scissor rect (edges rounded), None when empty."""
        if viewport is None:
            return 0, 0, self.width, self.height
        x, y, w, h = viewport
        x0, y0 = min(max(round(x), 0), self.width), min(max(round(y), 0), self.height)
        x1, y1 = min(max(round(x + w), 0), self.width), min(max(round(y + h), 0), self.height)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def finish(self) -> None:
        """Wait until the GPU has done all work submitted so far (a profile's ``present`` span): a
        4-byte buffer read maps only after every earlier submission (wgpu-py 0.32's
        ``on_submitted_work_done_sync`` fails on this wgpu-native)."""
        if getattr(self, "_fence", None) is None:
            self._fence = self.device.create_buffer(size=4, usage=self._wgpu.BufferUsage.COPY_SRC)
        self.device.queue.read_buffer(self._fence)

    def read_pixels(self) -> np.ndarray:
        data = self.device.queue.read_texture(
            {"texture": self.target, "mip_level": 0, "origin": (0, 0, 0)},
            {"offset": 0, "bytes_per_row": self.width * 4, "rows_per_image": self.height},
            (self.width, self.height, 1))
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 4).copy()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._gpu is not None:
            self._gpu.close()
        for tex, _ in self._textures.values():
            tex.destroy()
        self._textures.clear()
        if self._buffer is not None:
            self._buffer.destroy()
            self._buffer = None
        self.target.destroy()
