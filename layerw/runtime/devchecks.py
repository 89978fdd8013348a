"""DevChecks: the contract checked as a game runs (``layerw dev``, ``layerw run --dev``).

A release run trusts the game; a dev run watches for what otherwise fails silently and reports each
problem once, with its tick, to the log (fields ``check``, ``tick``, ``game``) and to ``report``:

- ``render-state``: lw_render changed the game state (the state bytes before and after differ; a
  room's server never renders, so such a game desyncs every client that draws);
- ``missing-asset``: asset_request named no asset of the game;
- ``host-call``: a host function refused a call (bad pointer, length, handle or name) and why;
- ``unknown-texture``: a SPRITES or TRIANGLES command names a handle that is no ready image;
- ``source-rect``: a sprite's source rect reaches outside its texture;
- ``missing-glyph``: lw_font_text drew a font's replacement glyph for a code point the font lacks
  (the sprite's ``reserved`` holds it; once per font and code point);
- ``guard-write``: the low guard bytes [0, GUARD_BYTES) of memory, the bottom of the shadow stack,
  are no longer zero after a call: a write through a NULL (or near-NULL) pointer, or a stack overflow.

Nothing here runs in a release run: hosts call in only while ``checks`` is set.
"""

from __future__ import annotations

import logging
import struct
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from layerw import abi
from layerw.runtime.assets import AssetTable
from layerw.runtime.gamehost import GameHost
from layerw.runtime.iolayout import IoLayout
from layerw.runtime.snapshot import PAGE

GUARD_BYTES = 1024
MAX_PROBLEMS = 256  # distinct problems kept (each reported once)
KINDS: tuple[str, ...] = ("render-state", "missing-asset", "host-call", "unknown-texture", "source-rect", "guard-write",
                          "missing-glyph")
_HEADER = struct.Struct("<4I")
_TEXTURED = {op.code: op for op in abi.OPS if op.name in ("SPRITES", "TRIANGLES")}
_TEXT = next(op.code for op in abi.OPS if op.name == "TEXT")
_SPRITES = next(op.code for op in abi.OPS if op.name == "SPRITES")
_SOURCE = slice(abi.SPRITE.offsets["sx"] // 4, abi.SPRITE.offsets["sh"] // 4 + 1)
_MISSING = abi.SPRITE.offsets["reserved"] // 4


class CheckedHost(Protocol):
    """What the checks read of a game host (``MemoryHost`` is one)."""

    name: str
    tick_count: int
    io: IoLayout
    assets: AssetTable

    @property
    def log(self) -> logging.LoggerAdapter[Any]: ...

    def _read(self, begin: int, end: int) -> bytes | memoryview: ...

    def _pages(self) -> int: ...


@dataclass(frozen=True)
class Problem:
    kind: str  # one of KINDS
    tick: int
    message: str


class DevChecks:
    """The checks of one game host; ``report`` hears each new problem (the log always does)."""

    def __init__(self, game: CheckedHost, report: Callable[[Problem], None] | None = None) -> None:
        self.game = weakref.proxy(game)  # the game holds its checks
        self.report = report
        self.problems: list[Problem] = []
        self._seen: set[tuple[str, str]] = set()
        self._zeros = bytes(GUARD_BYTES)
        self._guarded = game.io.state_begin >= GUARD_BYTES and not any(game._read(0, GUARD_BYTES))

    def problem(self, kind: str, key: str, message: str) -> None:
        """Report ``message`` unless a problem of this kind and key was reported before."""
        if (kind, key) in self._seen or len(self._seen) >= MAX_PROBLEMS:
            return
        self._seen.add((kind, key))
        found = Problem(kind, self.game.tick_count, message)
        self.problems.append(found)
        self.game.log.warning("[%s] dev check %s at tick %d: %s", self.game.name, kind, found.tick, message,
                              extra={"check": kind})
        if self.report is not None:
            self.report(found)

    # --- what the host calls in ------------------------------------------------------------------

    def host_call(self, func: str, reason: str) -> None:
        if func == "asset_request" and reason.startswith("no asset named"):
            self.problem("missing-asset", reason, f"asset_request: {reason}")
        else:
            self.problem("host-call", func, f"{func} refused: {reason}")

    def after_call(self, call: str) -> None:
        """After lw_tick or lw_render: the guard bytes are still zero."""
        if not self._guarded:
            return
        low = bytes(self.game._read(0, GUARD_BYTES))
        if low != self._zeros:
            at = next(i for i, b in enumerate(low) if b)
            self.problem("guard-write", "", f"{call} wrote into the low guard bytes [0, {GUARD_BYTES}) of memory "
                         f"(first at address {at}): a write through a NULL or near-NULL pointer, or the shadow stack "
                         f"({abi.STACK_SIZE} bytes) overflowed")
            self._guarded = False  # reported; the bytes stay as the game left them

    def render(self, render: Callable[[], memoryview]) -> memoryview:
        """Run ``render`` (the backend's lw_render) between two copies of the state, then check its commands."""
        before = self._state()
        frame = render()
        after = self._state()
        if before != after:
            self.problem("render-state", "", self._state_change(before, after))
        self.after_call("lw_render")
        self.commands(frame)
        return frame

    def _state(self) -> bytes:
        g = self.game
        return b"".join((g._read(g.io.state_begin, g.io.cmd_ptr), g._read(g.io.cmd_end, g._pages() * PAGE)))

    def _state_change(self, before: bytes, after: bytes) -> str:
        n = min(len(before), len(after))
        a, b = np.frombuffer(before[:n], np.uint8), np.frombuffer(after[:n], np.uint8)
        diff = np.flatnonzero(a != b)
        io = self.game.io
        where = []
        if len(diff):
            first, last = (int(x) for x in (diff[0], diff[-1]))
            split = io.cmd_ptr - io.state_begin

            def to_address(i: int) -> int:  # offsets in the state bytes skip the command buffer
                return int(i + io.state_begin if i < split else i - split + io.cmd_end)

            where.append(f"1 byte changed at address {to_address(first)}" if len(diff) == 1 else
                         f"{len(diff)} bytes changed between addresses {to_address(first)} and {to_address(last)}")
        if len(after) != len(before):
            where.append(f"memory grew by {(len(after) - len(before)) // 65536} pages")
        return (f"lw_render changed the game state ({'; '.join(where)}): render must only draw. A heap "
                "allocation (malloc, new, std::string, std::vector) or a write to a global in render makes the "
                "state depend on how often frames are drawn, and desyncs rooms, whose server never renders")

    def commands(self, frame: memoryview) -> None:
        """Each textured command names a ready image; each sprite's source rect lies inside it."""
        at, end = 0, len(frame)
        while at + _HEADER.size <= end:
            code, count, arg, _ = _HEADER.unpack_from(frame, at)
            op = abi.OP_BY_CODE.get(code)
            if op is None:
                return  # the renderer's parser reports a malformed list
            body = at + _HEADER.size
            size = op.record.size + ((arg + 3) & ~3) if code == _TEXT else op.record.size * count
            if body + size > end:
                return
            if code in _TEXTURED and arg != abi.NO_TEXTURE and count:
                self._texture(op.name, arg, frame[body:body + size] if code == _SPRITES else None, count)
            at = body + size

    def _texture(self, op: str, handle: int, sprites: memoryview | None, count: int) -> None:
        asset = self.game.assets.get(handle)
        if asset is None or not asset.ready or asset.image is None:
            why = ("no asset has this handle" if asset is None else f"asset {asset.name!r} is not ready yet"
                   if not asset.ready else f"asset {asset.name!r} is not an image")
            self.problem("unknown-texture", str(handle), f"{op} draws with texture {handle}: {why}; it draws nothing")
            return
        if sprites is None:
            return
        self._glyphs(handle, asset.name, np.frombuffer(sprites, np.uint32).reshape(count, -1)[:, _MISSING])
        h, w = asset.image.shape[:2]
        src = np.frombuffer(sprites, np.float32).reshape(count, -1)[:, _SOURCE]
        x0, y0 = np.minimum(src[:, 0], src[:, 0] + src[:, 2]), np.minimum(src[:, 1], src[:, 1] + src[:, 3])
        x1, y1 = np.maximum(src[:, 0], src[:, 0] + src[:, 2]), np.maximum(src[:, 1], src[:, 1] + src[:, 3])
        with np.errstate(invalid="ignore"):
            bad = ~((x0 >= 0) & (y0 >= 0) & (x1 <= w) & (y1 <= h))  # NaN is out of range too
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            sx, sy, sw, sh = (float(v) for v in src[i])
            self.problem("source-rect", f"{handle}", f"SPRITES with texture {handle} ({asset.name!r}, {w}x{h}): "
                         f"sprite {i} of {count} has source rect ({sx:g}, {sy:g}, {sw:g}, {sh:g}) reaching outside it "
                         f"({int(bad.sum())} such sprites in this command)")

    def _glyphs(self, handle: int, atlas: str, missing: np.ndarray) -> None:
        for code in np.unique(missing[missing != 0]).tolist():
            what = ("malformed UTF-8 (a byte that starts or continues no code point)" if code == 0xFFFFFFFF
                    else f"U+{code:04X} {chr(code)!r}, which the font lacks (add it to the font's [assets] fonts "
                    "ranges, or pick a font that has it)" if code <= 0x10FFFF else f"the value {code}")
            self.problem("missing-glyph", f"{handle}:{code}",
                         f"lw_font_text drew the replacement glyph of the font with atlas {atlas!r} for {what}")


def render_changes_state(game: GameHost) -> bool:
    """Whether rendering ``game`` now changes its state; the game is left as it was (a room and a
    client ask this once, after a desync: a server never renders, a client that draws does)."""
    snap = game.snapshot()
    before = game.state_hash()
    game.render()
    changed = game.state_hash() != before
    if changed:
        game.restore(snap)
    return changed
