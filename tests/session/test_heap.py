"""trim_heap hands the pages a freed wave of allocations left in glibc's heap back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# In a child process, so the measure is of its heap alone: 160 MiB of 2 KiB blocks (glibc's heap, not
# mmap), all freed but the last (which pins the heap's top, so glibc cannot shrink it by itself).
CHILD = textwrap.dedent("""
    import sys
    from layerw.session.heap import trim_heap

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    blocks = [bytes(2048) + bytes([i % 256]) for i in range(80_000)]
    last = blocks[-1]
    del blocks
    before = rss()
    trimmed = trim_heap()
    print(trimmed, before, rss(), len(last))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc's malloc_trim")
def test_freed_heap_goes_back_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout.split()
    trimmed, before, after = out[0] == "True", int(out[1]), int(out[2])
    if not trimmed:
        pytest.skip("this C library has no malloc_trim")
    assert before - after > 100 * 2**20, f"RSS {before >> 20} MiB before the trim, {after >> 20} MiB after"



# In a child too: whether snapshot-sized blocks (256 KiB) made on a thread, after a bigger block was
# freed, are mapped on their own (so freeing them returns them) or carved from the thread's arena.
HELD = textwrap.dedent("""
    import ctypes, threading
    from layerw.session.heap import hold_mmap_threshold

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                         "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Mallinfo2
    held = hold_mmap_threshold()
    mapped = []

    def builder() -> None:
        first = bytearray(8 << 20)
        del first  # glibc alone would now serve blocks up to 8 MiB from this thread's arena
        before = libc.mallinfo2().hblkhd
        snapshots = [bytearray(256 << 10) for _ in range(16)]
        mapped.append(libc.mallinfo2().hblkhd - before)
        del snapshots

    thread = threading.Thread(target=builder)
    thread.start()
    thread.join()
    print(held, mapped[0])
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and mallinfo2")
def test_snapshot_sized_blocks_stay_mapped_whole() -> None:
    out = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "True":
        pytest.skip("this C library has no mallopt")
    assert int(out[1]) >= 16 * (256 << 10)  # each one mapped (and unmapped when freed), none left in an arena
