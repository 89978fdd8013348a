"""Snapshot: a game's state at a tick boundary — guest memory above the stack plus host state.

Between calls the shadow stack is dead and the only mutable global (the stack pointer) is back at
its initial value, so memory from ``state_begin`` up, plus the host's own per-game state (random
stream, asset handles, pending events), is everything needed to continue the game exactly.

Binary form: ``LWSNAP1\\n``, a u32 header length, a JSON header, then the memory zlib-compressed.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from layerw.errors import SnapshotError

MAGIC = b"LWSNAP1\n"


@dataclass(frozen=True)
class Snapshot:
    module_sha256: str
    tick: int
    pages: int
    state_begin: int
    memory: bytes = field(repr=False)  # guest memory [state_begin, pages * 64 KiB)
    host: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        header = json.dumps({
            "module_sha256": self.module_sha256, "tick": self.tick, "pages": self.pages,
            "state_begin": self.state_begin, "host": self.host,
        }).encode()
        return MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(self.memory, 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> Snapshot:
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise SnapshotError("not a Layer-W snapshot (bad magic)")
        (n,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        try:
            header = json.loads(data[start:start + n])
            memory = zlib.decompress(data[start + n:])
            snap = cls(str(header["module_sha256"]), int(header["tick"]), int(header["pages"]),
                       int(header["state_begin"]), memory, dict(header["host"]))
        except (ValueError, KeyError, TypeError, zlib.error) as e:
            raise SnapshotError(f"snapshot is corrupt: {e}") from e
        if len(memory) != snap.pages * 65536 - snap.state_begin:
            raise SnapshotError("snapshot memory size does not match its page count")
        return snap
