"""Watcher: which files of a game directory changed since the last look, by polling their stat.

Polling ``os.stat`` (mtime and size) needs no dependency and works on every file system the
toolchain does; a game directory holds tens of files, so a look costs well under a millisecond.
Build outputs (``build/``) and hidden entries are not the game's sources and are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

SKIPPED = ("build",)  # directories of build outputs, never sources


class Watcher:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._seen = self._scan()

    def _scan(self) -> dict[str, tuple[int, int]]:
        """Every watched file's (mtime in ns, size), by path relative to the root."""
        seen: dict[str, tuple[int, int]] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (folder == str(self.root) and d in SKIPPED))
            for name in files:
                if name.startswith("."):
                    continue
                path = Path(folder) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed while we looked: the next look sees it gone
                    continue
                seen[path.relative_to(self.root).as_posix()] = (st.st_mtime_ns, st.st_size)
        return seen

    def changed(self) -> list[str]:
        """Paths (relative to the root) added, removed or modified since the last call, sorted."""
        now = self._scan()
        out = sorted(p for p in now.keys() | self._seen.keys() if now.get(p) != self._seen.get(p))
        self._seen = now
        return out
