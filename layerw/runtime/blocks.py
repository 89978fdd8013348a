"""Blocks: memory compared and copied in 4 KiB blocks, so that a copy writes only what differs.

An in-place restore writes a snapshot back into the live memory of the instance that took it: a
rollback a few ticks deep changes a few blocks of a megabyte, so comparing (a read of both) and
copying the blocks that differ costs a fraction of a full copy (a read and a write of everything,
and for a fresh instance its page faults too).
"""

from __future__ import annotations

import numpy as np

from layerw.runtime.snapshot import BLOCK


def patch(target: memoryview, source: bytes | memoryview) -> int:
    """Make writable ``target`` equal ``source`` (the same length), copying only the blocks that
    differ; returns how many bytes were copied."""
    if len(target) != len(source):
        raise ValueError(f"patching {len(target)} bytes with {len(source)}")
    live = np.frombuffer(target, dtype=np.uint8)
    want = np.frombuffer(source, dtype=np.uint8)
    whole = len(live) - len(live) % BLOCK
    copied = 0
    if whole:
        live_blocks, want_blocks = live[:whole].reshape(-1, BLOCK), want[:whole].reshape(-1, BLOCK)
        differ = np.flatnonzero((live_blocks != want_blocks).any(axis=1))
        live_blocks[differ] = want_blocks[differ]
        copied = len(differ) * BLOCK
    if whole < len(live) and not np.array_equal(live[whole:], want[whole:]):
        live[whole:] = want[whole:]
        copied += len(live) - whole
    return copied
