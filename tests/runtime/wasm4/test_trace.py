"""trace and tracef: the documented format subset, and bounded output whatever the pointers."""

from __future__ import annotations

import struct

import numpy as np

from layerw.runtime.wasm4 import trace as tr
from layerw.runtime.wasm4.memorymap import MEMORY_SIZE


def memory_with(**at: bytes) -> np.ndarray:
    mem = np.zeros(MEMORY_SIZE, np.uint8)
    for key, data in at.items():
        addr = int(key[1:])
        mem[addr:addr + len(data)] = np.frombuffer(data, np.uint8)
    return mem


def test_tracef_formats_c_d_x_s_f_and_percent() -> None:
    args = struct.pack("<iiii", ord("Z"), -42, 0xBEEF, 3000) + struct.pack("<d", 2.5)
    mem = memory_with(a1000=b"c=%c d=%d x=%x s=%s f=%f %% %q\0", a2000=args, a3000=b"hello\0")
    assert tr.tracef(mem, 1000, 2000) == "c=Z d=-42 x=beef s=hello f=2.500000 % %q"


def test_tracef_reads_a_double_at_the_next_8_aligned_argument() -> None:
    args = struct.pack("<i", 7) + b"\0" * 4 + struct.pack("<d", -1.25)  # as clang lays out (int, double)
    mem = memory_with(a1000=b"%d %f\0", a2000=args)
    assert tr.tracef(mem, 1000, 2000) == "7 -1.250000"


def test_wild_pointers_print_a_marker_and_never_raise() -> None:
    mem = memory_with(a1000=b"%s|%f|%d\0", a65533=b"xxx")
    assert tr.tracef(mem, 1000, 65533) == "<?>|<?>|<?>"  # args run off the end of memory
    assert tr.tracef(mem, 0xFFFFFFFF, 0) == ""  # the format itself outside memory
    assert tr.tracef(mem, 65533, 0) == "xxx"  # an unterminated format stops at the end of memory
    mem[2000:2004] = np.frombuffer(struct.pack("<I", 0xFFFFFF00), np.uint8)
    assert tr.tracef(mem, 1000, 2000).startswith("<?>|")  # a %s pointer outside memory


def test_strings_are_cut_at_the_end_of_memory_and_traces_are_bounded() -> None:
    mem = memory_with(a65530=b"abcdef")
    assert tr.cstring(mem, 65530) == b"abcdef" and tr.cstring(mem, 70000) == b""
    assert tr.span(mem, 65534, 100) == b"ef" and tr.span(mem, 0, -1) == b""
    long = tr.bounded("y" * (tr.MAX_TRACE + 10))
    assert len(long) < tr.MAX_TRACE + 40 and long.endswith("(10 more)")


def test_a_lone_percent_at_the_end_of_the_format_prints_nothing() -> None:
    mem = memory_with(a1000=b"100%\0", a2000=b"%d%\0", a3000=struct.pack("<i", 5))
    assert tr.tracef(mem, 1000, 0) == "100" and tr.tracef(mem, 2000, 3000) == "5"


def test_tracef_stops_formatting_at_a_lines_worth_and_says_it_cut() -> None:
    # 16000 %s, the first 100 a 32000-byte string: hundreds of millions of characters if formatted whole
    mem = memory_with(a0=b"%s" * 16000 + b"\0", a32768=b"z" * 32000 + b"\0", a65000=struct.pack("<I", 32768) * 100)
    line = tr.tracef(mem, 0, 65000)
    assert line == "z" * tr.MAX_TRACE + tr.CUT
    assert tr.tracef(mem, 32768 + 32000 - tr.MAX_TRACE, 0) == "z" * tr.MAX_TRACE  # exactly a line's worth: whole


def test_c_and_x_convert_as_printf_does() -> None:
    """tracef is documented to work like printf (and wasm4.h declares it so): %c prints the int
    converted to unsigned char, %x the int as unsigned hex digits, %d as signed decimal."""
    values = [-1, -(2**31), 2**31 - 1, 0, 0x141, -23, 0x80, 0xFF]
    mem = memory_with(a1000=b"%x|" * len(values) + b"\0", a1100=b"%c" * len(values) + b"\0",
                      a1200=b"%d|" * len(values) + b"\0", a2000=struct.pack(f"<{len(values)}i", *values))
    assert tr.tracef(mem, 1000, 2000) == "ffffffff|80000000|7fffffff|0|141|ffffffe9|80|ff|"
    assert tr.tracef(mem, 1100, 2000) == "\xff\x00\xff\x00A\xe9\x80\xff"
    assert tr.tracef(mem, 1200, 2000) == "-1|-2147483648|2147483647|0|321|-23|128|255|"


def test_flags_widths_and_lengths_print_as_written() -> None:
    mem = memory_with(a1000=b"%02x %5d %ld %u\0", a2000=struct.pack("<i", 7))
    assert tr.tracef(mem, 1000, 2000) == "%02x %5d %ld %u"
