"""The C header, the JS modules and the WIT world are generated from layerw.abi, layerw.wire
and layerw.errors, and must not drift from them."""

from __future__ import annotations

import json
import re

import pytest

from layerw import abi, errors, wire
from layerw.session import host, room
from layerw.session import protocol as p
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


# --- the browser's copies of the wire's constants and of the error tree ------------------------------

WEB = codegen.PACKAGE / "web"
JS_CONST = re.compile(r"^export const (\w+) = (?:Object\.freeze\((.*)\)|(.*?));(?: //.*)?$", re.M)
JS_CLASS = re.compile(r"^export class (\w+) extends (\w+) \{(?:\n  static fields = Object\.freeze\((.*)\);)?", re.M)


def _js_consts(text: str) -> dict[str, object]:
    return {name: json.loads(frozen or plain) for name, frozen, plain in JS_CONST.findall(text)}


def _js_error_tree(text: str) -> dict[str, tuple[str, dict[str, object]]]:
    """Class name -> (parent, fields, inherited ones included) as errors.js declares them."""
    tree: dict[str, tuple[str, dict[str, object]]] = {}
    for name, parent, fields in JS_CLASS.findall(text):
        tree[name] = (parent, json.loads(fields) if fields else tree.get(parent, ("", {}))[1])
    return tree


def test_wire_js_holds_every_wire_constant_with_the_servers_value() -> None:
    consts = _js_consts(codegen.WIRE_JS.read_text())
    python = {name: value for name, value in vars(wire).items() if name.isupper()}
    assert set(consts) == set(python)
    for name, value in python.items():
        assert consts[name] == codegen._js_value(value), name
    assert consts["KEPT_SNAPSHOTS"] == room.KEPT_SNAPSHOTS and consts["CLOSE_INTERNAL"] == host.CLOSE_INTERNAL
    assert consts["HELLO"] == p.HELLO and consts["MAX_CLIENT_MESSAGE"] == p.MAX_CLIENT_MESSAGE


def test_a_changed_wire_constant_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    on_disk = codegen.WIRE_JS.read_text()
    assert codegen.wire_module() == on_disk
    monkeypatch.setattr(wire, "KEPT_SNAPSHOTS", wire.KEPT_SNAPSHOTS + 1)
    changed = codegen.wire_module()
    assert changed != on_disk
    assert _js_consts(changed)["KEPT_SNAPSHOTS"] == wire.KEPT_SNAPSHOTS


def test_errors_js_is_the_python_tree() -> None:
    tree = _js_error_tree(codegen.ERRORS_JS.read_text())
    classes = codegen.error_classes()
    assert list(tree) == [c.__name__ for c in classes]
    for cls in classes:
        parent = codegen.error_parent(cls)
        assert tree[cls.__name__][0] == (parent.__name__ if parent else "ErrorBase"), cls.__name__
    assert tree["GameCrashed"] == ("GameError", {"game": "", "tick": -1, "trapCode": ""})
    assert tree["PluginCrashed"][1] == {"game": "", "tick": -1, "plugin": "", "trapCode": ""}
    assert tree["GameTimedOut"] == ("GameError", {"game": "", "tick": -1})  # inherited


def test_a_new_python_error_class_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    on_disk = codegen.ERRORS_JS.read_text()
    assert codegen.errors_module() == on_disk
    seat_taken = type("SeatTaken", (errors.SessionError,), {"__doc__": "Someone sat there first."})
    monkeypatch.setattr(errors, "SeatTaken", seat_taken, raising=False)
    changed = codegen.errors_module()
    assert changed != on_disk
    assert _js_error_tree(changed)["SeatTaken"] == ("SessionError", {})
    assert "/** Someone sat there first. */" in changed


def test_every_error_the_web_client_imports_is_generated() -> None:
    text = codegen.ERRORS_JS.read_text()
    exported = set(_js_error_tree(text)) | set(re.findall(r"^export const (\w+) = \w+;$", text, re.M))
    for path in WEB.glob("*.js"):
        for names in re.findall(r'import \{([^}]*)\} from "\./errors\.js"', path.read_text()):
            imported = {n.strip() for n in names.split(",") if n.strip()}
            assert imported <= exported, f"{path.name} imports {sorted(imported - exported)} that errors.py does not define"


def test_no_hand_written_web_module_copies_a_wire_constant() -> None:
    names = {name for name in vars(wire) if name.isupper()}
    generated = {path.name for path in codegen.GENERATED}
    literal = r"^\s*(?:export\s+)?(?:const|let|var)\s+(\w+)\s*=\s*(?:0x[0-9a-fA-F]+|\d|\[|new Set)"
    for path in WEB.glob("*.js"):
        if path.name in generated:
            continue
        copied = set(re.findall(literal, path.read_text(), re.M)) & names
        assert not copied, f"{path.name} copies {sorted(copied)}: import them from wire.js"
