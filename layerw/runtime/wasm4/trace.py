"""Strings out of a cart's memory, and ``tracef``'s format: bounded, whatever the pointers.

# Spec: https://wasm4.org/docs/reference/functions#trace and #tracef.
Strings are NUL-terminated (``trace``, ``text``, ``%s``) or pointer and byte length
(``traceUtf8``/``traceUtf16``, ``textUtf8``/``textUtf16``). A string that runs off the end of
memory stops there; one that starts outside memory is empty. ``tracef`` is documented as working
"like printf" with only %c, %d, %f, %s and %x (wasm4.h declares it with printf's format attribute),
so each conversion is C's: %c the int converted to unsigned char (its low byte, shown as that
Latin-1 character: 0x141 is "A", -23 is "é"), %d a signed 32-bit integer, %x the int as unsigned
lowercase hex digits, no prefix (-1 is "ffffffff"), %s a string pointer, %f a 64-bit float (read at
the next 8-aligned address as C passes varargs, six decimals), and %%; another conversion (flags
and widths too) is printed as written, a lone % at the end not at all. The format's bytes are
Latin-1 characters, as %c's and %s's are. web/wasm4-imports.js formats alike. An argument outside
memory prints ``<?>``. A line past ``MAX_TRACE`` characters is cut there: ``bounded`` says how many
more it had; ``tracef`` stops formatting once past it (a format of %s can ask for gigabytes) and ends
the line with ``CUT``.
"""

from __future__ import annotations

import struct

import numpy as np

from layerw.runtime.wasm4.memorymap import MEMORY_SIZE

MAX_TRACE = 4096  # characters (code points) of one trace line; longer lines are cut (and say so)
CUT = "... (cut)"  # ends a tracef line cut at MAX_TRACE: formatting stops there, so the rest is not counted
BAD_ARG = "<?>"


def cstring(memory: np.ndarray, ptr: int) -> bytes:
    """The NUL-terminated bytes at ``ptr`` (cut at the end of memory)."""
    if not 0 <= ptr < MEMORY_SIZE:
        return b""
    rest = memory[ptr:]
    end = np.flatnonzero(rest == 0)
    return rest[:end[0] if len(end) else len(rest)].tobytes()


def span(memory: np.ndarray, ptr: int, length: int) -> bytes:
    """``length`` bytes at ``ptr`` (cut at the end of memory; empty if ``ptr`` lies outside)."""
    if not 0 <= ptr < MEMORY_SIZE or length <= 0:
        return b""
    return memory[ptr:ptr + min(length, MEMORY_SIZE - ptr)].tobytes()


def bounded(text: str) -> str:
    return text if len(text) <= MAX_TRACE else text[:MAX_TRACE] + f"... ({len(text) - MAX_TRACE} more)"


def tracef(memory: np.ndarray, fmt_ptr: int, args_ptr: int) -> str:
    """``tracef(fmt, args)`` formatted (see the module docstring)."""
    fmt = cstring(memory, fmt_ptr).decode("latin-1")
    out: list[str] = []
    at, i = args_ptr, 0

    def word(size: int, kind: str) -> tuple[int | float | None, int]:
        if not 0 <= at <= MEMORY_SIZE - size:
            return None, at + size
        return struct.unpack(kind, memory[at:at + size].tobytes())[0], at + size

    size = 0  # characters formatted so far: formatting stops once they pass a line's worth
    while i < len(fmt) and size <= MAX_TRACE:
        c = fmt[i]
        if c != "%":
            piece, i = c, i + 1
        elif i + 1 >= len(fmt):  # a lone % at the end ends the line, as WASM-4's tracef does
            break
        else:
            conv, i = fmt[i + 1], i + 2
            if conv == "%":
                piece = "%"
            elif conv in "cdxs":
                value, at = word(4, "<i")
                if value is None:
                    piece = BAD_ARG
                elif conv == "c":
                    piece = chr(int(value) & 0xFF)
                elif conv == "d":
                    piece = str(value)
                elif conv == "x":
                    piece = f"{int(value) & 0xFFFFFFFF:x}"
                else:
                    ptr = int(value) & 0xFFFFFFFF
                    piece = cstring(memory, ptr).decode("latin-1") if ptr < MEMORY_SIZE else BAD_ARG
            elif conv == "f":
                at = (at + 7) & ~7
                value, at = word(8, "<d")
                piece = BAD_ARG if value is None else f"{value:f}"
            else:
                piece = "%" + conv
        out.append(piece)
        size += len(piece)
    text = "".join(out)
    return text if len(text) <= MAX_TRACE else text[:MAX_TRACE] + CUT
