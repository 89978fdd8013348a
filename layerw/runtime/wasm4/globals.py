"""CartGlobals: a cart's mutable wasm globals, exported so snapshots and hashes can hold them.

A C cart keeps its state in memory (its one mutable global, the stack pointer, is back at its
start value between calls), but carts from other languages keep state in globals too
(AssemblyScript's statics and heap top). wasmtime sees only exported globals, so before compiling,
``export_globals`` adds an export ``layerw:global:N`` for every mutable number global (the bytes
of the cart are otherwise unchanged, and its module hash stays that of the original). A mutable
global of another type (v128, a reference) cannot be saved: such a cart's snapshots are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerw.cart import WASM_HEADER, WasmReader, imports
from layerw.errors import InvalidModule

EXPORT_PREFIX = "layerw:global:"
_GLOBAL_SECTION, _EXPORT_SECTION = 6, 7
_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)  # the order of known sections (custom ones, 0, go anywhere)
_NUMBER_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}
_NO_IMMEDIATE = {0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E}  # extended-const arithmetic
_LEB_IMMEDIATE = {0x41, 0x42, 0x23, 0xD2}  # i32.const, i64.const, global.get, ref.func


@dataclass(frozen=True)
class CartGlobals:
    names: tuple[str, ...]  # the added exports, in global index order
    types: tuple[str, ...]  # each one's value type: i32, i64, f32 or f64
    unsaved: int  # mutable globals of a type a snapshot cannot hold


PACK = {"i32": "<i", "i64": "<q", "f32": "<f", "f64": "<d"}  # how the state hash takes each value


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        b, value = value & 0x7F, value >> 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _skip_init(r: WasmReader) -> None:
    """Skip a constant expression up to and including its ``end``."""
    while True:
        op = r.byte()
        if op == 0x0B:
            return
        if op in _LEB_IMMEDIATE:
            r.u32()  # signed or not, a LEB128 ends at the first byte without its top bit
        elif op == 0x43:
            r.at += 4
        elif op == 0x44:
            r.at += 8
        elif op == 0xD0:
            r.byte()
        elif op == 0xFD:  # v128.const
            r.u32()
            r.at += 16
        elif op not in _NO_IMMEDIATE:
            raise InvalidModule(f"unsupported opcode 0x{op:02x} in a global's initialiser")


def export_globals(wasm: bytes) -> tuple[bytes, CartGlobals]:
    """``wasm`` with every mutable number global exported, and what was exported."""
    if not wasm.startswith(WASM_HEADER):
        raise InvalidModule("not a core wasm module")
    r = WasmReader(wasm, len(WASM_HEADER))
    sections: list[tuple[int, bytes]] = []
    imported = sum(1 for i in imports(wasm) if i.kind == "global")  # the index space counts them first
    names: list[str] = []
    types: list[str] = []
    unsaved = 0
    while r.at < len(wasm):
        section, size = r.byte(), r.u32()
        start, end = r.at, r.at + size
        if end > len(wasm):
            raise InvalidModule("wasm section runs past the end of the module")
        payload = wasm[start:end]
        if section == _GLOBAL_SECTION:
            g = WasmReader(payload)
            for index in range(imported, imported + g.u32()):
                kind, mutable = g.byte(), g.byte()
                _skip_init(g)
                if mutable and kind in _NUMBER_TYPES:
                    names.append(f"{EXPORT_PREFIX}{index}")
                    types.append(_NUMBER_TYPES[kind])
                elif mutable:
                    unsaved += 1
        sections.append((section, payload))
        r.at = end
    if not names:
        return wasm, CartGlobals((), (), unsaved)
    added = b"".join(_uleb(len(n)) + n.encode() + b"\x03" + _uleb(int(n[len(EXPORT_PREFIX):])) for n in names)
    out, placed = bytearray(WASM_HEADER), False
    for section, payload in sections:
        if section == _EXPORT_SECTION:
            e = WasmReader(payload)
            count = e.u32()
            payload = _uleb(count + len(names)) + payload[e.at:] + added
            placed = True
        elif not placed and section in _ORDER and _ORDER.index(section) > _ORDER.index(_EXPORT_SECTION):  # none yet
            out += bytes([_EXPORT_SECTION]) + _section(_uleb(len(names)) + added)
            placed = True
        out += bytes([section]) + _section(payload)
    if not placed:
        out += bytes([_EXPORT_SECTION]) + _section(_uleb(len(names)) + added)
    return bytes(out), CartGlobals(tuple(names), tuple(types), unsaved)


def _section(payload: bytes) -> bytes:
    return _uleb(len(payload)) + payload
