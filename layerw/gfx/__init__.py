"""Graphics: command lists parsed into batches, drawn by a Renderer, shown in a Window.

    parse(buf) -> Frame          commands.py  the binary command list as GPU-ready numpy batches
    CommandWriter                writer.py    builds command lists in Python (tests, benchmarks)
    Renderer, WgpuRenderer       renderer.py  the interface and the native wgpu backend
    Window                       window.py    presents a WgpuRenderer on the desktop, polls input
    GpuChecker, GpuReplay        gpucheck.py, gpureplay.py  a frame's GPU commands checked, then run on wgpu
    GpuWriter                    gpuwriter.py GPU commands from Python, as layerw_gpu.h writes them

Importing this package loads neither wgpu nor glfw; they load when a renderer or window is made.
"""

from layerw.gfx.commands import INSTANCE, Batch, Frame, Pipeline, Shape, parse
from layerw.gfx.renderer import Renderer, WgpuRenderer
from layerw.gfx.window import Window
from layerw.gfx.writer import CommandWriter, rgba

__all__ = [
    "INSTANCE", "Batch", "CommandWriter", "Frame", "Pipeline", "Renderer", "Shape", "WgpuRenderer",
    "Window", "parse", "rgba",
]
