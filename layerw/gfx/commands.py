"""Frame: a game's binary command list, parsed into GPU-ready draw batches.

The command list format is defined in ``layerw.abi`` (a 16-byte header, then ``count`` fixed-size
records). Python loops over headers only; each command's records are viewed with
``np.frombuffer`` and converted to one unified quad-instance layout (``INSTANCE``) with vectorised
numpy, so a 10 000-sprite batch costs a handful of array operations, not 10 000 iterations.
GPU commands (``abi.GPU_OPS``, in the same list) are split off in order into ``Frame.gpu``
(``gpustream``), for ``gpucheck`` and ``gpureplay``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from layerw import abi
from layerw.errors import CommandListError, GpuStreamError
from layerw.gfx.gpurun import RUN_OPS, FrameCommand, find_run
from layerw.gfx.gpustream import PASS_FORMATS, command_size, parse_command

# One quad on the GPU, laid out like abi.SPRITE so sprite records upload with a plain copy:
# top-left and size before rotation, source rect in texels of the batch's texture, rotation about
# the centre (radians), colour (r = low byte), flags (bits 0-1 flip x/y, bits 8-15 the Shape) and
# the outline/ring thickness.
INSTANCE = np.dtype([
    ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
    ("u", "<f4"), ("v", "<f4"), ("uw", "<f4"), ("vh", "<f4"),
    ("rotation", "<f4"), ("color", "<u4"), ("flags", "<u4"), ("thickness", "<f4"),
])
WORDS = INSTANCE.itemsize // 4
SHAPE_SHIFT = 8
FONT_TEXTURE = -1  # batch texture key of the built-in font atlas (game handles are >= 0)
IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

_HEADER = struct.Struct("<4I")
_OP = {op.name: op.code for op in abi.OPS}
_FLIPS = abi.SPRITE_FLAGS["FLIP_X"] | abi.SPRITE_FLAGS["FLIP_Y"]
_ADVANCE = abi.FONT_CELL_W / abi.FONT_CELL_H
assert abi.SPRITE.size == INSTANCE.itemsize


class Shape(IntEnum):
    """What the fragment shader draws inside an instance's quad (flags bits 8-15)."""

    QUAD = 0  # textured or solid quad
    CIRCLE = 1  # filled circle inscribed in the quad
    RING = 2  # circle outline, `thickness` wide, inside the radius
    OUTLINE = 3  # rect outline, `thickness` wide, inside the rect


class Pipeline(IntEnum):
    """Which GPU pipeline draws a batch, and which array its range indexes."""

    QUADS = 0  # instanced quads; first/count index Frame.instances
    TRIANGLES = 1  # triangle list; first/count index Frame.vertices


@dataclass(slots=True)
class Batch:
    """One draw call: a range of instances or vertices sharing all GPU state."""

    pipeline: Pipeline
    texture: int  # game texture handle; 0 = white, FONT_TEXTURE = the built-in font
    transform: int  # row of Frame.transforms
    viewport: tuple[float, float, float, float] | None  # clip rect in game pixels; None = target
    first: int
    count: int
    shaped: bool = True  # some instance has a Shape other than QUAD (quads only: else fs_triangle draws it)


@dataclass(slots=True)
class Frame:
    """A parsed command list: what to clear to, then batches in drawing order."""

    clear: int | None = None  # u32 colour of the last CLEAR (earlier draws are covered by it)
    batches: list[Batch] = field(default_factory=list)
    instances: np.ndarray = field(default_factory=lambda: np.empty(0, INSTANCE))
    vertices: np.ndarray = field(default_factory=lambda: np.empty(0, abi.VERTEX.dtype))
    transforms: np.ndarray = field(default_factory=lambda: np.array([IDENTITY], np.float32))
    gpu: list[FrameCommand] = field(default_factory=list)  # GPU commands in order, drawn before the 2D batches


# Converters take records as an (n, words) float32 array and write instances into ``out``, an
# (n, WORDS) float32 slice of the frame's one instance array (plain arrays: numpy copies structured
# arrays field by field, ~15x slower), so a frame's instances are allocated and copied once.

def _shapes(out: np.ndarray) -> np.ndarray:
    """Blank ``out`` to untextured quads (the whole 1x1 white texture); its u32 view."""
    out[:] = 0.0
    out[:, 6:8] = 1.0
    return out.view(np.uint32)


def rects(r: np.ndarray, out: np.ndarray) -> None:
    """abi.RECT records as instances; thickness > 0 makes an outline."""
    bits = _shapes(out)
    out[:, 0:4] = r[:, 0:4]
    out[:, 8] = r[:, 4]
    out[:, 11] = r[:, 5]
    bits[:, 9] = r.view(np.uint32)[:, 6]
    bits[:, 10] = np.where(r[:, 5] > 0, Shape.OUTLINE << SHAPE_SHIFT, 0)


def lines(r: np.ndarray, out: np.ndarray) -> None:
    """abi.LINE records as rotated quads (butt ends); thickness <= 0 draws a 1-pixel hairline."""
    bits = _shapes(out)
    d = r[:, 2:4] - r[:, 0:2]
    length = np.hypot(d[:, 0], d[:, 1])
    thickness = np.where(r[:, 4] > 0, r[:, 4], 1.0)
    out[:, 0] = (r[:, 0] + r[:, 2] - length) * 0.5
    out[:, 1] = (r[:, 1] + r[:, 3] - thickness) * 0.5
    out[:, 2] = length
    out[:, 3] = thickness
    out[:, 8] = np.arctan2(d[:, 1], d[:, 0])
    bits[:, 9] = r.view(np.uint32)[:, 5]


def circles(r: np.ndarray, out: np.ndarray) -> None:
    """abi.CIRCLE records as quads of side 2 * radius; thickness > 0 makes a ring."""
    bits = _shapes(out)
    out[:, 0:2] = r[:, 0:2] - r[:, 2:3]
    out[:, 2:4] = r[:, 2:3] * 2.0
    out[:, 11] = r[:, 3]
    bits[:, 9] = r.view(np.uint32)[:, 4]
    bits[:, 10] = np.where(r[:, 3] > 0, Shape.RING, Shape.CIRCLE) << SHAPE_SHIFT


def sprites(r: np.ndarray, out: np.ndarray) -> None:
    """abi.SPRITE records as instances: a copy, keeping only the flip flags."""
    out[:] = r
    out.view(np.uint32)[:, 10] &= _FLIPS
    out[:, 11] = 0.0


def drawn(chars: np.ndarray) -> np.ndarray:
    """Which of a TEXT command's bytes draw a glyph (space and control bytes draw nothing)."""
    return (chars > 32) & (chars < 127)


def text(rec: np.ndarray, chars: np.ndarray, out: np.ndarray) -> None:
    """One abi.TEXT record (x, y, size, color) and its ASCII bytes as glyph quads (one per ``drawn`` byte).

    Glyphs advance by size * FONT_CELL_W / FONT_CELL_H; '\\n' starts a new line size pixels down.
    """
    from layerw.gfx import font  # lazily: `python -m layerw.gfx.font` must not import itself first

    x, y, size = (float(v) for v in rec[0, 0:3])
    idx = np.arange(len(chars))
    newline = chars == 10
    line = np.cumsum(newline)
    column = idx - np.maximum.accumulate(np.where(newline, idx + 1, 0))
    keep = drawn(chars)
    glyph = chars[keep].astype(np.int64) - abi.FONT_FIRST
    advance = size * _ADVANCE
    bits = _shapes(out)
    out[:, 0] = x + column[keep] * advance
    out[:, 1] = y + line[keep] * size
    out[:, 2] = advance
    out[:, 3] = size
    out[:, 4], out[:, 5] = font.cell_origins(glyph)
    out[:, 6] = abi.FONT_CELL_W
    out[:, 7] = abi.FONT_CELL_H
    bits[:, 9] = rec.view(np.uint32)[0, 3]


_FAST = {code: (s.unpack_from, s.size) for code, s in PASS_FORMATS.items()}  # the GPU pass commands' hot path
_CONVERT = {_OP["RECTS"]: rects, _OP["LINES"]: lines, _OP["CIRCLES"]: circles,
            _OP["SPRITES"]: sprites}


def _shaped(code: int, r: np.ndarray) -> bool:
    """Whether a quad command's records draw a Shape other than QUAD (a circle, a ring, an outline)."""
    if code == _OP["CIRCLES"]:
        return True
    return code == _OP["RECTS"] and bool(np.any(r[:, 5] > 0))


@np.errstate(over="ignore", invalid="ignore")  # huge or NaN coordinates are the game's; the GPU clips them
def parse(buf: bytes | bytearray | memoryview, length: int | None = None) -> Frame:
    """Parse the first ``length`` bytes of ``buf`` (default: all) into a Frame.

    Raises CommandListError for an unknown op or a command that runs past ``length``.
    """
    mv = memoryview(buf).cast("B") if not isinstance(buf, bytes) else memoryview(buf)
    end = len(mv) if length is None else length
    if end > len(mv) or end < 0:
        raise CommandListError(f"command list length {end} exceeds its buffer of {len(mv)} bytes")
    frame = Frame()
    quads: list[tuple[Callable[..., None], tuple[np.ndarray, ...], int]] = []  # (converter, its inputs, instances)
    verts: list[np.ndarray] = []
    transforms: list[tuple[float, ...]] = [IDENTITY]
    n_quads = n_verts = transform = 0
    viewport: tuple[float, float, float, float] | None = None

    def emit(pipeline: Pipeline, texture: int, first: int, count: int, shaped: bool = False) -> None:
        last = frame.batches[-1] if frame.batches else None
        if (last is not None and last.pipeline == pipeline and last.texture == texture
                and last.transform == transform and last.viewport == viewport
                and last.first + last.count == first):
            last.count += count
            last.shaped |= shaped
        else:
            frame.batches.append(Batch(pipeline, texture, transform, viewport, first, count, shaped))

    at = 0
    header, gpu, fast_formats = _HEADER.unpack_from, frame.gpu.append, _FAST
    look_from = 0  # where a run of repeated pass-command blocks (gpurun) may start
    while at < end:
        if at + _HEADER.size > end:
            raise CommandListError(f"truncated command header at byte {at} of {end}")
        code, count, arg, _ = header(mv, at)
        fast = fast_formats.get(code)
        if fast is not None and count == 1 and arg == 0 and at + fast[1] <= end:
            if at >= look_from and code in RUN_OPS:
                run, look_from = find_run(mv, at, end)
                if run is not None:
                    gpu(run)
                    at += run.nbytes
                    continue
            gpu(fast[0](mv, at))
            at += fast[1]
            continue
        gpu_op = abi.GPU_OP_BY_CODE.get(code)
        if gpu_op is not None:
            size = command_size(gpu_op, at, count, arg)
            if at + _HEADER.size + size > end:
                raise GpuStreamError(f"GPU {gpu_op.name} command at byte {at} ({size} bytes) overruns "
                                       f"the command list of {end} bytes")
            frame.gpu.append(parse_command(mv, at, gpu_op, count, arg))
            at += _HEADER.size + size
            continue
        op = abi.OP_BY_CODE.get(code)
        if op is None:
            raise CommandListError(f"unknown op {code} at byte {at}; is the game built for ABI "
                                   f"version {abi.ABI_VERSION}?")
        body = at + _HEADER.size
        if op.code == _OP["TEXT"]:
            if count != 1:
                raise CommandListError(f"TEXT command at byte {at} has count {count}, expected 1")
            size = op.record.size + ((arg + 3) & ~3)
        else:
            size = op.record.size * count
        if body + size > end:
            raise CommandListError(f"{op.name} command at byte {at} ({count} records, {size} bytes) "
                                   f"overruns the command list of {end} bytes")
        at = body + size
        if count == 0:
            continue
        n = 1 if op.code == _OP["TEXT"] else count
        words = np.frombuffer(mv, np.float32, n * op.record.size // 4, body).reshape(n, -1)
        if op.code in _CONVERT:
            quads.append((_CONVERT[op.code], (words,), count))
            emit(Pipeline.QUADS, arg if op.code == _OP["SPRITES"] else 0, n_quads, count, _shaped(op.code, words))
            n_quads += count
        elif op.code == _OP["TEXT"]:
            chars = np.frombuffer(mv, np.uint8, arg, body + op.record.size)
            glyphs = int(np.count_nonzero(drawn(chars)))
            if glyphs:
                quads.append((text, (words, chars), glyphs))
                emit(Pipeline.QUADS, FONT_TEXTURE, n_quads, glyphs)
                n_quads += glyphs
        elif op.code == _OP["TRIANGLES"]:
            whole = count - count % 3  # an unfinished triangle is dropped
            if whole:
                verts.append(words[:whole])
                emit(Pipeline.TRIANGLES, arg, n_verts, whole)
                n_verts += whole
        elif op.code == _OP["CLEAR"]:
            frame.clear = int(words.view(np.uint32)[-1, 0])
            frame.batches.clear()  # the clear covers everything drawn before it
        elif op.code == _OP["VIEWPORT"]:
            x, y, w, h = (float(v) for v in words[-1])
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                raise CommandListError(f"VIEWPORT at byte {at - size - _HEADER.size} is not finite")
            viewport = None if w == 0 else (x, y, w, h)
        else:  # TRANSFORM
            t = tuple(float(v) for v in words[-1])
            if t != transforms[transform]:
                transforms.append(t)
                transform = len(transforms) - 1
    if quads:
        instances = np.empty((n_quads, WORDS), np.float32)
        first = 0
        for convert, inputs, count in quads:
            convert(*inputs, instances[first:first + count])
            first += count
        frame.instances = instances.view(INSTANCE).reshape(-1)
    if verts:
        frame.vertices = np.concatenate(verts).view(abi.VERTEX.dtype).reshape(-1)
    frame.transforms = np.array(transforms, np.float32)
    return frame
