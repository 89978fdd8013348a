"""Hand the heap that closed rooms freed back to the system.

glibc keeps freed memory in its heap for reuse: after a wave of rooms closes (a room flood's rooms
expiring, a churn of short rooms) the server's RSS stays at its peak although nothing uses it.
``malloc_trim`` returns the free pages; other C libraries, which have no such call, are left as they are.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Return the heap's free pages to the system; False where the C library has no way to (not glibc)."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
