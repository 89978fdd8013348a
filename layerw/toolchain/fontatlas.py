"""FontAtlas: a TrueType/OpenType font rasterised at one pixel size into a glyph atlas and metrics.

``layerw build`` turns each ``[assets] fonts`` entry into two assets (``abi.FONT_FILE``): NAME.png,
white texels with the glyphs' coverage in alpha, and NAME.font, the metrics table the game's
``lw_font_load`` reads. FreeType (through the pinned Pillow, basic layout) rasterises once, at
build time, and the atlas ships: no host rasterises, so every host draws the same texels, and a
size is crisp because it is rasterised at that size rather than scaled. The code points come from the font's own
``cmap`` table (read here, so a glyph FreeType would draw as .notdef is never taken for a real one).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from layerw import abi
from layerw.config import FontRef
from layerw.errors import FontError

REPLACEMENT = 0xFFFD
PADDING = 1  # transparent texels between glyphs, so linear filtering never bleeds a neighbour in
_MIN_WIDTH = 64


def cmap(data: bytes, where: str) -> frozenset[int]:
    """Every code point the font's cmap maps to a glyph other than .notdef.

    # Spec: OpenType cmap table, formats 4 and 12 (https://learn.microsoft.com/typography/opentype/spec/cmap)
    """
    try:
        tag, tables = data[:4], struct.unpack_from(">H", data, 4)[0]
        if tag not in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
            raise FontError(f"{where} is not a TrueType/OpenType font (it starts {tag!r}; a collection, .ttc, "
                            "is not supported: extract one font)")
        directory = {data[12 + 16 * i:16 + 16 * i]: struct.unpack_from(">I", data, 20 + 16 * i)[0]
                     for i in range(tables)}
        base = directory.get(b"cmap")
        if base is None:
            raise FontError(f"{where} has no cmap table: it maps no code point to a glyph")
        subtables = {}
        for i in range(struct.unpack_from(">H", data, base + 2)[0]):
            platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
            subtables[(platform, encoding)] = base + offset
        for key in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0)):
            at = subtables.get(key)
            if at is not None and struct.unpack_from(">H", data, at)[0] in (4, 12):
                return _format12(data, at) if struct.unpack_from(">H", data, at)[0] == 12 else _format4(data, at)
    except struct.error as e:
        raise FontError(f"{where} is truncated or corrupt ({e})") from e
    raise FontError(f"{where} has no Unicode cmap subtable of format 4 or 12")


def _format4(data: bytes, at: int) -> frozenset[int]:
    segs = struct.unpack_from(">H", data, at + 6)[0] // 2
    ends = struct.unpack_from(f">{segs}H", data, at + 14)
    starts = struct.unpack_from(f">{segs}H", data, at + 16 + 2 * segs)
    deltas = struct.unpack_from(f">{segs}h", data, at + 16 + 4 * segs)
    range_at = at + 16 + 6 * segs
    offsets = struct.unpack_from(f">{segs}H", data, range_at)
    out: set[int] = set()
    for i, (start, end, delta, offset) in enumerate(zip(starts, ends, deltas, offsets, strict=True)):
        for c in range(start, min(end, 0xFFFE) + 1):
            if offset == 0:
                glyph = (c + delta) & 0xFFFF
            else:
                glyph = struct.unpack_from(">H", data, range_at + 2 * i + offset + 2 * (c - start))[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                out.add(c)
    return frozenset(out)


def _format12(data: bytes, at: int) -> frozenset[int]:
    groups = struct.unpack_from(">I", data, at + 12)[0]
    out: set[int] = set()
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
        out.update(c for c in range(start, min(end, 0x10FFFF) + 1) if glyph + c - start)
    return frozenset(out)


def wanted(mapped: Iterable[int], ref: FontRef) -> list[int]:
    """The code points to rasterise: mapped ones in the entry's ranges, control characters left out."""
    return sorted(c for c in mapped if not (c < 0x20 or 0x7F <= c < 0xA0)
                  and (not ref.ranges or any(lo <= c <= hi for lo, hi in ref.ranges)))


@dataclass(frozen=True)
class FontAtlas:
    """A rasterised font: the atlas (HxWx4 uint8) and the NAME.font bytes describing it."""

    atlas: np.ndarray
    table: bytes

    @classmethod
    def rasterise(cls, path: Path, ref: FontRef) -> FontAtlas:
        data = Path(path).read_bytes()
        codes = wanted(cmap(data, str(path)), ref)
        if not codes:
            raise FontError(f"{path} maps no code point in the ranges of [assets] fonts entry for {ref.file!r}")
        try:
            font = ImageFont.truetype(BytesIO(data), ref.size, layout_engine=ImageFont.Layout.BASIC)
        except OSError as e:
            raise FontError(f"{path}: FreeType cannot read it ({e})") from e
        ascent, descent = font.getmetrics()
        glyphs = [(c, *_glyph(font, chr(c))) for c in codes]  # code point, mask, dx, dy, advance
        if REPLACEMENT not in codes:  # a box the size of a capital
            w, h = max(2, ref.size // 2), max(2, ascent * 7 // 10)
            box = Image.new("L", (w, h), 0)
            ImageDraw.Draw(box).rectangle((0, 0, w - 1, h - 1), outline=255)
            glyphs.append((REPLACEMENT, box, max(1, ref.size // 12), ascent - h, w + max(2, ref.size // 6)))
            glyphs.sort(key=lambda g: g[0])
        sizes = [(0, 0) if mask is None else mask.size for _, mask, *_ in glyphs]
        width, rects = _pack(sizes)
        height = max(max(y + h for (_, y), (_, h) in zip(rects, sizes, strict=True)), 1)
        if width > abi.GPU_MAX_TEXTURE_SIZE or height > abi.GPU_MAX_TEXTURE_SIZE:
            raise FontError(f"{path} at size {ref.size} needs a {width}x{height} atlas ({len(glyphs)} glyphs), over "
                            f"{abi.GPU_MAX_TEXTURE_SIZE}: give the [assets] fonts entry code point ranges, e.g. "
                            f'"{ref.file}:{ref.size}:20-7E,A0-FF"')
        alpha = Image.new("L", (width, height), 0)
        records = np.zeros(len(glyphs), abi.GLYPH.dtype)
        for i, ((c, mask, dx, dy, advance), (x, y), (w, h)) in enumerate(zip(glyphs, rects, sizes, strict=True)):
            if mask is not None:
                alpha.paste(mask, (x, y))
            records[i] = (c, x, y, w, h, dx, dy, advance)
        rgba = np.zeros((height, width, 4), np.uint8)
        rgba[..., :3] = 255
        rgba[..., 3] = np.asarray(alpha)
        head = np.zeros(1, abi.FONT_FILE.dtype)
        head[0] = (abi.FONT_MAGIC, abi.FONT_VERSION, ref.size, ascent + descent, ascent, len(glyphs),
                   next(i for i, g in enumerate(glyphs) if g[0] == REPLACEMENT), width, height, 0)
        return cls(rgba, head.tobytes() + records.tobytes())

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write NAME.png and NAME.font below ``directory``; their paths."""
        png = directory / f"{name}{abi.FONT_ATLAS_SUFFIX}"
        table = directory / f"{name}{abi.FONT_TABLE_SUFFIX}"
        png.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.atlas, "RGBA").save(png, optimize=True)
        table.write_bytes(self.table)
        return png, table


def _glyph(font: ImageFont.FreeTypeFont, ch: str) -> tuple[Image.Image | None, int, int, int]:
    """The glyph's coverage mask (None when it draws nothing), dx, dy from the line's top, advance."""
    left, top, right, bottom = (int(v) for v in font.getbbox(ch, anchor="la"))
    advance = round(font.getlength(ch))
    if right <= left or bottom <= top:
        return None, 0, 0, advance
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), ch, font=font, fill=255, anchor="la")
    if mask.getbbox() is None:
        return None, 0, 0, advance
    return mask, left, top, advance


def _pack(sizes: list[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """Shelf-pack rects in order into the narrowest power-of-two width whose height is no more than it."""
    width = _MIN_WIDTH
    while True:
        x = y = shelf = 0
        rects = []
        for w, h in sizes:
            if x + w + PADDING > width:
                x, y, shelf = 0, y + shelf + PADDING, 0
            rects.append((x, y))
            x += w + PADDING
            shelf = max(shelf, h)
        if y + shelf <= width or width >= abi.GPU_MAX_TEXTURE_SIZE * 2:
            return width, rects
        width *= 2


def convert_fonts(assets: Path, refs: Iterable[FontRef], where: str) -> list[str]:
    """Rasterise each font below ``assets`` into its NAME.png and NAME.font, then drop the font files
    (build inputs, not for players); the asset names written, for the preload list."""
    names: list[str] = []
    used: set[Path] = set()
    for ref in refs:
        src = assets / ref.file
        if not src.is_file():
            raise FontError(f"{where}: [assets] fonts names {ref.file!r}, which is not a file below {assets}")
        atlas = FontAtlas.rasterise(src, ref)
        for suffix in (abi.FONT_ATLAS_SUFFIX, abi.FONT_TABLE_SUFFIX):
            if (assets / f"{ref.name}{suffix}").exists():
                raise FontError(f"{where}: [assets] fonts entry {ref.file}:{ref.size} makes the asset "
                                f"{ref.name}{suffix}, but the game already has an asset of that name")
        atlas.write(assets, ref.name)
        names += [f"{ref.name}{abi.FONT_ATLAS_SUFFIX}", f"{ref.name}{abi.FONT_TABLE_SUFFIX}"]
        used.add(src)
    for src in used:
        src.unlink()
    return names
