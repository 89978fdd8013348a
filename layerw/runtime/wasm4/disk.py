"""Disk: a cart's 1 KiB of persistent storage (``diskr``/``diskw``), held by its host.

# Spec: https://wasm4.org/docs/reference/functions#storage and /docs/guides/saving-data.
A write replaces the disk's contents with up to 1024 bytes; a read copies up to the disk's
current length. The disk is part of the game's state (hash and snapshots); keeping it across
runs is the saves work's (it can read and set ``data``).
"""

from __future__ import annotations

from layerw.runtime.wasm4.memorymap import DISK_SIZE


class Disk:
    def __init__(self, data: bytes = b"") -> None:
        self.data = bytes(data[:DISK_SIZE])

    def read(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the disk holds fewer)."""
        return self.data[:max(size, 0)]

    def write(self, data: bytes) -> int:
        """Replace the contents with ``data`` (at most 1024 bytes kept); the count kept."""
        self.data = bytes(data[:DISK_SIZE])
        return len(self.data)
