"""DevNotes: what `layerw dev` tells the developer, drawn over the game in its window.

The terminal hears every line; the window shows the ones that need a look (a dev check's problem
with its tick, a failed build's compiler errors, a successful build's warnings, a crash) at the
bottom of the frame, newest last, until the developer dismisses them (``DISMISS_KEY``). The overlay
is a command list drawn after the game's (viewport and transform reset first), like the timing
overlay, so it never reaches the game's state.
"""

from __future__ import annotations

import textwrap
from collections import deque

from layerw import abi
from layerw.gfx.writer import CommandWriter, rgba

DISMISS_KEY = "F2"
DISMISS_CODE = abi.KEYS.index(DISMISS_KEY)
MAX_NOTES = 32  # kept; older ones drop off
MAX_LINES = 10  # drawn (the newest)
TEXT_SIZE = 8.0
BACKDROP = rgba(40, 30, 0, 220)
INK = rgba(255, 230, 140)
TITLE = rgba(255, 255, 255)


class DevNotes:
    """Notes to show over the game until dismissed."""

    def __init__(self) -> None:
        self.notes: deque[str] = deque(maxlen=MAX_NOTES)
        self._held = False

    def add(self, text: str) -> None:
        self.notes.append(text)

    def dismiss(self) -> None:
        self.notes.clear()

    def keys(self, held: frozenset[int] | set[int] | tuple[int, ...]) -> None:
        """A window's keys this frame: pressing DISMISS_KEY (not holding it) dismisses every note."""
        down = DISMISS_CODE in held
        if down and not self._held:
            self.dismiss()
        self._held = down

    def lines(self, width: float) -> list[str]:
        """The newest notes wrapped to ``width`` game pixels, at most MAX_LINES."""
        columns = max(8, int((width - 8) / (TEXT_SIZE * abi.FONT_CELL_W / abi.FONT_CELL_H)))
        wrapped = [part for note in self.notes for line in note.splitlines()
                   for part in textwrap.wrap(line, columns, subsequent_indent="  ") or [""]]
        return wrapped[-MAX_LINES:]

    def overlay(self, width: int, height: int) -> bytes:
        """The notes as a command list along the bottom of a ``width`` x ``height`` frame (empty: none)."""
        if not self.notes:
            return b""
        title = f"layerw dev: {len(self.notes)} note{'s' * (len(self.notes) != 1)} ({DISMISS_KEY} dismisses)"
        lines = [title, *self.lines(width)]
        step = TEXT_SIZE + 2
        top = height - 4 - step * len(lines)
        w = CommandWriter()
        w.viewport(0, 0, 0, 0)
        w.transform()
        w.rect(0, top - 2, width, height - top + 2, color=BACKDROP)
        for i, line in enumerate(lines):
            w.text(4, top + i * step, TEXT_SIZE, TITLE if i == 0 else INK, line)
        return w.getvalue()
