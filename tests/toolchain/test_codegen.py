"""The C header and the JS module are generated from layerw.abi and must not drift from it."""

from __future__ import annotations

import re

from layerw import abi
from layerw.toolchain import codegen


def test_generated_files_match_the_abi() -> None:
    for path, make in codegen.GENERATED.items():
        assert path.read_text() == make(), f"{path} drifted: run `make codegen`"  # type: ignore[operator]


def test_generated_files_say_so_on_their_first_line() -> None:
    for path in codegen.GENERATED:
        assert "GENERATED" in path.read_text().splitlines()[0] and "Do not edit" in path.read_text().splitlines()[0]


def test_header_and_js_agree_on_sizes_and_opcodes() -> None:
    header = codegen.C_HEADER.read_text()
    js = codegen.JS_MODULE.read_text()
    for s in abi.STRUCTS:
        assert f"_Static_assert(sizeof({s.name}) == {s.size}" in header
        assert re.search(rf'"{s.name}": {{"size": {s.size},', js)
    for op in abi.OPS:
        assert f"#define LW_OP_{op.name} {op.code}\n" in header
        assert f'"{op.name}": {{"code": {op.code},' in js
    assert f"#define LW_ABI_VERSION {abi.ABI_VERSION}\n" in header
    assert f"export const ABI_VERSION = {abi.ABI_VERSION};" in js


def test_struct_layouts_are_packed_and_aligned() -> None:
    for s in abi.STRUCTS:
        assert s.dtype.itemsize == s.size and s.size % 4 == 0
    assert abi.INPUT.size == 16 + abi.MAX_PLAYERS * abi.PLAYER.size + abi.MAX_EVENTS * abi.EVENT.size
