"""parse(): command lists to batches, checked on hand-built lists and malformed ones."""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from layerw import abi
from layerw.errors import CommandListError, LayerWError
from layerw.gfx.commands import FONT_TEXTURE, Pipeline, Shape, parse
from layerw.gfx.writer import CommandWriter, rgba
from tests.gfx.test_renderer import SCENES

RED, GREEN = rgba(255, 0, 0), rgba(0, 255, 0)
OP = {op.name: op.code for op in abi.OPS}


def header(op: str, count: int, arg: int = 0) -> bytes:
    return struct.pack("<4I", OP[op], count, arg, 0)


def record(op: str, *values: float | int) -> bytes:
    return np.array([tuple(values)], abi.OP_BY_CODE[OP[op]].record.dtype).tobytes()


def shape(kind: int) -> int:
    return kind << 8


def test_hand_built_rect_becomes_one_instance() -> None:
    buf = header("RECTS", 1) + record("RECTS", 10, 20, 30, 40, 0.5, 0, RED, 0)
    frame = parse(buf)
    assert frame.clear is None
    [batch] = frame.batches
    assert (batch.pipeline, batch.texture, batch.first, batch.count) == (Pipeline.QUADS, 0, 0, 1)
    [q] = frame.instances
    assert (q["x"], q["y"], q["w"], q["h"], q["rotation"]) == pytest.approx((10, 20, 30, 40, 0.5))
    assert (q["u"], q["v"], q["uw"], q["vh"]) == (0, 0, 1, 1)
    assert q["color"] == RED and q["flags"] == shape(Shape.QUAD)


def test_each_shape_kind() -> None:
    w = CommandWriter()
    w.rect(0, 0, 10, 10, thickness=2, color=RED)
    w.circle(50, 60, 5, color=GREEN)
    w.circle(50, 60, 5, thickness=1)
    w.line(0, 0, 30, 40, 2)
    w.line(0, 0, 10, 0, 0)
    q = parse(bytes(w)).instances
    assert list(q["flags"]) == [shape(Shape.OUTLINE), shape(Shape.CIRCLE), shape(Shape.RING),
                                shape(Shape.QUAD), shape(Shape.QUAD)]
    assert q["thickness"][0] == 2 and q["thickness"][2] == 1
    assert (q["x"][1], q["y"][1], q["w"][1], q["h"][1]) == (45, 55, 10, 10)  # circle's box
    line = q[3]  # a 50-long, 2-thick quad centred on the segment's midpoint, rotated onto it
    assert (line["w"], line["h"]) == pytest.approx((50, 2))
    assert (line["x"] + line["w"] / 2, line["y"] + line["h"] / 2) == pytest.approx((15, 20))
    assert line["rotation"] == pytest.approx(np.arctan2(40, 30))
    assert q["h"][4] == 1  # thickness 0 is a hairline


def test_sprites_keep_source_rect_and_flips() -> None:
    w = CommandWriter()
    w.sprite(3, 1, 2, 16, 8, 32, 0, 16, 8, rotation=1.0, tint=GREEN, flags=3 | 0xFF00)
    frame = parse(bytes(w))
    [batch] = frame.batches
    assert batch.texture == 3
    [q] = frame.instances
    assert (q["u"], q["v"], q["uw"], q["vh"]) == (32, 0, 16, 8)
    assert q["flags"] == 3  # only the flip bits survive; a game cannot pick a shape
    assert q["color"] == GREEN and q["rotation"] == pytest.approx(1.0)


def test_text_becomes_glyph_quads_from_the_atlas() -> None:
    w = CommandWriter()
    w.text(10, 20, 24, RED, "A b\nC")
    frame = parse(bytes(w))
    [batch] = frame.batches
    assert batch.texture == FONT_TEXTURE and batch.count == 3  # space and newline draw nothing
    q = frame.instances
    advance = 24 * abi.FONT_CELL_W / abi.FONT_CELL_H
    assert list(q["x"]) == pytest.approx([10, 10 + 2 * advance, 10])
    assert list(q["y"]) == [20, 20, 44]
    assert set(q["w"]) == {advance} and set(q["h"]) == {24}
    g = np.array([ord("A"), ord("b"), ord("C")]) - abi.FONT_FIRST
    assert list(q["u"]) == list((g % abi.FONT_COLUMNS) * abi.FONT_CELL_W)
    assert list(q["v"]) == list((g // abi.FONT_COLUMNS) * abi.FONT_CELL_H)
    assert set(q["uw"]) == {abi.FONT_CELL_W} and set(q["color"]) == {RED}


def test_triangles_are_vertices_and_drop_an_unfinished_triangle() -> None:
    verts = np.zeros(7, abi.VERTEX.dtype)
    verts["x"] = np.arange(7)
    w = CommandWriter()
    w.triangles(5, verts)
    frame = parse(bytes(w))
    [batch] = frame.batches
    assert (batch.pipeline, batch.texture, batch.count) == (Pipeline.TRIANGLES, 5, 6)
    assert list(frame.vertices["x"]) == list(range(6))


def test_consecutive_compatible_batches_merge() -> None:
    w = CommandWriter()
    w.rect(0, 0, 1, 1)
    w.circle(0, 0, 1)
    w.line(0, 0, 1, 1)
    w.sprite(0, 0, 0, 1, 1, 0, 0, 1, 1)  # texture 0 is the same white texture
    w.sprite(1, 0, 0, 1, 1, 0, 0, 1, 1)
    w.sprite(2, 0, 0, 1, 1, 0, 0, 1, 1)
    w.sprite(2, 0, 0, 1, 1, 0, 0, 1, 1)
    w.transform(2, 0, 0, 2, 0, 0)
    w.sprite(2, 0, 0, 1, 1, 0, 0, 1, 1)
    w.viewport(0, 0, 5, 5)
    w.sprite(2, 0, 0, 1, 1, 0, 0, 1, 1)
    w.transform(2, 0, 0, 2, 0, 0)  # unchanged camera: no new batch
    w.viewport(0, 0, 5, 5)
    w.sprite(2, 0, 0, 1, 1, 0, 0, 1, 1)
    frame = parse(bytes(w))
    got = [(b.texture, b.transform, b.viewport, b.first, b.count) for b in frame.batches]
    assert got == [(0, 0, None, 0, 4), (1, 0, None, 4, 1), (2, 0, None, 5, 2),
                   (2, 1, None, 7, 1), (2, 1, (0, 0, 5, 5), 8, 2)]
    assert frame.transforms.tolist() == [[1, 0, 0, 1, 0, 0], [2, 0, 0, 2, 0, 0]]


def test_viewport_width_zero_resets() -> None:
    w = CommandWriter()
    w.viewport(1, 2, 3, 4)
    w.rect(0, 0, 1, 1)
    w.viewport(0, 0, 0, 0)
    w.rect(0, 0, 1, 1)
    assert [b.viewport for b in parse(bytes(w)).batches] == [(1, 2, 3, 4), None]


def test_clear_covers_what_came_before() -> None:
    w = CommandWriter()
    w.clear(RED)
    w.rect(0, 0, 1, 1)
    w.clear(GREEN)
    w.circle(0, 0, 1)
    frame = parse(bytes(w))
    assert frame.clear == GREEN
    [batch] = frame.batches
    assert frame.instances["flags"][batch.first] == shape(Shape.CIRCLE)


def test_length_limits_the_list_and_frame_owns_its_data() -> None:
    w = CommandWriter()
    w.rect(1, 2, 3, 4, color=RED)
    guest = bytearray(bytes(w) + b"\xff" * 64)  # garbage after the list, as in guest memory
    frame = parse(memoryview(guest), len(w))
    guest[:] = bytes(len(guest))  # the game overwrites its buffer for the next frame
    assert frame.instances["color"][0] == RED and frame.instances["x"][0] == 1


def test_empty_list_and_empty_commands() -> None:
    assert parse(b"").batches == []
    frame = parse(header("SPRITES", 0, 7) + header("TEXT", 1, 0) + record("TEXT", 0, 0, 8, RED))
    assert frame.batches == [] and len(frame.instances) == 0


@pytest.mark.parametrize("buf, message", [
    (header("RECTS", 1)[:12], "truncated command header"),
    (struct.pack("<4I", 99, 0, 0, 0), "unknown op 99"),
    (header("RECTS", 2) + record("RECTS", 0, 0, 1, 1, 0, 0, RED, 0), "overruns"),
    (header("SPRITES", 0xFFFFFFFF), "overruns"),
    (header("TEXT", 1, 5) + record("TEXT", 0, 0, 8, RED) + b"abcd", "overruns"),
    (header("TEXT", 2, 0) + record("TEXT", 0, 0, 8, RED) * 2, "expected 1"),
    (header("VIEWPORT", 1) + record("VIEWPORT", float("nan"), 0, 10, 10), "not finite"),
])
def test_malformed_lists_raise(buf: bytes, message: str) -> None:
    with pytest.raises(CommandListError, match=message) as info:
        parse(buf)
    assert isinstance(info.value, LayerWError) and isinstance(info.value, ValueError)


def test_length_beyond_buffer_raises() -> None:
    with pytest.raises(CommandListError):
        parse(b"\0" * 16, 32)


def random_sprites(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.zeros(n, abi.SPRITE.dtype)
    for name in ("x", "y", "w", "h", "sx", "sy", "sw", "sh", "rotation"):
        s[name] = rng.random(n, np.float32) * 100
    s["tint"] = rng.integers(0, 2**32, n, dtype=np.uint32)
    s["flags"] = rng.integers(0, 4, n, dtype=np.uint32)
    return s


def count_events(fn: Callable[[], Any]) -> int:
    """How many Python lines and function calls (Python or C) running ``fn`` executes."""
    events = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal events
        events += 1
        return trace

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal events
        events += event == "c_call"

    saved = sys.gettrace(), sys.getprofile()  # e.g. coverage's tracer
    sys.settrace(trace)
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.settrace(saved[0])
        sys.setprofile(saved[1])
    return events


def test_10k_sprites_parse_without_a_per_record_loop() -> None:
    lists = {}
    for n in (10, 10_000):
        w = CommandWriter()
        w.sprites(1, random_sprites(n))
        lists[n] = memoryview(bytearray(bytes(w)))
    # As many lines and calls for 10 as for 10 000 sprites: Python never iterates over records.
    parse(lists[10])  # first use loads numpy internals lazily; count steady-state calls only
    assert count_events(lambda: parse(lists[10])) == count_events(lambda: parse(lists[10_000]))
    sprites = random_sprites(10_000)
    frame = parse(lists[10_000])
    assert frame.batches[0].count == 10_000
    q = frame.instances
    for ours, theirs in (("x", "x"), ("y", "y"), ("w", "w"), ("h", "h"), ("u", "sx"), ("v", "sy"),
                         ("uw", "sw"), ("vh", "sh"), ("rotation", "rotation"), ("color", "tint"),
                         ("flags", "flags")):
        np.testing.assert_array_equal(q[ours], sprites[theirs])


class Split:
    """Stands in for a CommandWriter and writes each call as a command list of its own."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def call(*args: Any, **kwargs: Any) -> None:
            w = CommandWriter()
            getattr(w, name)(*args, **kwargs)
            self.parts.append(bytes(w))
        return call


@pytest.mark.parametrize("name", SCENES)
def test_one_instance_array_equals_each_command_converted_alone(name: str) -> None:
    """The golden scenes' instances, assembled into one array, are each command's own, in order."""
    from tests.gfx.test_renderer import SCENES

    split = Split()
    SCENES[name](split)  # type: ignore[arg-type]
    whole = parse(b"".join(split.parts))
    alone = [parse(part).instances for part in split.parts]
    np.testing.assert_array_equal(whole.instances, np.concatenate(alone))
    assert whole.instances.flags.c_contiguous


@pytest.mark.parametrize("name", SCENES)
def test_a_batch_is_shaped_exactly_when_one_of_its_instances_has_a_shape(name: str) -> None:
    from tests.gfx.test_renderer import SCENES

    w = CommandWriter()
    SCENES[name](w)
    frame = parse(bytes(w))
    quads = [b for b in frame.batches if b.pipeline == Pipeline.QUADS]
    assert quads
    for batch in quads:
        flags = frame.instances["flags"][batch.first:batch.first + batch.count]
        assert batch.shaped == bool(np.any(flags >> 8)), batch


def test_sprites_are_their_records_with_only_flips_kept_and_no_thickness() -> None:
    records = random_sprites(5_000)
    records["flags"] = np.random.default_rng(3).integers(0, 2**32, len(records), dtype=np.uint32)
    records["reserved"] = np.float32(7.5).view(np.uint32)
    w = CommandWriter()
    w.rect(0, 0, 4, 4, thickness=1, color=RED)  # an outline first: the sprites land after it
    w.sprites(1, records)
    w.text(0, 0, 8, GREEN, "a b")
    frame = parse(bytes(w))
    sprites = frame.instances[1:1 + len(records)]
    np.testing.assert_array_equal(sprites["flags"], records["flags"] & 3)
    assert not sprites["thickness"].any()
    np.testing.assert_array_equal(sprites["x"], records["x"])
    np.testing.assert_array_equal(sprites["color"], records["tint"])
    assert [(b.texture, b.count, b.shaped) for b in frame.batches] == [(0, 1, True), (1, 5_000, False), (FONT_TEXTURE, 2, False)]
