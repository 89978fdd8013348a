"""Endless WGSL loops, found before a shader reaches the GPU: ``loop {}``, ``while true`` and
``for (;;)`` whose body has no ``break`` or ``return`` (in it or in a loop inside it); and every
loop bounded (``bound_loops``) before a shader is compiled for a frame, natively and in browsers.

A WGSL loop can run as long as a driver lets it: lavapipe cuts every loop at 65535 iterations
(Mesa's gallivm limit), a desktop driver's watchdog resets the GPU after a second or two (a lost
device), and nothing else bounds it. Whether a loop ends is undecidable in general; this check
refuses the loops that cannot end at all, so a guest's typo fails ``layerw build`` with its line
rather than stalling a player's GPU. Loops with a condition (``for (...; i < n; ...)``, ``while c``)
pass, however long they run: ``bound_loops`` makes every loop break once the invocation's loops have
gone round ``abi.GPU_MAX_LOOP_ITERATIONS`` times in all (nested loops and loops in called functions
share one count), so a data-dependent loop nest ends the same way on every driver instead of at a
watchdog's reset.

Loops stay as uniform as they were. A loop holding a collective operation (an implicit-LOD sample, a
derivative, a barrier: ``_COLLECTIVE``, in it or in a function it calls) must exit in uniform
control flow, so it cannot read a count that non-uniform loops add to: such loops count in a
function variable of their own nest's (its outermost loop's counter, each inner one handing its count
back when it ends), which only such loops (uniform ones, or the shader does not compile) add to.
The other loops read and add to the invocation's count, a ``var<private>``; the collective ones add
to it too, so the loops after them get what is left. (A compiler takes what such a loop computes as
non-uniform now, since its end reads that count: a shader branching on it around a collective
operation must compute it otherwise.)
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
_BLANK = r"[\t\n\v\f\r \u0085\u200e\u200f\u2028\u2029]"  # Spec: WGSL 3.2 (blankspace), spelled out as in wgslloops.js
# Spec: WGSL 15.2 (uniformity): the builtins that must be called in uniform control flow
_COLLECTIVE = re.compile(r"\b(?:textureSample(?:Bias|Compare)?|dpd[xy](?:Coarse|Fine)?|fwidth(?:Coarse|Fine)?"
                         r"|workgroupBarrier|storageBarrier|textureBarrier|workgroupUniformLoad"
                         r"|subgroup[A-Z][A-Za-z]*|quad(?:Broadcast|Swap[A-Z][A-Za-z]*))" + _BLANK + r"*\(", re.ASCII)
# A function's head up to its body's "{"
_FUNCTIONS = re.compile(r"\bfn" + _BLANK + r"+([A-Za-z_][A-Za-z0-9_]*)" + _BLANK + r"*\([^{]*\{", re.ASCII)
_CALLS = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)" + _BLANK + r"*\(", re.ASCII)
COUNTER = "lw_loop_"  # + the loop's number: the counter bound_loops declares before the loop
TOTAL = "lw_loops"  # the invocation's count of loop iterations, a var<private>


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
    closing = _closing(text)
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


def _closing(text: str) -> dict[int, int]:
    """Each "{" of ``text`` -> its "}" (an unclosed one is left out)."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for m in _BRACES.finditer(text):
        if m.group() == "{":
            opened.append(m.start())
        elif opened:
            closing[opened.pop()] = m.start()
    return closing


def _collective(text: str, functions: set[str]) -> bool:
    """Whether ``text`` calls a collective builtin or one of ``functions``."""
    return _COLLECTIVE.search(text) is not None or any(m.group(1) in functions for m in _CALLS.finditer(text))


def _collective_functions(text: str, closing: dict[int, int]) -> set[str]:
    """Names of the functions of ``text`` (comments stripped) that call a collective builtin, or a function that does."""
    calls: dict[str, set[str]] = {}
    found: set[str] = set()
    for m in _FUNCTIONS.finditer(text):
        body = text[m.end() - 1:closing.get(m.end() - 1, len(text))]
        calls[m.group(1)] = {c.group(1) for c in _CALLS.finditer(body)}
        if _COLLECTIVE.search(body) is not None:
            found.add(m.group(1))
    grew = True
    while grew:
        grew = False
        for name, called in calls.items():
            if name not in found and not called.isdisjoint(found):
                found.add(name)
                grew = True
    return found


def bound_loops(code: str) -> str:
    """``code`` without comments, each loop preceded by a counter and its body opening with a break
    once that counter reaches ``abi.GPU_MAX_LOOP_ITERATIONS``: the invocation's count, or for a loop
    holding a collective operation its nest's (see the module's docstring). Lines stay where they
    were (a compiler's line numbers hold), and uniform loops stay uniform."""
    text = strip_comments(code)
    closing = _closing(text)
    functions = _collective_functions(text, closing)
    cap = f"{abi.GPU_MAX_LOOP_ITERATIONS}u"
    edits: list[tuple[int, int, str]] = []  # (where, order there: hand back, check, declare; text)
    enclosing: list[tuple[int, str]] = []  # the loops around this one: (the end of its body, its counter)
    for n, head in enumerate(_LOOPS.finditer(text)):
        name, body = f"{COUNTER}{n}", head.end() - 1
        end = closing.get(body, len(text))
        while enclosing and enclosing[-1][0] < head.start():
            enclosing.pop()
        if not _collective(text[head.start():end], functions):
            edits += [(head.start(), 2, f"var {name}: u32 = {TOTAL}; "),
                      (head.end(), 1, f" if {name} >= {cap} {{ break; }} {TOTAL} += 1u; {name} = {TOTAL};")]
        else:  # the loops around it hold it, so they are collective too: it counts in its nest's counter
            outer = enclosing[-1][1] if enclosing else ""
            edits += [(head.start(), 2, f"var {name}: u32 = {outer or '0u'}; "),
                      (head.end(), 1, f" if {name} >= {cap} {{ break; }} {name} += 1u; {TOTAL} += 1u;")]
            if outer and body in closing:
                edits.append((end + 1, 0, f" {outer} = {name};"))
        enclosing.append((end, name))
    out: list[str] = []
    at = 0
    for where, _, insert in sorted(edits):
        out += [text[at:where], insert]
        at = where
    out.append(text[at:])
    if edits:
        out.append(f" var<private> {TOTAL}: u32;")
    return "".join(out)
