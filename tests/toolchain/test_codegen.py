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


# --- the WIT world: parsed back from the file and laid out by the canonical ABI ----------------------
# Spec: https://github.com/WebAssembly/component-model/blob/main/design/mvp/CanonicalABI.md (size, alignment)

SCALAR_LAYOUT = {"u8": (1, 1), "u16": (2, 2), "u32": (4, 4), "s32": (4, 4), "f32": (4, 4), "u64": (8, 8)}


def _wit_records(text: str) -> dict[str, list[tuple[str, str]]]:
    records = {}
    for name, body in re.findall(r"record (\S+) \{([^}]*)\}", text):
        fields = [f for f in codegen._split_top(body.replace("\n", " ")) if ":" in f]
        records[name] = [(n.strip(), t.strip()) for n, t in (f.split(":", 1) for f in fields)]
    return records


def _layout(ty: str, records: dict[str, list[tuple[str, str]]]) -> tuple[int, int]:
    """(size, alignment) of a WIT type in linear memory."""
    if ty in SCALAR_LAYOUT:
        return SCALAR_LAYOUT[ty]
    if ty.startswith("list<"):
        return 8, 4
    members = codegen._split_top(ty[len("tuple<"):-1]) if ty.startswith("tuple<") else [t for _, t in records[ty]]
    size, align = 0, 1
    for member in members:
        s, a = _layout(member, records)
        size = -(-size // a) * a + s
        align = max(align, a)
    return -(-size // align) * align, align


def test_wit_records_have_the_c_layouts() -> None:
    records = _wit_records(codegen.WIT_WORLD.read_text())
    for s in abi.STRUCTS:
        name = codegen.wit_ident(s.name)
        assert [n.lstrip("%") for n, _ in records[name]] == [f.name.replace("_", "-") for f in s.fields], s.name
        assert _layout(name, records) == (s.size, 4), s.name
        at = 0
        for (_, ty), f in zip(records[name], s.fields, strict=True):
            size, align = _layout(ty, records)
            at = -(-at // align) * align
            assert at == s.offsets[f.name], f"{s.name}.{f.name}"
            at += size


def test_wit_world_is_versioned_with_the_abi_and_names_every_function() -> None:
    text = codegen.WIT_WORLD.read_text()
    assert f"package layerw:game@{abi.ABI_VERSION}.0.0;" in text
    assert f'export const WIT_PACKAGE = "{abi.WIT_PACKAGE}";' in codegen.JS_MODULE.read_text()
    for sig in abi.IMPORTS + abi.STATE_EXPORTS:
        assert f"    {sig.wit_name}: {sig.wit};" in text
    for sig in abi.EXPORTS:
        assert (f"    export {sig.wit_name}: {sig.wit};" in text) == bool(sig.wit)


def test_header_imports_follow_the_canonical_lowering() -> None:
    header = codegen.C_HEADER.read_text()
    assert f'import_module("{codegen.wit_interface(abi.WIT_HOST)}"), import_name(wit)' in header
    for sig in abi.IMPORTS:
        direct = codegen.core_signature(sig.wit, lift=False) == (sig.params, sig.results)
        assert codegen.lowers_directly(sig) == direct
        guarded = f'#ifndef LW_COMPONENT /* component builds: defined by lw_component.c */\nLW__HOST("{sig.name}"'
        assert (guarded in header) == (not direct), sig.name
    # the entry points' lifted signatures are what lw_component.c exports
    assert codegen.core_signature("func(seed: u64) -> io", lift=True) == (("i64",), ("i32",))
    assert codegen.core_signature("func(input: list<u8>)", lift=True) == (("i32", "i32"), ())
    assert codegen.core_signature("func(handle: s32, offset: s32, len: s32) -> option<list<u8>>", lift=False) == (
        ("i32", "i32", "i32", "i32"), ())
