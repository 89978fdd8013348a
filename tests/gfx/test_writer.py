"""CommandWriter writes the bytes layerw.h's C helpers write (compiled by zig, run by wasmtime)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import wasmtime

from layerw import abi
from layerw.gfx.commands import parse
from layerw.gfx.writer import CommandWriter, rgba
from layerw.toolchain import zig

INCLUDE = Path(abi.__file__).parent / "toolchain" / "include"

# Each scene is C (inside `lw_frame *f`) and the same calls on a CommandWriter `w`; the
# sequences exercise batching: same op and arg merge, anything in between or TEXT breaks a batch.
SCENE_C = r"""
    lw_clear(f, 0xFF102030u);
    lw_rect(f, 1, 2, 3, 4, 0.5f, 0, 0xFFFFFFFFu);
    lw_rect(f, 5, 6, 7, 8, 0, 2, 0xFF0000FFu);
    lw_circle(f, 9, 9, 4, 1, 0x80FF00FFu);
    lw_rect(f, 1, 1, 1, 1, 0, 0, 1u);
    lw_text(f, 3, 4, 12, 0xFFFFFFFFu, "hello");
    lw_rect(f, 5, 6, 7, 8, 0, 2, 0xFF0000FFu);
    lw_line(f, 0, 0, 10, 10, 2, 0xFF00FF00u);
    lw_line(f, 1, 0, 10, 10, 2, 0xFF00FF00u);
    lw_sprite(f, 3, 1, 2, 16, 16, 0, 0, 8, 8, 0.25f, 0xFFFFFFFFu, 1);
    lw_sprite(f, 3, 5, 2, 16, 16, 8, 0, 8, 8, 0, 0xFF808080u, 2);
    lw_sprite(f, 4, 5, 2, 16, 16, 8, 0, 8, 8, 0, 0xFF808080u, 0);
    lw_transform(f, 2, 0, 0, 2, 10, 20);
    lw_viewport(f, 0, 0, 80, 60);
    lw_vertex(f, 4, 0, 0, 0, 0, 0xFFFFFFFFu);
    lw_vertex(f, 4, 10, 0, 1, 0, 0xFFFFFFFFu);
    lw_vertex(f, 4, 0, 10, 0, 1, 0xFFFFFFFFu);
    lw_text(f, 0, 0, 8, 0xFF0000FFu, "");
    lw_text(f, 0, 0, 8, 0xFF0000FFu, "abcd");
    lw_viewport(f, 0, 0, 0, 0);
"""


def scene_py(w: CommandWriter) -> None:
    w.clear(0xFF102030)
    w.rect(1, 2, 3, 4, 0.5, 0, 0xFFFFFFFF)
    w.rect(5, 6, 7, 8, 0, 2, 0xFF0000FF)
    w.circle(9, 9, 4, 1, 0x80FF00FF)
    w.rect(1, 1, 1, 1, 0, 0, 1)
    w.text(3, 4, 12, 0xFFFFFFFF, "hello")
    w.rect(5, 6, 7, 8, 0, 2, 0xFF0000FF)
    w.line(0, 0, 10, 10, 2, 0xFF00FF00)
    w.line(1, 0, 10, 10, 2, 0xFF00FF00)
    w.sprite(3, 1, 2, 16, 16, 0, 0, 8, 8, 0.25, 0xFFFFFFFF, 1)
    w.sprite(3, 5, 2, 16, 16, 8, 0, 8, 8, 0, 0xFF808080, 2)
    w.sprite(4, 5, 2, 16, 16, 8, 0, 8, 8, 0, 0xFF808080, 0)
    w.transform(2, 0, 0, 2, 10, 20)
    w.viewport(0, 0, 80, 60)
    w.vertex(4, 0, 0, 0, 0, 0xFFFFFFFF)
    w.vertex(4, 10, 0, 1, 0, 0xFFFFFFFF)
    w.vertex(4, 0, 10, 0, 1, 0xFFFFFFFF)
    w.text(0, 0, 8, 0xFF0000FF, "")
    w.text(0, 0, 8, 0xFF0000FF, "abcd")
    w.viewport(0, 0, 0, 0)


PROGRAM = r"""
#include "layerw.h"
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static uint8_t buf[4096];
static uint32_t dropped;
static void scene(lw_frame *f) {
%s
}
__attribute__((export_name("frame"))) uint32_t frame(uint32_t cap) {
    lw_frame f = { buf, 0, cap, 0xFFFFFFFFu, 0 };
    scene(&f);
    dropped = f.dropped;
    return f.len;
}
__attribute__((export_name("dropped"))) uint32_t get_dropped(void) { return dropped; }
__attribute__((export_name("buf"))) uint8_t *get_buf(void) { return buf; }
"""


@pytest.fixture(scope="module")
def c_frame(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], tuple[bytes, int]]:
    """frame(capacity) -> (bytes, dropped) from the C helpers, compiled freestanding to wasm."""
    d = tmp_path_factory.mktemp("cwriter")
    (d / "scene.c").write_text(PROGRAM % SCENE_C)
    out = zig.run(["cc", "-target", "wasm32-freestanding", "-nostdlib", "-Wl,--no-entry", "-O1",
                   "-w", f"-I{INCLUDE}", "scene.c", "-o", "scene.wasm"], cwd=d)
    assert out.returncode == 0, out.stderr
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module.from_file(engine, d / "scene.wasm"),
                                []).exports(store)

    def run(capacity: int) -> tuple[bytes, int]:
        n = exports["frame"](store, capacity)
        at = exports["buf"](store)
        data = bytes(exports["memory"].read(store, at, at + n))
        return data, exports["dropped"](store)

    return run


@pytest.mark.parametrize("capacity", [4096, 200, 37])
def test_bytes_match_the_c_helpers(c_frame: Callable[[int], tuple[bytes, int]], capacity: int) -> None:
    expected, dropped = c_frame(capacity)
    w = CommandWriter(capacity)
    scene_py(w)
    assert bytes(w) == expected
    assert w.dropped == dropped
    if capacity == 4096:
        assert dropped == 0 and len(parse(expected).batches) == 7
    else:
        assert dropped > 0


def test_bulk_sprites_equal_one_by_one() -> None:
    sprites = np.zeros(3, abi.SPRITE.dtype)
    sprites["x"] = [1, 2, 3]
    sprites["tint"] = 0xFFFFFFFF
    one, bulk = CommandWriter(), CommandWriter()
    for s in sprites:
        one.sprite(7, float(s["x"]), 0, 0, 0, 0, 0, 0, 0)
    bulk.sprite(7, 1, 0, 0, 0, 0, 0, 0, 0)
    bulk.sprites(7, sprites[1:])
    assert bytes(one) == bytes(bulk)
    partial = np.zeros(3, [("x", "<f8"), ("tint", "<u4")])  # fields by name, the rest zero
    partial["x"], partial["tint"] = [1, 2, 3], 0xFFFFFFFF
    fields = CommandWriter()
    fields.sprites(7, partial)
    assert bytes(fields) == bytes(one)


def test_rgba_packs_r_in_the_low_byte() -> None:
    assert rgba(1, 2, 3, 4).to_bytes(4, "little") == bytes([1, 2, 3, 4])
    assert rgba(255, 0, 0) == 0xFF0000FF


def test_reset_starts_a_new_frame() -> None:
    w = CommandWriter()
    w.rect(0, 0, 1, 1)
    w.reset()
    w.rect(0, 0, 1, 1)
    one = CommandWriter()
    one.rect(0, 0, 1, 1)
    assert bytes(w) == bytes(one) and len(w) == 16 + abi.RECT.size
