"""Local caches: where they live (``cache_root``) and DiskBudget, which keeps a cache's files
under a size, the least recently used going first.

The client-side caches (downloaded chunks and modules, ``layerw.store.cache``; compiled modules,
``layerw.runtime.engine``; AOT libraries, ``layerw.runtime.aot.compiler``; objects,
``layerw.toolchain.objcache``) are content-addressed, so any entry may go at any time: the next use
fetches or compiles it again. Each cache holds at most ``LAYERW_CACHE_MAX_MB`` (default 2048) MiB;
past that, files are removed oldest first (a read marks a file used) down to 90 % of the bound.
They and the edge's chunks (``layerw.server.lru``) write every file through ``DiskBudget.write``.

The running total starts from one scan of the cache's folders and grows with this process's
writes; a trim scans again, so processes sharing a cache each keep it bounded (a file another
process is reading stays readable until it closes it).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from layerw.errors import ConfigError

DEFAULT_MAX_MB = 2048
TRIM_TO = 0.9  # a trim leaves the cache at this fraction of its bound, so trims are rare

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$LAYERW_CACHE_DIR``, else ``$XDG_CACHE_HOME/layerw`` (``~/.cache/layerw``): every local cache's base."""
    base = os.environ.get("LAYERW_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "layerw")
    return Path(base)


def max_bytes_from_env() -> int:
    """``LAYERW_CACHE_MAX_MB`` in bytes (default DEFAULT_MAX_MB); ConfigError if it is not a positive integer."""
    text = os.environ.get("LAYERW_CACHE_MAX_MB", "").strip()
    if not text:
        return DEFAULT_MAX_MB << 20
    try:
        mb = int(text)
    except ValueError:
        mb = 0
    if mb < 1:
        raise ConfigError(f"LAYERW_CACHE_MAX_MB={text!r}: expected a whole number of MiB, at least 1")
    return mb << 20


class DiskBudget:
    """Keeps the files below ``folders`` under ``max_bytes`` in all (temporary files excepted); a
    trim goes down to ``trim_to`` of the bound."""

    def __init__(self, folders: list[Path], max_bytes: int, trim_to: float = TRIM_TO) -> None:
        self.folders = folders
        self.max_bytes = max_bytes
        self.trim_to = trim_to
        self._total: int | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[DiskBudget], tuple[list[Path], int, float]]:
        return DiskBudget, (self.folders, self.max_bytes, self.trim_to)  # to a worker process, which counts afresh

    def _files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every cache file, ignoring ones that vanish while listed."""
        found = []
        for folder in self.folders:
            for dirpath, _, names in os.walk(folder):
                for name in names:
                    if name.startswith(".tmp") or name.endswith(".tmp"):
                        continue
                    path = Path(dirpath, name)
                    try:
                        st = path.stat()
                    except OSError:
                        continue
                    found.append((st.st_mtime, st.st_size, path))
        return found

    @staticmethod
    def used(path: Path) -> None:
        """Mark ``path`` recently used (its mtime; atime is often not kept)."""
        try:
            os.utime(path)
        except OSError:
            pass

    @property
    def total(self) -> int:
        """Bytes in the cache, as this process counts them."""
        with self._lock:
            return self._counted()

    def write(self, path: Path, data: bytes | bytearray) -> None:
        """Write ``data`` to the cache file ``path`` whole (a temporary file renamed over it, so a
        reader never sees part of one) and count it; OSError, with nothing written, where the folder
        cannot take it (a cache that cannot be written only costs its caller the work again)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            replaced = path.stat().st_size
        except FileNotFoundError:
            replaced = 0
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.added(len(data), replaced)

    def added(self, size: int, replaced: int = 0) -> None:
        """A file of ``size`` bytes was written (over one of ``replaced`` bytes); trims when the
        cache is past its bound."""
        with self._lock:
            if self._total is None:
                self._counted()
            else:
                self._total += size - replaced
            if self._counted() > self.max_bytes:
                self._trim()

    def _counted(self) -> int:
        if self._total is None:
            self._total = sum(s for _, s, _ in self._files())
        return self._total

    def _trim(self) -> None:
        files = sorted(self._files())
        total = sum(s for _, s, _ in files)
        target = int(self.max_bytes * self.trim_to)
        removed = 0
        for _, size, path in files:
            if total <= target:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("cannot remove %s from the cache (%s)", path, e)
                continue
            total -= size
            removed += 1
        log.debug("cache %s trimmed: %d files removed, %d MiB kept (bound %d MiB)",
                 ", ".join(map(str, self.folders)), removed, total >> 20, self.max_bytes >> 20)
        self._total = total
