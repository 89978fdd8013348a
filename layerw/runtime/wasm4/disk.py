"""Disk: a cart's 1 KiB of persistent storage (``diskr``/``diskw``), held by its host.

# Spec: https://wasm4.org/docs/reference/functions#storage and /docs/guides/saving-data.
A write replaces the disk's contents with up to 1024 bytes; a read copies up to the disk's
current length. The disk is part of the game's state (hash and snapshots). It lasts across runs
as the game's save slot ``disk`` (``DISK_SLOT``): loaded when the cart starts, written through on
every ``diskw``; a slot that cannot be read or written is logged and the disk works in memory.
"""

from __future__ import annotations

from layerw.runtime.saveslots import SaveSlots
from layerw.runtime.wasm4.memorymap import DISK_SIZE

DISK_SLOT = b"disk"
DISK_VERSION = 0


class Disk:
    def __init__(self, data: bytes = b"", slots: SaveSlots | None = None) -> None:
        self.slots = slots
        slot = slots.slot(DISK_SLOT) if slots is not None and not data else None
        self.data = bytes((slot.data if slot is not None and not isinstance(slot, int) else data)[:DISK_SIZE])

    def read(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the disk holds fewer)."""
        return self.data[:max(size, 0)]

    def write(self, data: bytes) -> int:
        """Replace the contents with ``data`` (at most 1024 bytes kept) and save them; the count kept."""
        self.data = bytes(data[:DISK_SIZE])
        if self.slots is not None:
            self.slots.write(DISK_SLOT, self.data, DISK_VERSION)
        return len(self.data)

    def restore(self, data: bytes) -> None:
        """Set the contents from a snapshot (not saved: a snapshot is the past, the slot the present)."""
        self.data = bytes(data[:DISK_SIZE])
