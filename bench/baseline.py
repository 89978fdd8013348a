"""Baseline: a minimal wgpu sprite renderer to hold WgpuRenderer against.

One pipeline, one instance buffer (the game's sprite records uploaded as they are), one bind
group, one render pass with one instanced draw call: no parsing, batching, shapes or cameras.
Same target format, blending, nearest sampling and resolution as WgpuRenderer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

SHADER = Path(__file__).with_name("baseline.wgsl")
FORMAT = "rgba8unorm"


def waiter(device: Any) -> Callable[[], object]:
    """Blocks until everything submitted to ``device``'s queue has run: reading back 4 bytes
    queues a copy behind that work and maps the result. (wgpu 0.32's on_submitted_work_done
    fails on a callback signature mismatch.)"""
    import wgpu

    probe = device.create_buffer(size=4, usage=wgpu.BufferUsage.COPY_SRC)
    return lambda: device.queue.read_buffer(probe)


class QuadBaseline:
    def __init__(self, width: int, height: int, texture: np.ndarray, capacity: int) -> None:
        import wgpu

        self.width, self.height = width, height
        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        self.device = dev = adapter.request_device_sync()
        usage, tex_usage = wgpu.BufferUsage, wgpu.TextureUsage
        self.target = dev.create_texture(size=(width, height, 1), format=FORMAT,
                                         usage=tex_usage.RENDER_ATTACHMENT | tex_usage.COPY_SRC)
        self.view = self.target.create_view()
        self.instances = dev.create_buffer(size=capacity * 48, usage=usage.VERTEX | usage.COPY_DST)
        h, w = texture.shape[:2]
        uniform = dev.create_buffer_with_data(data=np.array([width, height, w, h], np.float32),
                                              usage=usage.UNIFORM)
        self.texture = dev.create_texture(size=(w, h, 1), format="rgba8unorm",
                                          usage=tex_usage.TEXTURE_BINDING | tex_usage.COPY_DST)
        dev.queue.write_texture({"texture": self.texture}, np.ascontiguousarray(texture),
                                {"bytes_per_row": w * 4, "rows_per_image": h}, (w, h, 1))
        shader = dev.create_shader_module(code=SHADER.read_text())
        blend = {"color": {"src_factor": "src-alpha", "dst_factor": "one-minus-src-alpha"},
                 "alpha": {"src_factor": "one", "dst_factor": "one-minus-src-alpha"}}
        self.pipeline = dev.create_render_pipeline(
            layout="auto",
            vertex={"module": shader, "entry_point": "vs", "buffers": [{
                "array_stride": 48, "step_mode": "instance", "attributes": [
                    {"shader_location": 0, "offset": 0, "format": "float32x4"},
                    {"shader_location": 1, "offset": 16, "format": "float32x4"},
                    {"shader_location": 2, "offset": 32, "format": "float32"},
                    {"shader_location": 3, "offset": 36, "format": "uint32"},
                    {"shader_location": 4, "offset": 40, "format": "uint32"}]}]},
            primitive={"topology": "triangle-strip", "cull_mode": "none"},
            fragment={"module": shader, "entry_point": "fs", "targets": [{"format": FORMAT, "blend": blend}]})
        self._wait = waiter(dev)
        sampler = dev.create_sampler(mag_filter="nearest", min_filter="nearest")
        self.bind_group = dev.create_bind_group(layout=self.pipeline.get_bind_group_layout(0), entries=[
            {"binding": 0, "resource": {"buffer": uniform, "offset": 0, "size": 16}},
            {"binding": 1, "resource": self.texture.create_view()},
            {"binding": 2, "resource": sampler}])

    def draw(self, sprites: np.ndarray, clear: tuple[float, float, float, float]) -> None:
        """Upload ``sprites`` (lw_sprite_rec records) and draw them in one call."""
        queue = self.device.queue
        queue.write_buffer(self.instances, 0, sprites)
        encoder = self.device.create_command_encoder()
        rp: Any = encoder.begin_render_pass(color_attachments=[{
            "view": self.view, "load_op": "clear", "store_op": "store", "clear_value": clear}])
        rp.set_pipeline(self.pipeline)
        rp.set_bind_group(0, self.bind_group)
        rp.set_vertex_buffer(0, self.instances)
        rp.draw(4, len(sprites))
        rp.end()
        queue.submit([encoder.finish()])

    def wait(self) -> None:
        self._wait()

    def read_pixels(self) -> np.ndarray:
        data = self.device.queue.read_texture(
            {"texture": self.target, "mip_level": 0, "origin": (0, 0, 0)},
            {"offset": 0, "bytes_per_row": self.width * 4, "rows_per_image": self.height},
            (self.width, self.height, 1))
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 4).copy()

    def close(self) -> None:
        for resource in (self.instances, self.texture, self.target):
            resource.destroy()

    def __enter__(self) -> QuadBaseline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
