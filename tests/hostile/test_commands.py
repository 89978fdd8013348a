"""Command lists from a hostile game: the parser returns a Frame whose batches stay inside its
arrays, or raises CommandListError, never anything else; the renderer draws whatever parses."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from layerw import abi
from layerw.errors import CommandListError
from layerw.gfx.commands import INSTANCE, Frame, Pipeline, parse
from layerw.gfx.renderer import WgpuRenderer
from tests.hostile.harness import fuzz

CODES = [op.code for op in abi.OPS]
U32 = st.integers(0, 2**32 - 1)
floats = st.floats(width=32, allow_nan=True, allow_infinity=True)
words = st.one_of(floats.map(lambda f: struct.pack("<f", f)), U32.map(lambda u: struct.pack("<I", u)))


@st.composite
def command(draw: st.DrawFn, honest: bool = False) -> bytes:
    """One command: a known op with records of the right size, or (unless honest) lies about it."""
    code = draw(st.sampled_from(CODES) if honest else st.one_of(st.sampled_from(CODES), U32))
    count = draw(st.integers(0, 6) if honest else st.one_of(st.integers(0, 6), U32))
    arg = draw(st.integers(0, 40) if honest or draw(st.booleans()) else U32)
    op = abi.OP_BY_CODE.get(code)
    if op is None:
        size = 4 * draw(st.integers(0, 8))
    elif op.name == "TEXT":
        count = 1 if honest else count
        size = op.record.size + ((arg + 3) & ~3)
    else:
        size = op.record.size * count
    if not honest and draw(st.booleans()):
        size = max(0, size + draw(st.integers(-24, 24)))  # a body that disagrees with its header
    n = min(size, 4096) // 4
    body = bytearray(draw(st.binary(min_size=4 * n, max_size=4 * n)))
    for at, word in draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), words), max_size=8 if n else 0)):
        body[4 * at:4 * at + 4] = word  # NaN, infinities, huge and tiny floats where records hold floats
    return struct.pack("<4I", code, count, arg, 0 if honest else draw(U32)) + bytes(body) + bytes(size % 4)


def check_frame(frame: Frame) -> None:
    assert frame.instances.dtype == INSTANCE
    assert frame.vertices.dtype == abi.VERTEX.dtype
    for batch in frame.batches:
        arrays = frame.instances if batch.pipeline == Pipeline.QUADS else frame.vertices
        assert 0 <= batch.first and batch.count > 0 and batch.first + batch.count <= len(arrays)
        assert 0 <= batch.transform < len(frame.transforms)


def parses_or_refuses(data: bytes, length: int | None = None) -> Frame | None:
    try:
        frame = parse(data, length)
    except CommandListError:
        return None
    check_frame(frame)
    return frame


@fuzz(300)
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    parses_or_refuses(data)


@fuzz(300)
@given(st.lists(command(), max_size=6), st.integers(-64, 64))
def test_structured_but_wrong_lists(commands: list[bytes], trim: int) -> None:
    data = b"".join(commands)
    parses_or_refuses(data)
    parses_or_refuses(bytearray(data), len(data) + trim)  # a length that disagrees with the buffer
    parses_or_refuses(memoryview(data)[: max(0, len(data) - abs(trim))])


@fuzz(25)
@given(st.lists(command(honest=True), min_size=1, max_size=6))
def test_renderer_draws_any_frame_that_parses(renderer: WgpuRenderer, commands: list[bytes]) -> None:
    frame = parses_or_refuses(b"".join(commands))
    if frame is not None:
        renderer.render(frame)
        pixels = renderer.read_pixels()
        assert pixels.shape == (48, 64, 4) and pixels.dtype == np.uint8


@fuzz(200)
@given(st.lists(command(honest=True), min_size=1, max_size=6))
def test_only_batches_with_a_shape_take_the_shape_pipeline(commands: list[bytes]) -> None:
    """The plain quad pipeline (texel times colour) never gets an instance that needs a shape."""
    frame = parses_or_refuses(b"".join(commands))
    if frame is not None:
        for batch in frame.batches:
            if batch.pipeline == Pipeline.QUADS and not batch.shaped:
                assert not np.any(frame.instances["flags"][batch.first:batch.first + batch.count] >> 8)
