"""Saved: one snapshot a room keeps, for joins, rejoins and heals.

A room takes a snapshot every ``snapshot_every`` ticks and keeps a few. Encoding one (zlib over the
whole guest memory: ~26 ms and 3.2 MB in, 320 KB out for the sprites game) is done once per
snapshot, when a join or heal first needs it, and every join and heal until the next snapshot reuses
the bytes; the room's host runs that work in a thread (``RoomRunner.prepare``), so a tick never waits
for it. Once encoded, a snapshot keeps only its encoded bytes; the host also encodes the oldest raw
ones when all its rooms' raw snapshots pass a budget (``RawKept``), so rooms hold their kept
snapshots raw only while that is cheap in memory. The page delta a rejoining client needs (against
a snapshot it still holds) is cached the same way, one per base.
"""

from __future__ import annotations

import threading

from layerw.runtime.snapshot import Snapshot, delta


class Saved:
    """A kept snapshot at ``tick`` with the held input record then; thread-safe."""

    def __init__(self, tick: int, snapshot: Snapshot, inputs: bytes) -> None:
        self.tick = tick
        self.inputs = inputs  # lw_input record held at `tick`
        self.pages = snapshot.pages  # its linear memory, in 64 KiB pages
        self.memory_size = len(snapshot.memory)  # bytes of state it holds raw (what admission counts)
        self._raw: Snapshot | None = snapshot  # until encoded
        self._full: bytes | None = None
        self._deltas: dict[int, bytes] = {}  # base tick -> delta from that snapshot to this one
        self._lock = threading.Lock()

    @property
    def encoded(self) -> bool:
        return self._full is not None

    @property
    def size(self) -> int:
        """Bytes this kept snapshot holds: its memory until encoded, then its encoded bytes."""
        full, raw = self._full, self._raw
        return len(full) if full is not None else len(raw.memory) if raw is not None else 0

    def full(self) -> bytes:
        """The snapshot's bytes (``Snapshot.to_bytes``), encoded on first use; the raw memory goes then."""
        with self._lock:
            if self._full is None:
                assert self._raw is not None
                self._full = self._raw.to_bytes()
                self._raw = None
            return self._full

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot itself (decoded again from its bytes once it has been encoded)."""
        raw = self._raw
        return raw if raw is not None else Snapshot.from_bytes(self.full())

    def has_delta(self, base: Saved) -> bool:
        return base.tick in self._deltas

    def delta_from(self, base: Saved) -> bytes:
        """The 4 KiB blocks that changed since ``base`` (an older kept snapshot), computed once."""
        with self._lock:
            cached = self._deltas.get(base.tick)
        if cached is None:
            cached = delta(base.snapshot, self.snapshot)
            with self._lock:
                self._deltas[base.tick] = cached
        return cached

    def prepare(self, base: Saved | None) -> None:
        """Do the encoding a STATE against ``base`` (None: a full one) needs, so that building it is
        then only a copy. Slow (compression): for a worker thread."""
        if base is None:
            self.full()
        else:
            self.delta_from(base)
