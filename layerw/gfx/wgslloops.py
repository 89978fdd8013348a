"""Endless WGSL loops, found before a shader reaches the GPU: ``loop {}``, ``while true`` and
``for (;;)`` whose body has no ``break`` or ``return`` (in it or in a loop inside it); and every
loop bounded (``bound_loops``) before a shader is compiled for a frame, natively and in browsers.

A WGSL loop can run as long as a driver lets it: lavapipe cuts every loop at 65535 iterations
(Mesa's gallivm limit), a desktop driver's watchdog resets the GPU after a second or two (a lost
device), and nothing else bounds it. Whether a loop ends is undecidable in general; this check
refuses the loops that cannot end at all, so a guest's typo fails ``layerw build`` with its line
rather than stalling a player's GPU. Loops with a condition (``for (...; i < n; ...)``, ``while c``)
pass, however long they run: ``bound_loops`` gives each loop a counter that breaks it after
``abi.GPU_MAX_LOOP_ITERATIONS`` iterations each time it is entered, so a data-dependent loop ends
the same way on every driver (lavapipe's own cut, everywhere) instead of at a watchdog's reset.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from layerw import abi

# A loop head up to its body's "{": `loop`, `while true` (parenthesised or not), `for` with an empty condition
_HEADS = re.compile(r"\bloop\s*\{|\bwhile\s*(?:\(\s*true\s*\)|true)\s*\{|\bfor\s*\([^;()]*;\s*;[^)]*\)\s*\{")
_EXIT = re.compile(r"\b(?:break|return)\b")
_TOKENS = re.compile(r"//|/\*|\*/|\n")
_BRACES = re.compile(r"[{}]")
# Any loop head up to its body's "{" (a WGSL condition or for-header holds no braces)
_LOOPS = re.compile(r"\bloop\s*\{|\bwhile\b[^{]*\{|\bfor\s*\([^{]*\{")
COUNTER = "lw_loop_"  # + the loop's number: the counter bound_loops declares before the loop


def strip_comments(code: str) -> str:
    """``code`` with its comments (line comments, and block comments, which nest) dropped, its newlines kept."""
    out: list[str] = []
    depth, at = 0, 0
    for m in _TOKENS.finditer(code):
        token = m.group()
        if m.start() < at or (token == "\n" and not depth):
            continue  # inside a line comment skipped already, or a line of code
        if depth == 0:
            if token == "*/":
                continue  # a stray "*/": the compiler reports it
            out.append(code[at:m.start()])
            if token == "//":
                end = code.find("\n", m.start())
                at = len(code) if end < 0 else end
                continue
        if token == "\n":
            out.append("\n")
        depth += 1 if token == "/*" else -1 if token == "*/" else 0
        at = m.end()
    if depth == 0:
        out.append(code[at:])
    return "".join(out)


def endless_loops(code: str) -> list[int]:
    """Lines (1-based) of the loops in ``code`` whose body has no break or return (linear in its length)."""
    text = strip_comments(code)
    closing: dict[int, int] = {}  # "{" -> its "}" (or the end of the text)
    opened: list[int] = []
    for m in _BRACES.finditer(text):
        if m.group() == "{":
            opened.append(m.start())
        elif opened:
            closing[opened.pop()] = m.start()
    exits = [m.start() for m in _EXIT.finditer(text)]
    lines: list[int] = []
    line, counted = 1, 0  # the line of text[counted]
    for head in _HEADS.finditer(text):
        body, end = head.end() - 1, closing.get(head.end() - 1, len(text))
        i = bisect_left(exits, body)
        if i == len(exits) or exits[i] > end:
            line += text.count("\n", counted, head.start())
            counted = head.start()
            lines.append(line)
    return lines


def bound_loops(code: str) -> str:
    """``code`` without comments, each loop preceded by a counter of its own and its body opening
    with a break once the counter reaches ``abi.GPU_MAX_LOOP_ITERATIONS``. Lines stay where they
    were (a compiler's line numbers hold), and a loop's own counter keeps a uniform loop uniform."""
    text = strip_comments(code)
    out: list[str] = []
    at = 0
    for n, head in enumerate(_LOOPS.finditer(text)):
        name = f"{COUNTER}{n}"
        out += [text[at:head.start()], f"var {name}: u32 = 0u; ", head.group(),
                f" if {name} >= {abi.GPU_MAX_LOOP_ITERATIONS}u {{ break; }} {name} += 1u;"]
        at = head.end()
    out.append(text[at:])
    return "".join(out)
