"""Framebuffer: WASM-4's drawing functions on the 2-bit framebuffer inside the cart's memory.

# Spec: https://wasm4.org/docs/reference/functions (drawing) and /docs/guides/basic-drawing.
The framebuffer is 160x160 pixels, 4 to a byte with the leftmost pixel in the lowest bits, at
``FRAMEBUFFER`` in the cart's own memory (carts may also write it directly). Every primitive
colours its pixels through DRAW_COLORS: field n (4 bits, n = 1..4) is 0 for transparent or a
palette index plus one. Each primitive is clipped to the screen before any array is built, so
its cost is bounded by the screen, never by the cart's sizes (i32: WASM-4's runtimes read them signed;
an oval, walked as WASM-4 walks it, costs what it costs there), and touches only the bytes of
the rows and columns it covers: unpacked to one byte a pixel, written, packed back (numpy, no
per-pixel Python loop). Sprite reads past the end of memory are not drawn and are reported.
A cart's draws run in the drawing module (``drawing``, the same pixels in wasm); this draws what
that module hands back and textUtf8/textUtf16, reads the screen out, and is the module's test oracle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from layerw.runtime.wasm4 import memorymap as mm

SHIFTS = np.array([0, 2, 4, 6], np.uint8)
TRANSPARENT = -1
PRINTABLE_FIRST = 32  # characters below it (but '\n') draw nothing and advance one cell


def colour_table(draw_colors: int, n: int) -> np.ndarray:
    """Palette index (or TRANSPARENT) for pixel values 0..n-1 through DRAW_COLORS."""
    fields = [(draw_colors >> (4 * i)) & 0xF for i in range(n)]
    return np.array([((f - 1) & 3) if f else TRANSPARENT for f in fields], np.int16)


POINT, SPAN = 0, 1  # oval_walk's steps: an outline pixel (x, y), or the inside columns [x0, x1) of row y


def oval_walk(x: int, y: int, w: int, h: int) -> Iterator[tuple[int, int, int, int]]:
    """WASM-4's oval, step by step, as its runtime draws it (a midpoint ellipse after TIC-80's, in
    the box [x, x + w) x [y, y + h)): (POINT, x, y, 0) an outline pixel, (SPAN, x0, y, x1) a row's
    inside, both unclipped and in drawing order. Its decision terms are JavaScript numbers (doubles,
    so Python floats, in the same order of operations: huge sizes round exactly as there). Its cost
    is WASM-4's, proportional to the larger size; the drawing module runs it on the cart's fuel."""
    a = float(w - 1)
    b = float(h - 1)
    odd = math.fmod(b, 2.0)  # JavaScript's %: the sign of the dividend
    north = y + (h // 2)
    west, east = x, x + w - 1
    south = north - int(odd)
    dx = 4 * (1 - a) * b * b
    dy = 4 * (odd + 1) * a * a
    err = dx + dy + odd * a * a
    a = a * (8 * a)
    odd = 8 * b * b
    while True:
        yield POINT, east, north, 0
        yield POINT, west, north, 0
        yield POINT, west, south, 0
        yield POINT, east, south, 0
        if east - (west + 1) > 0:
            yield SPAN, west + 1, north, east
            yield SPAN, west + 1, south, east
        err2 = 2 * err
        if err2 <= dy:
            north, south = north + 1, south - 1
            dy += a
            err += dy
        if err2 >= dx or 2 * err > dy:
            west, east = west + 1, east - 1
            dx += odd
            err += dx
        if west > east:
            break
    while north - south < h:
        yield POINT, west - 1, north, 0
        yield POINT, east + 1, north, 0
        north += 1
        yield POINT, west - 1, south, 0
        yield POINT, east + 1, south, 0
        south -= 1


class Framebuffer:
    """The drawing primitives over ``memory`` (the cart's whole 64 KiB, a writable uint8 view)."""

    def __init__(self, memory: np.ndarray, font: np.ndarray, warn: Callable[[str], None]) -> None:
        assert memory.dtype == np.uint8 and memory.shape == (mm.MEMORY_SIZE,)
        self.memory = memory
        self.font = font  # (256, 8, 8) bool, True where a glyph has ink
        self.warn = warn
        self.bytes = memory[mm.FRAMEBUFFER:mm.FRAMEBUFFER + mm.FRAMEBUFFER_SIZE].reshape(mm.SCREEN, mm.ROW_BYTES)

    # --- registers ---------------------------------------------------------------------------------

    @property
    def draw_colors(self) -> int:
        return int(self.memory[mm.DRAW_COLORS]) | int(self.memory[mm.DRAW_COLORS + 1]) << 8

    def _colour(self, field: int) -> int:
        """Palette index of DRAW_COLORS field ``field`` (0-based), or TRANSPARENT."""
        return int(colour_table(self.draw_colors >> (4 * field), 1)[0])

    def clear(self) -> None:
        self.bytes[...] = 0

    def indices(self) -> np.ndarray:
        """The whole screen as palette indices, (160, 160) uint8."""
        return ((self.bytes[:, :, None] >> SHIFTS) & 3).reshape(mm.SCREEN, mm.SCREEN)

    def rgba(self) -> np.ndarray:
        """The screen through PALETTE as an HxWx4 RGBA image (what the player sees)."""
        words = self.memory[mm.PALETTE:mm.PALETTE + 16].view("<u4")
        table = np.empty((4, 4), np.uint8)
        table[:, 0], table[:, 1], table[:, 2] = words >> 16, words >> 8, words
        table[:, 3] = 255
        rgba: np.ndarray = table[self.indices()]
        return rgba

    # --- writing pixels ----------------------------------------------------------------------------

    def _put(self, x: int, y: int, colours: np.ndarray | int, w: int = 0, h: int = 0) -> None:
        """Write an on-screen block at (x, y): an (h, w) array of palette indices (TRANSPARENT
        leaves a pixel), or one index for a solid w x h block."""
        if isinstance(colours, np.ndarray):
            h, w = colours.shape
        if w <= 0 or h <= 0:
            return
        b0, b1 = x >> 2, (x + w + 3) >> 2
        rows = self.bytes[y:y + h, b0:b1]
        pixels = ((rows[:, :, None] >> SHIFTS) & 3).reshape(h, -1)
        block = pixels[:, x - 4 * b0:x - 4 * b0 + w]
        if isinstance(colours, np.ndarray):
            mask = colours >= 0
            block[mask] = colours[mask]
        else:
            block[...] = colours
        p = pixels.reshape(h, -1, 4)
        rows[...] = p[..., 0] | p[..., 1] << 2 | p[..., 2] << 4 | p[..., 3] << 6

    @staticmethod
    def _clip(start: int, size: int) -> tuple[int, int]:
        """The on-screen part [a, b) of [start, start + size) (a >= b when none is)."""
        return max(start, 0), min(start + size, mm.SCREEN)

    # --- primitives --------------------------------------------------------------------------------

    def rect(self, x: int, y: int, w: int, h: int) -> None:
        """As WASM-4 draws it (sizes signed): the on-screen part of [x, x + w) x [y, y + h) filled with
        DRAW_COLORS 1, then with DRAW_COLORS 2 columns x and x + w - 1 down that part's rows and rows
        y and y + h - 1 across its columns, each where it lies on screen. So a flat rect (a size 0) is
        two edges, columns x - 1 and x or rows y - 1 and y, and a negative width (height) two columns
        (rows) where the height (width) is positive."""
        (x0, x1), (y0, y1) = self._clip(x, w), self._clip(y, h)
        fill, stroke = self._colour(0), self._colour(1)
        if fill != TRANSPARENT:
            self._put(x0, y0, fill, x1 - x0, y1 - y0)
        if stroke == TRANSPARENT:
            return
        for col in (x, x + w - 1):
            if 0 <= col < mm.SCREEN:
                self._put(col, y0, stroke, 1, y1 - y0)
        for row in (y, y + h - 1):
            if 0 <= row < mm.SCREEN:
                self._put(x0, row, stroke, x1 - x0, 1)

    def hline(self, x: int, y: int, length: int) -> None:
        """Pixels (x, y) .. (x + length - 1, y) in DRAW_COLORS 1 (none for a negative length, as WASM-4)."""
        colour = self._colour(0)
        x0, x1 = self._clip(x, length)
        if colour != TRANSPARENT and 0 <= y < mm.SCREEN:
            self._put(x0, y, colour, x1 - x0, 1)

    def vline(self, x: int, y: int, length: int) -> None:
        """Pixels (x, y) .. (x, y + length - 1) in DRAW_COLORS 1 (none for a negative length, as WASM-4)."""
        colour = self._colour(0)
        y0, y1 = self._clip(y, length)
        if colour != TRANSPARENT and 0 <= x < mm.SCREEN:
            self._put(x, y0, colour, 1, y1 - y0)

    def line(self, x1: int, y1: int, x2: int, y2: int) -> None:
        """Both end points and, along the longer axis, the pixel nearest the ideal line at each
        step (a Bresenham line, as WASM-4 draws it: it runs from the upper end point, and a tie
        rounds toward that end), in DRAW_COLORS 1. Only the on-screen steps are computed (exact
        integers: the i32 ends may be far off)."""
        colour = self._colour(0)
        if colour == TRANSPARENT:
            return
        if y1 > y2:
            x1, y1, x2, y2 = x2, y2, x1, y1
        dx, dy = x2 - x1, y2 - y1
        if abs(dx) >= abs(dy):
            xs, ys = self._steps(x1, y1, x2, dx, dy)
        else:
            ys, xs = self._steps(y1, x1, y2, dy, dx)
        keep = (xs >= 0) & (xs < mm.SCREEN) & (ys >= 0) & (ys < mm.SCREEN)
        xs, ys = xs[keep], ys[keep]
        if len(xs):
            self._points(xs, ys, colour)

    @staticmethod
    def _steps(a1: int, b1: int, a2: int, da: int, db: int) -> tuple[np.ndarray, np.ndarray]:
        """On-screen major-axis coordinates between a1 and a2 and the minor coordinate of each."""
        lo, hi = max(min(a1, a2), 0), min(max(a1, a2), mm.SCREEN - 1)
        if lo > hi:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if da == 0:
            return np.array([a1], np.int64), np.array([b1], np.int64)
        a = list(range(lo, hi + 1))
        # b = b1 + round((a - a1) * db / da), a tie toward b1 (the upper end point's; Python ints: the
        # products exceed 64 bits): floor(x + 1/2) rounds a tie up, ceil(x - 1/2) down, as - (n - 1)
        half = abs(da) - (db >= 0)
        b = [b1 + (2 * (v - a1) * db + half) // (2 * da) if da > 0 else
             b1 + (2 * (a1 - v) * db + half) // (2 * -da) for v in a]
        return np.array(a, np.int64), np.array([min(max(v, -1), mm.SCREEN) for v in b], np.int64)

    def _points(self, xs: np.ndarray, ys: np.ndarray, colour: int) -> None:
        x0, y0 = int(xs.min()), int(ys.min())
        block = np.full((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), TRANSPARENT, np.int16)
        block[ys - y0, xs - x0] = colour
        self._put(x0, y0, block)

    def oval(self, x: int, y: int, w: int, h: int) -> None:
        """WASM-4's oval (sizes signed): see ``oval_walk``. DRAW_COLORS 2 of 0xF draws nothing at all,
        and 0 outlines in palette colour 3 (WASM-4 takes (0 - 1) & 3); DRAW_COLORS 1 of 0 leaves the
        inside. The walk's steps are drawn in order onto a screen-sized canvas, then put at once."""
        colors = self.draw_colors
        fill_field, stroke_field = colors & 0xF, (colors >> 4) & 0xF
        if stroke_field == 0xF:
            return
        stroke, fill = (stroke_field - 1) & 3, (fill_field - 1) & 3 if fill_field else TRANSPARENT
        canvas = np.full((mm.SCREEN, mm.SCREEN), TRANSPARENT, np.int16)
        for kind, a, row, b in oval_walk(x, y, w, h):
            if not 0 <= row < mm.SCREEN:
                continue
            if kind == POINT and 0 <= a < mm.SCREEN:
                canvas[row, a] = stroke
            elif kind == SPAN and fill != TRANSPARENT and max(a, 0) < min(b, mm.SCREEN):
                canvas[row, max(a, 0):min(b, mm.SCREEN)] = fill
        self._put(0, 0, canvas)

    def blit(self, ptr: int, x: int, y: int, w: int, h: int, src_x: int, src_y: int, stride: int,
             flags: int) -> None:
        """Copy a w x h region at (src_x, src_y) of a sprite ``stride`` pixels wide stored at
        ``ptr`` (1 or 2 bits a pixel, rows packed most significant bits first), flipped, then
        rotated a quarter turn anti-clockwise, as ``flags`` say; pixel value v in DRAW_COLORS v+1.
        The whole sprite is read before any pixel is written: a sprite overlapping the framebuffer
        reads it as it was before this call (web/wasm4-framebuffer.js does the same)."""
        bpp = 2 if flags & mm.BLIT_2BPP else 1
        rotate = bool(flags & mm.BLIT_ROTATE)
        dw, dh = (h, w) if rotate else (w, h)
        (tx0, tx1), (ty0, ty1) = self._clip(x, dw), self._clip(y, dh)
        if tx0 >= tx1 or ty0 >= ty1:
            return
        u = np.arange(tx0 - x, tx1 - x, dtype=np.int64)  # destination offsets across
        v = np.arange(ty0 - y, ty1 - y, dtype=np.int64)  # and down
        # flipped-then-rotated destination (u, v) shows sprite pixel (fx, fy) of the flipped sprite
        fx, fy = ((w - 1) - v, u) if rotate else (u, v)
        sx = (w - 1) - fx if flags & mm.BLIT_FLIP_X else fx
        sy = (h - 1) - fy if flags & mm.BLIT_FLIP_Y else fy
        limit = (mm.MEMORY_SIZE - ptr) * 8 // bpp  # pixel indices inside memory: [0, limit)
        # index = (src_y + sy) * stride + src_x + sx: the row part may exceed 64 bits, so Python ints
        row = [min((src_y + int(s)) * stride + src_x, limit) for s in sy]
        index = np.array(row, np.int64)[:, None] + sx[None, :] if not rotate else \
            np.array(row, np.int64)[None, :] + sx[:, None]
        inside = (index >= 0) & (index < limit)
        if not inside.all():
            self.warn(f"blit reads past the end of memory (sprite at {ptr}, {w}x{h}, stride {stride}): "
                      "those pixels are not drawn")
        index = np.where(inside, index, 0)
        bits = index * bpp
        data = self.memory[np.minimum(ptr + (bits >> 3), mm.MEMORY_SIZE - 1)]
        values = (data >> (8 - bpp - (bits & 7)).astype(np.uint8)) & ((1 << bpp) - 1)
        colours = np.where(inside, colour_table(self.draw_colors, 1 << bpp)[values], TRANSPARENT)
        self._put(tx0, ty0, colours.astype(np.int16))

    def text(self, codes: np.ndarray, x: int, y: int) -> None:
        """Characters (code points) from (x, y) in the 8x8 font: ink in DRAW_COLORS 1, the rest of
        each cell in DRAW_COLORS 2; '\\n' starts a new line at x, 8 pixels down; codes from 32 to
        255 are drawn, any other advances one cell and draws nothing."""
        if not len(codes):
            return
        newline = codes == 10
        line = np.cumsum(newline) - newline  # line of each character (a newline ends its line)
        starts = np.flatnonzero(np.concatenate(([True], newline[:-1])))
        column = np.arange(len(codes)) - starts[line]
        cx, cy = x + 8 * column, y + 8 * line
        show = (~newline & (codes >= PRINTABLE_FIRST) & (codes <= 255)
                & (cx > -8) & (cx < mm.SCREEN) & (cy > -8) & (cy < mm.SCREEN))
        if not show.any():
            return
        ink, bg = self._colour(0), self._colour(1)
        glyphs = np.where(self.font[codes[show]], ink, bg).astype(np.int16)  # (n, 8, 8)
        canvas = np.full((mm.SCREEN + 16, mm.SCREEN + 16), TRANSPARENT, np.int16)  # 8 pixels of margin
        ry, rx = np.mgrid[0:8, 0:8]
        canvas[(cy[show] + 8)[:, None, None] + ry, (cx[show] + 8)[:, None, None] + rx] = glyphs
        top, bottom = max(int(cy[show].min()), 0), min(int(cy[show].max()) + 8, mm.SCREEN)
        self._put(0, top, canvas[top + 8:bottom + 8, 8:-8])
