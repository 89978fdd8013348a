"""ChunkCache: chunks and modules kept on local disk, so a second run downloads nothing.

    <cache>/chunks/<id[:2]>/<id>     decoded chunk bytes, named by their SHA-256
    <cache>/wasm/<sha256>.wasm       whole modules (the base a module delta applies to)

``<cache>`` is ``$LAYERW_CACHE_DIR``, else ``~/.cache/layerw`` (the compiled-module cache's base).
Everything is content-addressed, so entries never go stale; each read is verified again and a
damaged entry is dropped and fetched anew. Writes are atomic (temporary file, rename), so worker
processes and concurrent runs may share one cache. It stays under ``LAYERW_CACHE_MAX_MB``, least
recently used first (``layerw.diskbudget``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from layerw.diskbudget import DiskBudget, cache_root, max_bytes_from_env
from layerw.store.chunk import chunk_key


class ChunkCache:
    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root()
        self.budget = DiskBudget([self.root / "chunks", self.root / "wasm"],
                                 max_bytes if max_bytes is not None else max_bytes_from_env())

    def _read(self, path: Path, sha256: str) -> bytes | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)
            return None
        self.budget.used(path)
        return data

    def _write(self, path: Path, data: bytes) -> None:
        try:
            self.budget.write(path, data)
        except OSError:
            return  # a cache that cannot be written only costs a download next time

    def chunk(self, id_: str) -> bytes | None:
        return self._read(self.root / chunk_key(id_), id_)

    def put_chunk(self, id_: str, data: bytes) -> None:
        self._write(self.root / chunk_key(id_), data)

    def module(self, sha256: str) -> bytes | None:
        return self._read(self.root / "wasm" / f"{sha256}.wasm", sha256)

    def put_module(self, sha256: str, data: bytes) -> None:
        self._write(self.root / "wasm" / f"{sha256}.wasm", data)

    def modules(self) -> set[str]:
        """SHA-256 of every cached module (candidates for a delta's base)."""
        folder = self.root / "wasm"
        return {p.stem for p in folder.glob("*.wasm")} if folder.is_dir() else set()
