"""Hand the heap that closed rooms freed back to the system.

glibc keeps freed memory in its heap for reuse: after a wave of rooms closes (a room flood's rooms
expiring, a churn of short rooms) the server's RSS stays at its peak although nothing uses it.
``malloc_trim`` returns the free pages; other C libraries, which have no such call, are left as they are.

glibc also raises its mmap threshold to the largest block freed so far (up to 32 MiB), and its trim
threshold with it: from then on blocks that big come from the arena of the thread that asked (a
builder, the encoder), and what those arenas freed stayed resident even through ``malloc_trim`` (a
flood of 16 pong rooms left 7-8 MiB of a builder's arena; the attack bench's room flood 69 -> 109 ->
98 MiB 60 s after, 69 -> 78 -> 71 with the threshold held). ``hold_mmap_threshold`` keeps it at
glibc's start, 128 KiB, for the whole process: every block that big is mapped and unmapped whole. The
price is a fresh mapping to fault in for each: a 3.1 MiB snapshot (the sprites game's) took 5-6 ms
instead of 0.3 ms on a loaded 2-core machine, a 128 KiB one (pong's) a few dozen pages. A server
process calls it once, at start.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def _malloc_trim() -> Callable[[int], int] | None:
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_LIBC = _libc()
_TRIM = _malloc_trim()
M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc's malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting threshold, held there


def trim_heap() -> bool:
    """Return the heap's free pages to the system; False where the C library has no way to (not glibc)."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def hold_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Serve blocks of ``size`` bytes and more from mmap for the rest of the process (glibc would raise
    the threshold as big blocks are freed); False where the C library has no ``mallopt`` (not glibc)."""
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is None or getattr(_LIBC, "malloc_trim", None) is None:  # (musl has a mallopt that does nothing)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, size))
