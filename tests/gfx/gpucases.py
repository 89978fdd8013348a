"""The GPU stream's hostile cases, as data, so the native checker (gpucheck.py) and the browser's
(layerw/web/gpucheck.js) are held to one list: each case is frames of stream bytes checked in order
on one checker, and the outcome of the last (the error's class and message, or whether it drew into
the frame). ``cases()`` gathers them: the named HOSTILE and MALFORMED cases, valid scenes, and
seeded random streams (whose outcome is whatever the native checker says: the browser must agree)."""

from __future__ import annotations

import base64
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from layerw import abi
from layerw.errors import LayerWError
from layerw.gfx.commands import parse
from layerw.gfx.gpucheck import GpuChecker
from layerw.gfx.gpustream import CODE
from layerw.gfx.gpuwriter import GpuWriter
from tests.gfx.gpuscenes import (
    BUFFER,
    FILL_WGSL,
    SAMPLER,
    TEXTURE,
    TRIANGLE_WGSL,
    H,
    T,
    U,
    V,
    W,
    compute_then_show,
    declare_textured,
    declare_triangle,
    draw_textured,
    draw_triangle,
    triangle,
)


def _pass(w: GpuWriter, *cmds: Callable[[GpuWriter], None]) -> None:
    w.begin_pass([(0, "clear", "store", (0, 0, 0, 1))])
    for c in cmds:
        c(w)
    w.end_pass()


def _drawing(*before: Callable[[GpuWriter], None], draw: Callable[[GpuWriter], None] = lambda w: w.draw(3)
             ) -> Callable[[GpuWriter], None]:
    return lambda w: _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1), *before, draw)


def blocks(block: Callable[[GpuWriter, int], object], repeats: int = 20) -> Callable[[GpuWriter], None]:
    """A depth-tested pass of the textured quads drawing ``repeats`` blocks ``block(w, i)`` (runs of
    repeated pass commands, which the native parser takes as a PassRun)."""
    def body(w: GpuWriter) -> None:
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
        w.set_pipeline(2)
        w.set_vertex_buffer(0, 4)
        for i in range(repeats):
            block(w, i)
        w.end_pass()
    return body


def _quad(w: GpuWriter, i: int, group: int = 1, draw: tuple[int, ...] | None = None) -> None:
    w.set_bind_group(0, group)
    w.draw(*(draw or (4, 1, 0, i % 3)))


def _indexed(w: GpuWriter, i: int, indices: int = 4) -> None:
    w.set_bind_group(0, 1)
    w.draw_indexed(indices, 1, 0, 0, i % 3)


def _indexed_blocks(bad: int) -> Callable[[GpuWriter], None]:
    def body(w: GpuWriter) -> None:
        w.buffer(6, 12, U["INDEX"])
        blocks(lambda w, i: (w.set_index_buffer(6) if i == 0 else None, _indexed(w, i, bad if i == 12 else 4)))(w)
    return body


def _behind_another_layout(w: GpuWriter) -> None:
    """A run right after SET_PIPELINE whose first draw finds a bind group of the wrong layout at an index
    the run does not set (its pipeline takes layouts 1 and 5, group 1 is of layout 1)."""
    w.layout(5, [(0, V["VERTEX"], "uniform")])
    w.pipeline(5, 2, "vs", "fs", layouts=[1, 5], topology="triangle-strip", depth_format="depth24plus",
               depth_write=1, depth_compare="less", buffers=[(12, "instance", [(0, 0, "float32x3")])])
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=2)
    w.set_pipeline(5)
    w.set_bind_group(1, 1)
    w.set_vertex_buffer(0, 4)
    for i in range(20):
        _quad(w, i)
    w.end_pass()


RUNS: dict[str, tuple[Callable[[GpuWriter], None], str]] = {
    "a run with an unknown bind group": (blocks(lambda w, i: _quad(w, i, 9 if i == 12 else 1)), "no bind group 9"),
    "a run with a bind group index": (blocks(lambda w, i: (w.set_bind_group(5 if i == 12 else 0, 1), w.draw(4, 1, 0, i % 3))),
                                      "index 5"),
    "a run reading past its instances": (blocks(lambda w, i: _quad(w, i, draw=(4, 1, 0, 3) if i == 12 else None)), "read past"),
    "a run of too many vertices": (blocks(lambda w, i: _quad(w, i, draw=(2**31, 1, 0, 0) if i == 12 else None)), "vertices"),
    "a run of indexed draws past the index buffer": (_indexed_blocks(7), "index buffer holds 6"),
    "a run behind a group of another layout": (_behind_another_layout, "group 1 needs a bind group of layout 5"),
}

HOSTILE: dict[str, tuple[Callable[[GpuWriter], None], str]] = {
    "unknown buffer": (lambda w: w.write_buffer(9, 0, b"1234"), "no buffer 9"),
    "handle zero": (lambda w: w.buffer(0, 16, U["VERTEX"]), "outside 1"),
    "handle too big": (lambda w: w.buffer(abi.GPU_MAX_HANDLE, 16, U["VERTEX"]), "outside 1"),
    "handle reused": (lambda w: w.buffer(1, 16, U["VERTEX"]), "exists already"),
    "buffer too big": (lambda w: w.buffer(5, abi.GPU_MAX_BUFFER_BYTES + 4, U["VERTEX"]), "multiple of 4"),
    "buffer unaligned": (lambda w: w.buffer(5, 10, U["VERTEX"]), "multiple of 4"),
    "mapped buffer": (lambda w: w.buffer(5, 16, 1), "usage"),
    "write past the end": (lambda w: w.write_buffer(1, 56, b"12345678"), "inside the buffer"),
    "write unaligned": (lambda w: w.write_buffer(1, 2, b"1234"), "multiples of 4"),
    "write without COPY_DST": (lambda w: (w.buffer(5, 16, U["VERTEX"]), w.write_buffer(5, 0, b"1234")), "COPY_DST"),
    "texture too big": (lambda w: w.texture(5, 8192, 4, "rgba8unorm", T["COPY_DST"]), "within 1"),
    "texture format": (lambda w: w.texture(5, 4, 4, 999, T["COPY_DST"]), "format 999"),
    "texture write outside": (lambda w: (w.texture(5, 4, 4, "rgba8unorm", T["COPY_DST"]),
                                         w.write_texture(5, 2, 2, 4, 4, 16, bytes(64))), "outside the texture"),
    "texture write short": (lambda w: (w.texture(5, 4, 4, "rgba8unorm", T["COPY_DST"]),
                                       w.write_texture(5, 0, 0, 4, 4, 16, bytes(60))), "do not match"),
    "depth written": (lambda w: w.texture(5, 4, 4, "depth24plus", T["COPY_DST"]), "cannot be written"),
    "too many mip levels": (lambda w: w.texture(5, 8, 4, "rgba8unorm", T["COPY_DST"], mip_levels=5), "more than a 8x4"),
    "mip levels on a render target": (lambda w: w.texture(5, 8, 8, "rgba8unorm", T["RENDER_ATTACHMENT"], mip_levels=2),
                                      "one mip level"),
    "write past the mip levels": (lambda w: (w.texture(5, 4, 4, "rgba8unorm", T["COPY_DST"], mip_levels=3),
                                             w.write_texture(5, 0, 0, 1, 1, 4, bytes(4), mip_level=3)), "mip level 3"),
    "write outside a mip level": (lambda w: (w.texture(5, 8, 8, "rgba8unorm", T["COPY_DST"], mip_levels=2),
                                             w.write_texture(5, 0, 0, 8, 8, 32, bytes(256), mip_level=1)), "texture's 4x4"),
    "memory bound": (lambda w: [w.buffer(h, abi.GPU_MAX_BUFFER_BYTES, U["STORAGE"]) for h in range(10, 15)], "GPU memory"),
    "sampler enum": (lambda w: w.sampler(5, filter=7), "mag_filter 7"),
    "empty shader": (lambda w: w.shader(5, "  "), "empty"),
    "endless loop": (lambda w: w.shader(5, "// loop {\n@compute @workgroup_size(1) fn f() {\n  /* break */ loop {\n  }\n}\n"),
                     "WGSL line 3: this loop has no break"),
    "endless for": (lambda w: w.shader(5, "fn f() { for (var i = 0; ; i++) { loop { break; } } while (true) { } }"),
                    "WGSL line 1: this loop"),
    "layout repeats a binding": (lambda w: w.layout(5, [(0, V["VERTEX"], "uniform"), (0, V["VERTEX"], "uniform")]), "repeated"),
    "layout binding type": (lambda w: w.layout(5, [(0, V["VERTEX"], 42)]), "type 42"),
    "layout visibility": (lambda w: w.layout(5, [(0, 64, "uniform")]), "visibility"),
    "pipeline shader": (lambda w: w.pipeline(5, 9, "vs", "fs"), "no shader 9"),
    "pipeline entry point": (lambda w: w.pipeline(5, 1, "vs;", "fs"), "not a WGSL identifier"),
    "pipeline stride": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(6, "vertex", [(0, 0, "float32")])]), "stride 6"),
    "pipeline attribute past stride": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(8, "vertex", [(0, 4, "float32x2")])]),
                                       "past the stride"),
    "pipeline location twice": (lambda w: w.pipeline(5, 1, "vs", "fs", buffers=[(8, 0, [(0, 0, "float32"), (0, 4, "float32")])]),
                                "repeated"),
    "pipeline depth format": (lambda w: w.pipeline(5, 1, "vs", "fs", depth_format="rgba8unorm", depth_compare="less"),
                              "colour format"),
    "pipeline colour depth": (lambda w: w.pipeline(5, 1, "vs", "fs", colors=[("depth32float", 0)]), "depth format"),
    "bind group missing binding": (lambda w: w.bind_group(5, [(0, BUFFER, 3, 0, 0)], layout=1), "missing"),
    "bind group wrong kind": (lambda w: w.bind_group(5, [(0, SAMPLER, 1, 0, 0), (1, TEXTURE, 1, 0, 0),
                                                         (2, SAMPLER, 1, 0, 0)], layout=1), "not this sampler"),
    "bind group offset": (lambda w: w.bind_group(5, [(0, BUFFER, 3, 4, 0), (1, TEXTURE, 1, 0, 0),
                                                     (2, SAMPLER, 1, 0, 0)], layout=1), "multiple of 256"),
    "bind group without usage": (lambda w: w.bind_group(5, [(0, BUFFER, 4, 0, 0), (1, TEXTURE, 1, 0, 0),
                                                             (2, SAMPLER, 1, 0, 0)], layout=1), "lacks UNIFORM"),
    "destroy what a bind group uses": (lambda w: w.destroy(BUFFER, 3), "still uses"),
    "destroy unknown kind": (lambda w: w.destroy(99, 1), "kind 99"),
    "draw outside a pass": (lambda w: w.draw(3), "only allowed inside"),
    "create inside a pass": (lambda w: _pass(w, lambda w: w.buffer(5, 16, U["VERTEX"])), "not allowed inside"),
    "draw in a compute pass": (lambda w: (w.begin_compute_pass(), w.draw(3), w.end_pass()), "does not draw"),
    "dispatch in a render pass": (lambda w: _pass(w, lambda w: w.set_pipeline(1), lambda w: w.dispatch(1)),
                                  "does not dispatch"),
    "render pipeline in a compute pass": (lambda w: (w.begin_compute_pass(), w.set_pipeline(1), w.end_pass()),
                                          "is a render pipeline"),
    "dispatch without pipeline": (lambda w: (w.begin_compute_pass(), w.dispatch(1), w.end_pass()), "no pipeline"),
    "vertex buffer in a compute pass": (lambda w: (w.begin_compute_pass(), w.set_vertex_buffer(0, 1), w.end_pass()),
                                        "binds no vertex"),
    "compute pipeline without entry point": (lambda w: w.compute_pipeline(5, 1, ""), "names its entry point"),
    "compute pipeline entry point": (lambda w: w.compute_pipeline(5, 1, "main()"), "not a WGSL identifier"),
    "compute pass left open": (lambda w: w.begin_compute_pass(), "ends inside a render pass or compute pass"),
    "vertex stage writes storage": (lambda w: w.layout(5, [(0, V["VERTEX"], "storage")]), "cannot write a storage"),
    "dispatch too wide": (lambda w: (w.shader(5, FILL_WGSL), w.compute_pipeline(5, 5, "fill"), w.begin_compute_pass(),
                                     w.set_pipeline(5), w.dispatch(65536), w.end_pass()), "at most 65535"),
    "too many workgroups": (lambda w: (w.shader(5, FILL_WGSL), w.compute_pipeline(5, 5, "fill"), w.begin_compute_pass(),
                                       w.set_pipeline(5), w.dispatch(65535, 17), w.end_pass()), "workgroups"),
    "pass left open": (lambda w: w.begin_pass([(0, "clear", "store", (0, 0, 0, 1))]), "ends inside a render pass"),
    "pass sizes differ": (lambda w: (w.texture(5, 8, 8, "rgba8unorm", T["RENDER_ATTACHMENT"]),
                                     w.begin_pass([(0, 0, 0, (0, 0, 0, 1)), (5, 0, 0, (0, 0, 0, 1))]), w.end_pass()), "one size"),
    "pass target not renderable": (lambda w: (w.texture(5, W, H, "rgba8unorm", T["COPY_DST"]),
                                              w.begin_pass([(5, 0, 0, (0, 0, 0, 1))]), w.end_pass()), "RENDER_ATTACHMENT"),
    "pass clear NaN": (lambda w: (w.begin_pass([(0, 0, 0, (float("nan"), 0, 0, 1))]), w.end_pass()), "not finite"),
    "draw without pipeline": (lambda w: _pass(w, lambda w: w.draw(3)), "no pipeline"),
    "draw without vertex buffer": (lambda w: _pass(w, lambda w: w.set_pipeline(1), lambda w: w.draw(3)), "not bound"),
    "draw past the buffer": (_drawing(draw=lambda w: w.draw(4)), "read past"),
    "a draw past the buffer after one within": (
        _drawing(draw=lambda w: (w.draw(3), w.raw(CODE["DRAW"], 1, 0, struct.pack("<4I", 1, 1, 3, 0)))), "read past"),
    "batched draws past the buffer": (_drawing(draw=lambda w: (w.draw(3), w.draw(4))), "read past"),
    "batched indexed draws past the index buffer": (
        lambda w: (w.buffer(6, 12, U["INDEX"]), _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1),
                                                      lambda w: w.set_index_buffer(6), lambda w: w.draw_indexed(3),
                                                      lambda w: w.draw_indexed(8))), "index buffer holds 6"),
    "indexed draw past the index buffer": (
        lambda w: (w.buffer(6, 12, U["INDEX"]), _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1),
                                                      lambda w: w.set_index_buffer(6), lambda w: w.draw_indexed(7))),
        "index buffer holds 6"),
    "bind group of another layout": (_drawing(lambda w: w.set_bind_group(0, 1)), "another pipeline's auto layout"),
    "draw far past the buffer": (_drawing(draw=lambda w: w.draw(3, 1, 2**32 - 2)), "read past"),
    "too many vertices": (_drawing(draw=lambda w: w.draw(3, 2**31)), "vertices"),
    "pipeline of another format": (lambda w: (w.texture(5, W, H, "rgba16float", T["RENDER_ATTACHMENT"]),
                                              w.begin_pass([(5, 0, 0, (0, 0, 0, 1))]), w.set_pipeline(1), w.end_pass()),
                                   "the pass has"),
    "indexed draw without index buffer": (_drawing(draw=lambda w: w.draw_indexed(3)), "no index buffer"),
    "index buffer without usage": (_drawing(lambda w: w.set_index_buffer(1)), "lacks INDEX"),
    "bind group index": (_drawing(lambda w: w.set_bind_group(7, 1)), "index 7"),
    **RUNS,
}


_OP = {o.name: o.code for o in abi.GPU_OPS}
# (op, count, arg, payload, message): headers whose sizes or tails the parser refuses
MALFORMED: list[tuple[int, int, int, bytes, str]] = [
    (_OP["BUFFER"], 2, 0, bytes(32), "count 2"),
    (_OP["DRAW"], 1, 4, bytes(20), "no tail"),
    (_OP["DRAW"], abi.GPU_MAX_DRAWS + 1, 0, b"", "draws"),
    (_OP["LAYOUT"], 1, 16, np.array([1, 2], np.uint32).tobytes() + bytes(16), "tail of 32"),
    (_OP["SHADER"], 1, 4, bytes(8) + b"\xff\xfe\xfd\xfc", "not UTF-8"),
    (_OP["SET_PIPELINE"], 1, 4, bytes(8), "no tail"),
    (_OP["WRITE_BUFFER"], 1, 64, bytes(8), "overruns"),
    (_OP["PIPELINE"], 1, 0, np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0], np.uint32).tobytes(),
     "9 colour targets"),
]


def prelude() -> bytes:
    """The frame every named case follows: the triangle and the textured scene declared."""
    w = GpuWriter()
    declare_triangle(w)
    declare_textured(w, reset=False)
    return w.getvalue()


@dataclass(frozen=True)
class Case:
    """Frames checked in order on one checker; ``error`` (a class name in layerw.errors) and a
    fragment of its message are what the last frame ends in, or None when every frame passes."""

    name: str
    frames: tuple[bytes, ...]
    error: str | None = None
    message: str = ""

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "frames": [base64.b64encode(f).decode() for f in self.frames],
                "error": self.error, "message": self.message}


def outcome(frames: Sequence[bytes], width: int = W, height: int = H) -> dict[str, object]:
    """What the native checker makes of ``frames``: {"error": class name or None, "message", "drew"}."""
    checker = GpuChecker(width, height)
    drew = False
    for data in frames:
        try:
            drew = checker.check(parse(data).gpu)
        except LayerWError as e:
            return {"error": type(e).__name__, "message": str(e), "drew": False}
    return {"error": None, "message": "", "drew": drew}


def _writer(body: Callable[[GpuWriter], object]) -> bytes:
    w = GpuWriter()
    body(w)
    return w.getvalue()


def _wrapping_draws(w: GpuWriter) -> None:
    """Four draws of 2^31 vertices x 2^31 instances: 2^64 in all, 0 in 64-bit arithmetic."""
    _pass(w, lambda w: w.set_pipeline(1), lambda w: w.set_vertex_buffer(0, 1),
          *[lambda w: w.draw(2**31, 2**31, 0, 0)] * 4)


EXTRA: dict[str, tuple[Callable[[GpuWriter], None], str]] = {
    "batched draws whose vertices wrap 64 bits": (_wrapping_draws, "vertices (count x instances)"),
}


_EDGES = [0, 1, 2, 3, 4, 255, 256, 4095, 4096, 65535, 2**31 - 1, 2**31, 2**32 - 1]
_TAILS = {"LAYOUT": ("entry_count", abi.GPU_LAYOUT_ENTRY), "BIND_GROUP": ("entry_count", abi.GPU_BIND_ENTRY),
          "BEGIN_PASS": ("color_count", abi.GPU_COLOR_ATTACHMENT)}


def _word(rng: random.Random) -> int:
    pick = rng.randrange(8)
    return rng.choice(_EDGES) if pick == 0 else rng.randrange(2**32) if pick == 1 else rng.randrange(6)


def _record(rng: random.Random, s: abi.Struct, **fixed: int) -> bytes:
    """A record of struct ``s``: words that may be anything (mostly small), ``fixed`` fields set."""
    values: list[int] = []
    for f in s.fields:
        values += [fixed[f.name] if f.name in fixed else _word(rng) for _ in range(f.count)]
    return struct.pack(f"<{len(values)}I", *values)


def _command(rng: random.Random, ops: Sequence[abi.Op]) -> bytes:
    """One of ``ops``, well formed (sizes and tails that parse) but one time in twenty."""
    op = rng.choice(ops)
    if rng.randrange(20) == 0:  # sizes that may be anything
        count = rng.choice([1, rng.randrange(5), rng.randrange(2**32)])
        arg = rng.choice([0, rng.randrange(65), rng.randrange(2**32)])
        words = op.record.size // 4 * (count if op.batch and count < 8 else 1) + min(arg, 64) // 4
        return struct.pack("<4I", op.code, count, arg, 0) + b"".join(struct.pack("<I", _word(rng)) for _ in range(words))
    count, tail, fixed = 1, b"", {}
    if op.batch:
        count = rng.randrange(1, 4)
        body = b"".join(_record(rng, op.record) for _ in range(count))
        return struct.pack("<4I", op.code, count, 0, 0) + body
    if op.name in _TAILS:
        field, sub = _TAILS[op.name]
        n = rng.randrange(4)
        fixed[field] = n
        tail = b"".join(_record(rng, sub) for _ in range(n))
    elif op.name in ("WRITE_BUFFER", "WRITE_TEXTURE"):
        tail = bytes(4 * rng.randrange(20))
    elif op.name == "SHADER":
        tail = rng.choice([TRIANGLE_WGSL.encode(), b"  \n", b"fn"])
    elif op.name == "COMPUTE_PIPELINE":
        tail = rng.choice([b"fill", b"", b"f l"])
        fixed = {"entry_len": len(tail), "layout_count": rng.randrange(3)}
    elif op.name == "PIPELINE":
        colors, buffers = rng.randrange(3), rng.randrange(3)
        attrs = [rng.randrange(3) for _ in range(buffers)]
        vs, fs = rng.choice([b"vs", b"", b"v s"]), rng.choice([b"fs", b""])
        fixed = {"color_count": colors, "buffer_count": buffers, "attribute_count": sum(attrs), "vs_len": len(vs),
                 "fs_len": len(fs), "layout_count": rng.randrange(3)}
        tail = b"".join(_record(rng, abi.GPU_COLOR_TARGET) for _ in range(colors))
        tail += b"".join(_record(rng, abi.GPU_VERTEX_BUFFER, attribute_count=k) for k in attrs)
        tail += b"".join(_record(rng, abi.GPU_ATTRIBUTE) for _ in range(sum(attrs))) + vs + fs
    body = _record(rng, op.record, **fixed)
    return struct.pack("<4I", op.code, count, len(tail), 0) + body + tail + bytes(-len(tail) % 4)


_PASS_OPS = [op for op in abi.GPU_OPS if op.name.startswith(("SET_", "DRAW"))]
_OTHER_OPS = [op for op in abi.GPU_OPS if op not in _PASS_OPS]


def random_stream(rng: random.Random) -> bytes:
    """Random GPU commands (seeded): resources, then often a pass into the frame with random pass
    commands, usually ended."""
    out = b"".join(_command(rng, _OTHER_OPS) for _ in range(rng.randrange(0, 5)))
    if rng.randrange(3):
        w = GpuWriter()
        w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))], depth=rng.choice([0, 2]))
        out += w.getvalue() + b"".join(_command(rng, _PASS_OPS) for _ in range(rng.randrange(1, 7)))
        if rng.randrange(8):
            w = GpuWriter()
            w.end_pass()
            out += w.getvalue()
    return out


def _written_blocks(w: GpuWriter) -> None:
    """Writes to buffers 3 and 4 (their bytes change from frame to frame in a game), then a pass of runs."""
    w.write_buffer(3, 0, np.array([0.5, 0.25, 1, 1], np.float32).tobytes())
    w.write_buffer(4, 12, np.array([0.1, 0.2, 0.3], np.float32).tobytes())
    blocks(_quad)(w)


# Frames that change no resources, so the browser's checker keeps each one's verdict for the next
# frame that reads the same (layerw/web/gpumemo.js); the memo cases check them twice, or once and
# then again with one word changed
REPEATED: dict[str, Callable[[GpuWriter], None]] = {
    "runs of blocks": blocks(_quad),
    "two passes of runs": lambda w: (blocks(_quad)(w), blocks(lambda w, i: _quad(w, i, draw=(4, 1, 0, (i + 1) % 3)), 30)(w)),
    "writes, then runs": _written_blocks,
    "a run whose bind group index changes": blocks(lambda w, i: (w.set_bind_group(i % 2, 1), w.draw(4, 1, 0, i % 3))),
    "the triangle": draw_triangle,
    "the textured quads": lambda w: draw_textured(w, np.array([[0, 0, 0.5], [0.2, 0.2, 0.25]])),
}
# Of those, the frames whose check reads a run row by row (its folds do not say all it read), which no memo keeps
ROW_BY_ROW = {"a run whose bind group index changes"}


def memo_cases(first: bytes, mutations: int, rng: random.Random) -> list[Case]:
    """Each REPEATED frame after ``first``, twice ("memo: NAME twice", valid), then ``mutations`` cases of
    it followed by a copy with one random word (past the header of the list) set to a random value,
    whose outcome is the native checker's (it keeps no verdict, so the browser's memo must change none)."""
    out: list[Case] = []
    frames = {name: _writer(body) for name, body in REPEATED.items()}
    for name, frame in frames.items():
        out.append(Case(f"memo: {name} twice", (first, frame, frame)))
    more = _writer(lambda w: w.buffer(9, 256, U["UNIFORM"]))  # a frame that changed the resources is not kept:
    out.append(Case("memo: a buffer declared again", (first, more, more), "GpuStreamError", "exists already"))
    names = list(frames)
    for i in range(mutations):
        name = names[i % len(names)]
        frame = bytearray(frames[name])
        at = 4 * rng.randrange(1, len(frame) // 4)
        frame[at:at + 4] = struct.pack("<I", _word(rng))
        result = outcome((first, frames[name], bytes(frame)))
        out.append(Case(f"memo: {name}, word {at // 4} changed ({i})", (first, frames[name], bytes(frame)),
                        result["error"] and str(result["error"]), str(result["message"])))
    return out


def cases(random_count: int = 300) -> list[Case]:
    """Every case, named first, then ``random_count`` seeded random streams after the scene."""
    first = prelude()
    out = [Case(f"hostile: {name}", (first, _writer(body)), "GpuStreamError", message)
           for name, (body, message) in {**HOSTILE, **EXTRA}.items()]
    for code, count, arg, payload, message in MALFORMED:
        w = GpuWriter()
        w.raw(code, count, arg, payload)
        kind = outcome([w.getvalue()])["error"]
        out.append(Case(f"malformed: {abi.GPU_OP_BY_CODE[code].name} {message}", (w.getvalue(),), str(kind), message))
    textured = GpuWriter()
    declare_textured(textured)
    draw_textured(textured, np.array([[0, 0, 0.5], [0.2, 0.2, 0.25]]))
    redraw = GpuWriter()
    draw_triangle(redraw)
    out += [Case("valid: triangle", (triangle().getvalue(),)),
            Case("valid: triangle again", (triangle().getvalue(), redraw.getvalue())),
            Case("valid: textured", (textured.getvalue(),)), Case("valid: declarations only", (first,)),
            Case("valid: compute then show", (first, _writer(compute_then_show))),
            Case("valid: runs of blocks", (first, _writer(blocks(_quad)), _writer(_indexed_blocks(4)))),
            Case("valid: a run whose bind group index changes", (first, _writer(blocks(
                lambda w, i: (w.set_bind_group(i % 2, 1), w.draw(4, 1, 0, i % 3))))))]
    out += memo_cases(first, random_count, random.Random(20))
    rng = random.Random(19)
    for i in range(random_count):
        frames = (first, random_stream(rng))
        result = outcome(frames)
        out.append(Case(f"random {i}", frames, result["error"] and str(result["error"]), str(result["message"])))
    return out
