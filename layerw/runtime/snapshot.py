"""Snapshot: a game's state at a tick boundary — guest memory above the stack plus host state.

Between calls the shadow stack is dead and the only mutable global (the stack pointer) is back at
its initial value, so memory from ``state_begin`` up, plus the host's own per-game state (random
stream, asset handles, pending events), is everything needed to continue the game exactly.

Binary form: ``LWSNAP1\\n``, a u32 header length, a JSON header, then the memory zlib-compressed.
A snapshot can also be sent as a delta against an earlier one of the same game: only the 4 KiB
blocks that differ (``delta`` / ``apply_delta``), which is what a rejoining player needs.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from layerw.errors import SnapshotError

MAGIC = b"LWSNAP1\n"
DELTA_MAGIC = b"LWDELTA1"
PAGE = 65536  # wasm page
MAX_PAGES = 65536  # a wasm32 memory is at most 4 GiB
BLOCK = 4096  # delta granularity
_CORRUPT = (ValueError, KeyError, TypeError, OverflowError, RecursionError, zlib.error)


def _inflate(data: bytes, size: int) -> bytes:
    """zlib-decompress ``data``, never past the ``size`` bytes its header promised (no bombs)."""
    inflate = zlib.decompressobj()
    out = inflate.decompress(data, size + 1)
    if not inflate.eof and len(out) <= size:
        raise SnapshotError("compressed memory is truncated")
    if len(out) != size:
        raise SnapshotError(f"compressed memory holds {'more' if len(out) > size else len(out)} bytes, "
                            f"its header says {size}")
    return out


def _pages(header: dict[str, Any]) -> int:
    pages = int(header["pages"])
    if not 0 <= pages <= MAX_PAGES:
        raise SnapshotError(f"{pages} pages: a wasm32 memory has 0..{MAX_PAGES}")
    return pages


@dataclass(frozen=True)
class Snapshot:
    module_sha256: str
    tick: int
    pages: int
    state_begin: int
    memory: bytes = field(repr=False)  # guest memory [state_begin, pages * 64 KiB) minus the hole
    host: dict[str, Any] = field(default_factory=dict)
    hole_at: int = 0  # the command buffer: not state, so not saved (restored as zeros)
    hole_size: int = 0

    @property
    def memory_size(self) -> int:
        return self.pages * PAGE - self.state_begin - self.hole_size

    def check_fits(self, name: str, module_sha256: str, state_begin: int, hole_at: int, hole_size: int,
                   memory_cap: int, *, allow_other_build: bool = False) -> tuple[int, dict[str, Any]]:
        """Refuse a snapshot that is not of this module's layout or exceeds its memory cap;
        returns the host state to restore: (random stream state, asset table state). With
        ``allow_other_build`` (hot reload) another build passes when its state layout (where state
        begins, where the command buffer lies) is this module's."""
        if allow_other_build:
            if (self.state_begin, self.hole_at, self.hole_size) != (state_begin, hole_at, hole_size):
                raise SnapshotError(
                    f"snapshot's state layout (state from {self.state_begin}, commands at {self.hole_at}+"
                    f"{self.hole_size}) is not {name}'s (state from {state_begin}, commands at {hole_at}+{hole_size})")
        elif (self.module_sha256, self.state_begin, self.hole_at, self.hole_size) != (
                module_sha256, state_begin, hole_at, hole_size):
            raise SnapshotError(f"snapshot is of another module than {name}'s ({self.module_sha256[:12]})")
        if self.pages * PAGE > memory_cap:
            raise SnapshotError(f"snapshot holds {self.pages * PAGE} bytes, above {name}'s memory cap")
        try:
            return int(self.host["rng"]), dict(self.host["assets"])
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise SnapshotError(f"snapshot host state is malformed: {e}") from e

    def to_bytes(self) -> bytes:
        header = json.dumps({
            "module_sha256": self.module_sha256, "tick": self.tick, "pages": self.pages,
            "state_begin": self.state_begin, "host": self.host, "hole": [self.hole_at, self.hole_size],
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
            hole_at, hole_size = (int(x) for x in header["hole"])
            pages, state_begin = _pages(header), int(header["state_begin"])
            size = pages * PAGE - state_begin - hole_size
            if size < 0:
                raise SnapshotError("snapshot memory size does not match its page count")
            memory = _inflate(data[start + n:], size)
            snap = cls(str(header["module_sha256"]), int(header["tick"]), pages, state_begin, memory,
                       dict(header["host"]), hole_at, hole_size)
        except _CORRUPT as e:
            raise SnapshotError(f"snapshot is corrupt: {e}") from e
        return snap


def delta(base: Snapshot, new: Snapshot) -> bytes:
    """The 4 KiB blocks of ``new`` that differ from ``base`` (same module and layout), compressed."""
    if (base.module_sha256, base.state_begin, base.hole_at, base.hole_size) != (
            new.module_sha256, new.state_begin, new.hole_at, new.hole_size):
        raise SnapshotError("a delta needs two snapshots of the same module")
    blocks = [i // BLOCK for i in range(0, len(new.memory), BLOCK)
              if new.memory[i:i + BLOCK] != base.memory[i:i + BLOCK]]
    header = json.dumps({"tick": new.tick, "pages": new.pages, "base_tick": base.tick,
                         "changed": blocks, "host": new.host}).encode()
    body = b"".join(new.memory[b * BLOCK:(b + 1) * BLOCK] for b in blocks)
    return DELTA_MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(body, 1)


def apply_delta(base: Snapshot, data: bytes) -> Snapshot:
    """Rebuild the newer snapshot from ``base`` and a delta made against it."""
    if not data.startswith(DELTA_MAGIC) or len(data) < len(DELTA_MAGIC) + 4:
        raise SnapshotError("not a Layer-W snapshot delta (bad magic)")
    (n,) = struct.unpack_from("<I", data, len(DELTA_MAGIC))
    start = len(DELTA_MAGIC) + 4
    try:
        header = json.loads(data[start:start + n])
        changed = [int(p) for p in header["changed"]]
        pages, tick, base_tick = _pages(header), int(header["tick"]), int(header["base_tick"])
        host = dict(header["host"])
        if base_tick != base.tick:
            raise SnapshotError(f"delta was made against tick {base_tick}, not this snapshot's tick {base.tick}")
        size = pages * PAGE - base.state_begin - base.hole_size
        if size < 0 or any(b < 0 or b * BLOCK >= size for b in changed):
            raise SnapshotError("snapshot delta blocks do not match its header")
        body = _inflate(data[start + n:], sum(min(BLOCK, size - b * BLOCK) for b in changed))
    except SnapshotError:
        raise
    except _CORRUPT as e:
        raise SnapshotError(f"snapshot delta is corrupt: {e}") from e
    memory = bytearray(base.memory[:size].ljust(size, b"\0"))
    at = 0
    for b in changed:
        chunk = body[at:at + min(BLOCK, size - b * BLOCK)]
        memory[b * BLOCK:b * BLOCK + len(chunk)] = chunk
        at += len(chunk)
    return Snapshot(base.module_sha256, tick, pages, base.state_begin, bytes(memory), host,
                    base.hole_at, base.hole_size)
