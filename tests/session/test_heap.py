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


def _rss_in_child(source: str, call: str) -> tuple[int, int]:
    """The two RSS figures the child ``source`` prints after whether ``call`` worked (skipped where not)."""
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "True":
        pytest.skip(f"this C library has no {call}")
    return int(out[1]), int(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc's malloc_trim")
def test_freed_heap_goes_back_to_the_system() -> None:
    before, after = _rss_in_child(CHILD, "malloc_trim")
    assert before - after > 100 * 2**20, f"RSS {before >> 20} MiB before the trim, {after >> 20} MiB after"




# In a child too: a thread (a room builder) frees 10 MiB of snapshot-sized blocks after a bigger block
# was freed (which, left to glibc, raises its thresholds): does the trim give them back?
HELD = textwrap.dedent("""
    import threading
    from layerw.session.heap import hold_mmap_threshold, trim_heap

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    held = hold_mmap_threshold()
    peak = []

    def builder() -> None:
        first = b"\\x01" * (8 << 20)
        del first
        blocks = [b"\\x01" * (512 << 10) for _ in range(20)]
        peak.append(rss())
        while blocks:
            blocks.pop()

    thread = threading.Thread(target=builder)
    thread.start()
    thread.join()
    trim_heap()
    print(held, peak[0], rss())
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc's mallopt and malloc_trim")
def test_a_threads_freed_blocks_go_back_with_the_thresholds_held() -> None:
    peak, after = _rss_in_child(HELD, "mallopt")
    assert peak - after > 8 * 2**20, f"RSS {peak >> 20} MiB with the blocks, {after >> 20} MiB after they went and the trim"
