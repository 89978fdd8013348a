"""CartImports: WASM-4's ``env`` functions, bound to one cart instance.

# Spec: https://wasm4.org/docs/reference/functions.
The drawing functions a cart calls are the drawing module's (``drawing``, wasm to wasm); those
here draw what it hands back (see there) and the UTF-8/UTF-16 text, through ``Framebuffer``.
Every argument arrives as a wasm i32 (a signed Python int): drawing sizes (width, height, a line's
length) stay i32, as WASM-4's runtimes read them (wasm4.h declares u32: a negative width draws as
there, not to the screen's edge), coordinates too; flags, pointers and other lengths are read as u32.
Nothing here raises into the cart: a pointer or size outside its 64 KiB is cut to what lies inside
(or ignored), and reported.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import wasmtime

from layerw.cart import CART_MODULE, CART_SIGNATURES
from layerw.runtime.wasm4 import trace as tr
from layerw.runtime.wasm4.disk import Disk
from layerw.runtime.wasm4.framebuffer import Framebuffer
from layerw.runtime.wasm4.memorymap import MEMORY_SIZE
from layerw.runtime.wasm4.tone import MAX_TONES_PER_TICK, ToneEvent

MAX_TRACES = 256  # the last trace lines a host keeps (tests, tools); every line is also logged
MAX_WARNINGS = 16  # warnings about a cart's bad arguments logged per instance, then one "and more"


def u32(v: int) -> int:
    return v & 0xFFFFFFFF


class CartImports:
    """The functions, over ``memory`` (the cart's 64 KiB as a writable uint8 array)."""

    def __init__(self, game: str, memory: np.ndarray, font: np.ndarray, disk: Disk, tones: list[ToneEvent],
                 traces: deque[str], tick: Callable[[], int], log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.game, self.memory, self.disk, self.tones, self.traces = game, memory, disk, tones, traces
        self.tick, self.log = tick, log
        self.tones_dropped = 0
        self._warnings = 0
        self._counted = (-1, 0)  # (tick, tone() calls kept in it)
        self.framebuffer = Framebuffer(memory, font, self.warn)

    def define(self, linker: wasmtime.Linker, store: wasmtime.Store, drawing: Mapping[str, wasmtime.Func]) -> None:
        """The cart's ``env`` functions: ``drawing``'s (the drawing module's exports) and these for the rest."""
        i32 = wasmtime.ValType.i32()
        for name, (params, results) in CART_SIGNATURES.items():
            if name in drawing:
                linker.define(store, CART_MODULE, name, drawing[name])
            else:
                linker.define_func(CART_MODULE, name, wasmtime.FuncType([i32] * params, [i32] * results),
                                   getattr(self, name))

    def warn(self, text: str) -> None:
        """Report a cart's bad argument; bounded, so a cart doing it every frame cannot flood the log."""
        self._warnings += 1
        if self._warnings <= MAX_WARNINGS:
            self.log.warning("[%s] %s%s", self.game, text,
                             "; further warnings are not logged" if self._warnings == MAX_WARNINGS else "")

    # --- drawing -----------------------------------------------------------------------------------

    def blit(self, ptr: int, x: int, y: int, w: int, h: int, flags: int) -> None:
        self.framebuffer.blit(u32(ptr), x, y, w, h, 0, 0, u32(w), u32(flags))

    def blitSub(self, ptr: int, x: int, y: int, w: int, h: int, src_x: int, src_y: int, stride: int,  # noqa: N802
                flags: int) -> None:
        self.framebuffer.blit(u32(ptr), x, y, w, h, u32(src_x), u32(src_y), u32(stride), u32(flags))

    def line(self, x1: int, y1: int, x2: int, y2: int) -> None:
        self.framebuffer.line(x1, y1, x2, y2)

    def hline(self, x: int, y: int, length: int) -> None:
        self.framebuffer.hline(x, y, length)

    def vline(self, x: int, y: int, length: int) -> None:
        self.framebuffer.vline(x, y, length)

    def oval(self, x: int, y: int, w: int, h: int) -> None:
        self.framebuffer.oval(x, y, w, h)

    def rect(self, x: int, y: int, w: int, h: int) -> None:
        self.framebuffer.rect(x, y, w, h)

    def text(self, ptr: int, x: int, y: int) -> None:
        self.framebuffer.text(np.frombuffer(tr.cstring(self.memory, u32(ptr)), np.uint8).astype(np.int64), x, y)

    def textUtf8(self, ptr: int, length: int, x: int, y: int) -> None:  # noqa: N802
        self._text(np.frombuffer(tr.span(self.memory, u32(ptr), u32(length)), np.uint8), x, y)

    def textUtf16(self, ptr: int, length: int, x: int, y: int) -> None:  # noqa: N802
        raw = tr.span(self.memory, u32(ptr), u32(length))  # cut at the end of memory: maybe an odd count
        self._text(np.frombuffer(raw[:len(raw) & ~1], "<u2"), x, y)

    def _text(self, units: np.ndarray, x: int, y: int) -> None:
        """Each code unit (a UTF-8 byte, a UTF-16 unit) is one character, up to the first NUL, as
        WASM-4 draws them: a byte string's "\\x80".."\\x87" are the button and arrow glyphs
        (Rust's b"...", Zig's and Go's strings pass such bytes through textUtf8)."""
        end = np.flatnonzero(units == 0)
        self.framebuffer.text(units[:end[0] if len(end) else len(units)].astype(np.int64), x, y)

    # --- sound and storage -------------------------------------------------------------------------

    def tone(self, frequency: int, duration: int, volume: int, flags: int) -> None:
        tick = self.tick()
        kept = self._counted[1] if self._counted[0] == tick else 0
        if kept >= MAX_TONES_PER_TICK:
            self.tones_dropped += 1
            self.warn(f"more than {MAX_TONES_PER_TICK} tone() calls in tick {tick}: the rest are dropped "
                      f"({self.tones_dropped} so far)")
            return
        self._counted = (tick, kept + 1)
        self.tones.append(ToneEvent.decode(tick, u32(frequency), u32(duration), u32(volume), u32(flags)))

    def diskr(self, ptr: int, size: int) -> int:
        ptr, size = u32(ptr), u32(size)
        if ptr >= MEMORY_SIZE:
            return 0
        data = self.disk.read(min(size, MEMORY_SIZE - ptr))
        self.memory[ptr:ptr + len(data)] = np.frombuffer(data, np.uint8)
        return len(data)

    def diskw(self, ptr: int, size: int) -> int:
        return self.disk.write(tr.span(self.memory, u32(ptr), u32(size)))

    # --- debugging ---------------------------------------------------------------------------------

    def _trace(self, text: str) -> None:
        """One trace line (already bounded: ``tr.bounded`` or ``tr.tracef``)."""
        self.traces.append(text)
        self.log.info("[%s] %s", self.game, text)

    def trace(self, ptr: int) -> None:
        self._trace(tr.bounded(tr.cstring(self.memory, u32(ptr)).decode("utf-8", "replace")))

    def traceUtf8(self, ptr: int, length: int) -> None:  # noqa: N802
        self._trace(tr.bounded(tr.span(self.memory, u32(ptr), u32(length)).decode("utf-8", "replace")))

    def traceUtf16(self, ptr: int, length: int) -> None:  # noqa: N802
        self._trace(tr.bounded(tr.span(self.memory, u32(ptr), u32(length) & ~1).decode("utf-16-le", "replace")))

    def tracef(self, fmt: int, args: int) -> None:
        self._trace(tr.tracef(self.memory, u32(fmt), u32(args)))
