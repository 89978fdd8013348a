"""WGSL checks: every ``.wgsl`` asset of a game compiled on a wgpu device, errors with file and line.

``layerw build`` runs ``check_tree`` on a game's assets before it builds, so a shader that does not
compile is reported as ``ShaderError("cubes.wgsl:12: ...")`` at build time; the renderer compiles
it again when a frame creates it (``gpureplay``), with the line from the compiler. A loop that
cannot end (``wgslloops``) stops the build too, with its line (and gpucheck refuses it at load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layerw.errors import ShaderError
from layerw.gfx.gpureplay import shader_error
from layerw.gfx.renderer import request_device
from layerw.gfx.wgslloops import bound_loops, endless_loops

SUFFIX = ".wgsl"


def check_source(name: str, code: str, device: Any) -> None:
    """Compile ``code`` on ``device``, then look for endless loops; a ShaderError naming ``name`` and
    the line if either fails."""
    import wgpu

    try:
        device.create_shader_module(code=code)
        device.create_shader_module(code=bound_loops(code))  # as frames compile it: the lines are the same
    except wgpu.GPUError as e:
        raise shader_error(e, name) from e
    for line in endless_loops(code)[:1]:
        raise ShaderError(f"{name}:{line}: this loop has no break or return, so it never ends: the GPU would run it "
                          "until a driver stops it (lavapipe after 65535 iterations, a desktop driver by resetting "
                          "the device)", asset=name, line=line)


def check_tree(assets: Path, device: Any = None) -> list[str]:
    """Check every ``.wgsl`` file under ``assets``; their names (relative, sorted). A GPU device is
    requested only when there is a shader to check."""
    names = sorted(p.relative_to(assets).as_posix() for p in assets.rglob(f"*{SUFFIX}") if p.is_file()) \
        if assets.is_dir() else []
    for name in names:
        try:
            code = (assets / name).read_text("utf-8")
        except UnicodeDecodeError as e:
            raise ShaderError(f"{name}: a WGSL source must be UTF-8 ({e})", asset=name) from None
        device = device or request_device()
        check_source(name, code, device)
    return names
