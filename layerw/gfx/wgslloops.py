"""Endless WGSL loops, found before a shader reaches the GPU: ``loop {}``, ``while true`` and
``for (;;)`` whose body has no ``break`` or ``return`` (in it or in a loop inside it).

A WGSL loop can run as long as a driver lets it: lavapipe cuts every loop at 65535 iterations
(Mesa's gallivm limit), a desktop driver's watchdog resets the GPU after a second or two (a lost
device), and nothing else bounds it. Whether a loop ends is undecidable in general; this check
refuses the loops that cannot end at all, so a guest's typo fails ``layerw build`` with its line
rather than stalling a player's GPU. Loops with a condition (``for (...; i < n; ...)``, ``while c``)
pass, however long they run.
"""

from __future__ import annotations

import re

# A loop head up to its body's "{": `loop`, `while true` (parenthesised or not), `for` with an empty condition
_HEADS = re.compile(r"\bloop\s*\{|\bwhile\s*(?:\(\s*true\s*\)|true)\s*\{|\bfor\s*\([^;()]*;\s*;[^)]*\)\s*\{")
_EXIT = re.compile(r"\b(?:break|return)\b")


def strip_comments(code: str) -> str:
    """``code`` with its comments (line comments, and block comments, which nest) dropped, its newlines kept."""
    out: list[str] = []
    depth, at, n = 0, 0, len(code)
    while at < n:
        two = code[at:at + 2]
        if depth == 0 and two == "//":
            end = code.find("\n", at)
            at = n if end < 0 else end
        elif two == "/*":
            depth += 1
            at += 2
        elif two == "*/" and depth:
            depth -= 1
            at += 2
        else:
            if depth == 0 or code[at] == "\n":
                out.append(code[at])
            at += 1
    return "".join(out)


def endless_loops(code: str) -> list[int]:
    """Lines (1-based) of the loops in ``code`` whose body has no break or return."""
    text = strip_comments(code)
    lines = []
    for head in _HEADS.finditer(text):
        depth, at = 1, head.end()
        while depth and at < len(text):
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            at += 1
        if not _EXIT.search(text, head.end(), at):
            lines.append(text.count("\n", 0, head.start()) + 1)
    return lines
