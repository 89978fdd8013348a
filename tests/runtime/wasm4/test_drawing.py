"""Drawing: the drawing module (web/wasm4fb.wasm) against the numpy Framebuffer, call for call.

Seeded random calls of every primitive, with everyday and extreme arguments (i32 and u32 ends, so
the 128-bit paths run; sizes read as i32, as WASM-4's runtimes read them), through both: after each
call the whole 64 KiB must be the same, and the warnings too (the module hands bad sprites to the
host, which says so)."""

from __future__ import annotations

import ctypes
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import wasmtime

from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.wasm4 import drawing, font
from layerw.runtime.wasm4 import memorymap as mm
from layerw.runtime.wasm4.cartimports import u32
from layerw.runtime.wasm4.framebuffer import Framebuffer

CALLS = 600  # per primitive and seed
EXTREMES = (0, 1, 2, 7, 8, 159, 160, 161, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x10000, 0xFFFF, 0x1900)


class Pair:
    """The same 64 KiB twice: a numpy array drawn by Framebuffer, a wasm memory drawn by the module."""

    def __init__(self, engine: Engine, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.oracle_warnings: list[str] = []
        self.module_warnings: list[str] = []
        self.ram = rng.integers(0, 256, mm.MEMORY_SIZE, dtype=np.uint8)  # sprites, strings, a framebuffer: noise
        self.ram[0x3000:0x3400] = rng.integers(32, 128, 0x400, dtype=np.uint8)  # and printable text with newlines
        self.ram[0x3000:0x3400:17] = 10
        self.oracle = Framebuffer(self.ram.copy(), font.glyphs(), self.oracle_warnings.append)
        self.store = wasmtime.Store(engine.wasmtime)
        engine.arm(self.store, 10_000)
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(1, 1)))
        base = ctypes.addressof(self.memory.data_ptr(self.store).contents)
        self.view = np.ctypeslib.as_array((ctypes.c_ubyte * mm.MEMORY_SIZE).from_address(base))
        self.view[:] = self.ram
        host = Framebuffer(self.view, font.glyphs(), self.module_warnings.append)

        def blit(*args: int) -> None:
            host.blit(*(u32(a) if i not in (1, 2, 3, 4) else a for i, a in enumerate(args)))  # type: ignore[arg-type]

        def text(ptr: int, x: int, y: int) -> None:
            codes = np.frombuffer(cstring(self.view, u32(ptr)), np.uint8).astype(np.int64)
            host.text(codes, x, y)

        self.funcs = drawing.instantiate(self.store, engine.compile(drawing.module_bytes()), self.memory,
                                         {"blit": blit, "text": text})

    def draw_colors(self, value: int) -> None:
        for mem in (self.oracle.memory, self.view):
            mem[mm.DRAW_COLORS], mem[mm.DRAW_COLORS + 1] = value & 0xFF, value >> 8

    def call(self, name: str, *args: int) -> None:
        fb = self.oracle
        a = [i32(v) for v in args]  # what a cart passes: i32s (sizes stay i32, the rest read as u32, as WASM-4 reads them)
        if name in ("blit", "blitSub"):
            ptr, x, y, w, h = u32(a[0]), a[1], a[2], a[3], a[4]
            sx, sy, stride, flags = (0, 0, u32(w), u32(a[5])) if name == "blit" else (u32(a[5]), u32(a[6]), u32(a[7]), u32(a[8]))
            fb.blit(ptr, x, y, w, h, sx, sy, stride, flags)
        elif name == "text":
            fb.text(np.frombuffer(cstring(fb.memory, u32(a[0])), np.uint8).astype(np.int64), a[1], a[2])
        elif name == "line":
            fb.line(*a)
        else:
            getattr(fb, name)(*a)
        self.funcs[name](self.store, *(i32(v) for v in args))


def cstring(memory: np.ndarray, ptr: int) -> bytes:
    from layerw.runtime.wasm4.trace import cstring as read

    return read(memory, ptr)


def i32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


@pytest.fixture(params=[1, 2, 3])
def pair(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Pair]:
    yield Pair(engine, request.param)


def coord(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(-24, 184)
    if roll < 0.8:
        return rng.choice(EXTREMES) * rng.choice((1, -1))
    return rng.randint(-(1 << 31), (1 << 31) - 1)


def size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(0, 64)
    if roll < 0.75:
        return rng.randint(0, 400)
    if roll < 0.9:
        return rng.choice(EXTREMES)
    return rng.randint(0, 0xFFFFFFFF)


def oval_size(rng: random.Random) -> int:
    """A size from -2048 to 2048: past the screen either way, with a walk of a few thousand steps
    (a size near -2^31 against a positive one walks some 2^60 steps, in WASM-4 too)."""
    v = i32(size(rng))
    return v if -2048 <= v <= 2048 else v % 4097 - 2048


def pointer(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.7:
        return rng.randint(0x1A00, 0xFF00)  # beside the framebuffer
    if roll < 0.8:
        return rng.randint(0, 0x1A00)  # reads the framebuffer (the host draws those)
    if roll < 0.9:
        return rng.randint(0xFF00, 0x10100)  # runs off the end (so do those)
    return rng.choice(EXTREMES)


def args(name: str, rng: random.Random) -> tuple[int, ...]:
    if name == "line":
        return tuple(coord(rng) for _ in range(4))
    if name in ("hline", "vline"):
        return coord(rng), coord(rng), size(rng)
    if name == "rect":
        return coord(rng), coord(rng), size(rng), size(rng)
    if name == "oval":  # WASM-4 walks an oval's outline step by step: a positive size costs its length
        return coord(rng), coord(rng), oval_size(rng), oval_size(rng)
    if name == "text":
        return rng.choice((rng.randint(0x3000, 0x3400), pointer(rng))), coord(rng), coord(rng)
    flags = rng.randint(0, 15)
    ptr, x, y, w, h = pointer(rng), coord(rng), coord(rng), size(rng), size(rng)
    if name == "blit":
        return ptr, x, y, w, h, flags
    return ptr, x, y, w, h, size(rng), size(rng), size(rng), flags


@pytest.mark.parametrize("name", drawing.FUNCTIONS)
def test_the_module_draws_what_the_numpy_framebuffer_draws(pair: Pair, name: str) -> None:
    rng = random.Random(f"{name}-{pair.ram[0]}")
    for i in range(CALLS):
        pair.draw_colors(rng.randint(0, 0xFFFF))
        call = args(name, rng)
        pair.call(name, *call)
        if not np.array_equal(pair.view, pair.oracle.memory):
            diff = np.flatnonzero(pair.view != pair.oracle.memory)
            pytest.fail(f"call {i}: {name}{call} differs at bytes {diff[:8]} ({len(diff)} in all)")
    assert pair.module_warnings == pair.oracle_warnings
    assert np.count_nonzero(pair.view[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE] != pair.ram[
        mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE]) > 0  # the calls drew something


def test_the_module_writes_nothing_but_the_framebuffer(pair: Pair) -> None:
    rng = random.Random(7)
    before = pair.view.copy()
    for name in drawing.FUNCTIONS:
        for _ in range(200):
            pair.draw_colors(rng.randint(0, 0xFFFF))
            pair.funcs[name](pair.store, *(i32(v) for v in args(name, rng)))
    outside = np.ones(mm.MEMORY_SIZE, bool)
    outside[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE] = False
    outside[mm.DRAW_COLORS:mm.DRAW_COLORS + 2] = False
    assert np.array_equal(pair.view[outside], before[outside])


EDGES = [  # the far ends: products past 64 bits, sizes past the screen, sprites at the end of memory
    ("line", -2_000_000_000, -2_000_000_000, 2_000_000_000, 2_000_000_000),
    ("line", -(1 << 31), 80, (1 << 31) - 1, 81), ("line", 3, -(1 << 31), 150, (1 << 31) - 1),
    ("line", (1 << 31) - 1, -(1 << 31), -(1 << 31), (1 << 31) - 1), ("line", 5, 5, 5, 5),
    ("oval", -2_000_000_000, -2_000_000_000, 0xFFFFFFFF, 0xFFFFFFFF), ("oval", -(1 << 31), 10, 0xFFFFFFFF, 100),
    ("oval", 10, -(1 << 31), 100, 0xFFFFFFFF), ("oval", -100, -100, 360, 360), ("oval", 0, 0, 1, 1),
    ("oval", -900, -700, 2000, 1600), ("oval", 5, 5, -(1 << 31), 40), ("oval", 5, 5, -40, -(1 << 31)), ("oval", 7, 9, 0, 12),
    ("rect", -(1 << 31), -(1 << 31), 0xFFFFFFFF, 0xFFFFFFFF), ("hline", -5, 159, 0xFFFFFFFF),
    ("blitSub", 0x4000, -3, -3, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0, 0, 15),
    ("blitSub", 0x4000, 0, 0, 200, 200, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1),
    ("blit", mm.MEMORY_SIZE - 4, 0, 0, 8, 8, 0), ("blit", 0xFFFFFFF0, 0, 0, 8, 8, 0xF), ("blit", 0, 0, 0, 160, 160, 1),
    ("text", 0x3000, -8, 156), ("text", mm.FRAMEBUFFER + 40, 0, 0), ("text", mm.MEMORY_SIZE - 3, 150, 150),
]


@pytest.mark.parametrize("call", EDGES, ids=lambda c: str(c[0]))
def test_the_far_ends_draw_the_same(pair: Pair, call: tuple[int | str, ...]) -> None:
    name, *rest = call
    pair.draw_colors(0x4321)
    pair.call(str(name), *(int(v) for v in rest))
    assert np.array_equal(pair.view, pair.oracle.memory) and pair.module_warnings == pair.oracle_warnings


def test_drawing_spends_the_carts_fuel(tmp_path: Path) -> None:
    """The module runs in the cart's Store, so the CPU limit counts its work: under fuel a full-screen
    rect burns at least a unit a pixel, and a budget too small for it stops it with a trap."""
    with Engine(CpuLimit.FUEL, cache=tmp_path / "modules") as fuel:
        pair = Pair(fuel, 1)
        pair.draw_colors(0x21)
        before = pair.store.get_fuel()
        pair.funcs["rect"](pair.store, 0, 0, 160, 160)
        assert before - pair.store.get_fuel() >= 160 * 160
        pair.store.set_fuel(1000)
        with pytest.raises(wasmtime.Trap):
            pair.funcs["rect"](pair.store, 0, 0, 160, 160)


def test_an_endless_oval_runs_out_of_the_carts_fuel(tmp_path: Path) -> None:
    """WASM-4's walk of oval(x, y, 40, -2^31) moves a row at a time by a step some 2^60 times
    smaller than its error: it never ends there; here the cart's CPU limit stops it with a trap."""
    with Engine(CpuLimit.FUEL, cache=tmp_path / "modules") as fuel:
        pair = Pair(fuel, 1)
        pair.draw_colors(0x21)
        pair.store.set_fuel(1_000_000)
        with pytest.raises(wasmtime.Trap):
            pair.funcs["oval"](pair.store, 5, 5, 40, -(1 << 31))
