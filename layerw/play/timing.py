"""FrameTiming: the per-frame timing overlay (F3 in a window): tick, render, present and sound in ms.

The runner times each part of a frame (``measure``) and keeps a running mean over the last
``WINDOW`` frames; when the overlay is shown, ``overlay()`` is a command list of a few text lines
drawn after the game's own commands (viewport and transform reset first, so a game's camera does
not move them). The browser has the same overlay (``web/timing.js``, also on F3).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from layerw.gfx.writer import CommandWriter, rgba

WINDOW = 60  # frames averaged
PARTS = ("tick", "render", "present", "sound")
TOGGLE_KEY = "F3"
TEXT_SIZE = 8.0
BACKDROP = rgba(0, 0, 0, 170)
INK = rgba(120, 255, 120)


class FrameTiming:
    """Running means of each frame part, and the overlay that shows them."""

    def __init__(self, window: int = WINDOW) -> None:
        self.samples: dict[str, deque[float]] = {part: deque(maxlen=window) for part in PARTS}
        self.shown = False

    @contextmanager
    def measure(self, part: str) -> Iterator[None]:
        """Time the body as one sample of ``part`` (milliseconds)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.samples[part].append((time.perf_counter() - start) * 1e3)

    def mean_ms(self, part: str) -> float:
        kept = self.samples[part]
        return sum(kept) / len(kept) if kept else 0.0

    def toggle(self) -> None:
        self.shown = not self.shown

    def overlay(self) -> bytes:
        """The overlay's command list: a backdrop and one line per part (mean ms over the window)."""
        lines = [f"{part:<8}{self.mean_ms(part):6.2f} ms" for part in PARTS]
        w = CommandWriter()
        w.viewport(0, 0, 0, 0)
        w.transform()
        w.rect(2, 2, 8 + TEXT_SIZE * max(len(line) for line in lines), 4 + (TEXT_SIZE + 2) * len(lines), color=BACKDROP)
        for i, line in enumerate(lines):
            w.text(6, 4 + i * (TEXT_SIZE + 2), TEXT_SIZE, INK, line)
        return w.getvalue()
