"""ComponentCore: the game's own core module inside a game component, when that is all it holds.

``layerw build --component`` makes a game without plugins into one core module (the game and
lw_component.c) plus wit-component's routing modules (a shim and a fixup that only pass the
module's imports through a table, because canon lower needs the module's memory before it exists).
Such a component can run as that module with the world's canonical ABI done by the host, as jco
does in browsers (``CanonGame``). ``game_core`` finds the module and checks every import and export
against the world's flattened types (derived from ``abi``'s WIT signatures); anything else (a WASI
adapter, a plugin interface, a nested component) answers None and runs on wasmtime's component
runtime. Spec: https://github.com/WebAssembly/component-model/blob/main/design/mvp/Binary.md
"""

from __future__ import annotations

import re
from collections.abc import Callable

import wasmtime

from layerw import abi
from layerw.errors import LayerWError

PREAMBLE = b"\0asm\x0d\x00\x01\x00"  # component binary, layer 1
CORE_MODULE_SECTION = 1
COMPONENT_SECTION = 4
I32, I64 = "i32", "i64"
HOST_MODULE = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_HOST}@{abi.WIT_PACKAGE.partition('@')[2]}"
STATE_PREFIX = f"{abi.WIT_PACKAGE.partition('@')[0]}/{abi.WIT_STATE}@{abi.WIT_PACKAGE.partition('@')[2]}#"
REALLOC = "cabi_realloc"
_FUNC = re.compile(r"func\((?P<params>.*?)\)(?:\s*->\s*(?P<result>.+))?$")
_SCALARS = {"s32": I32, "u32": I32, "u64": I64}

Flat = tuple[tuple[str, ...], tuple[str, ...]]


def flatten(wit: str, *, lowered: bool) -> Flat:
    """The core signature of a WIT function of this world: strings and lists are (pointer, length);
    a result that is not a scalar lives in memory, behind a pointer the guest returns (an export)
    or passes as a last parameter (a ``lowered`` import). Spec: CanonicalABI.md, flattening."""
    match = _FUNC.match(wit)
    if match is None:
        raise ValueError(f"not a WIT function type: {wit!r}")
    params: list[str] = []
    for param in filter(None, (p.strip() for p in match["params"].split(","))):
        ty = param.partition(":")[2].strip()
        params.extend([_SCALARS[ty]] if ty in _SCALARS else [I32, I32])
    result = (match["result"] or "").strip()
    if not result:
        return tuple(params), ()
    if result in _SCALARS:
        return tuple(params), (_SCALARS[result],)
    return (tuple(params) + (I32,), ()) if lowered else (tuple(params), (I32,))


def host_imports() -> dict[str, Flat]:
    """The host functions a game component may import, by WIT name, in lowered form."""
    return {sig.wit_name: flatten(sig.wit, lowered=True) for sig in abi.IMPORTS}


def game_exports() -> dict[str, Flat]:
    """The core functions the game module must export for the world, by core export name."""
    funcs = {sig.wit_name: flatten(sig.wit, lowered=False) for sig in abi.EXPORTS if sig.wit}
    funcs |= {STATE_PREFIX + sig.wit_name: flatten(sig.wit, lowered=False) for sig in abi.STATE_EXPORTS}
    funcs["_initialize"] = ((), ())
    funcs[REALLOC] = ((I32, I32, I32, I32), (I32,))
    return funcs


def core_modules(component: bytes) -> list[bytes] | None:
    """The core modules at a component's top level, in order; None if it is not a component
    binary or nests a component that holds code (wit-component nests code-free components that
    only give an exported interface its types)."""
    spans = core_module_spans(component)
    return None if spans is None else [component[start:end] for start, end in spans]


def core_module_spans(component: bytes) -> list[tuple[int, int]] | None:
    """Where ``core_modules``' modules lie in the component's bytes, (start, end) each: wasmtime's
    backtraces of a component count code offsets from the component's start."""
    if not component.startswith(PREAMBLE):
        return None
    spans: list[tuple[int, int]] = []
    at = len(PREAMBLE)
    while at < len(component):
        section = component[at]
        size, at = _leb(component, at + 1)
        if at + size > len(component):
            return None
        if section == CORE_MODULE_SECTION:
            spans.append((at, at + size))
        elif section == COMPONENT_SECTION and core_modules(component[at:at + size]) != []:
            return None
        at += size
    return spans


def game_core(component: bytes, compile: Callable[[bytes], wasmtime.Module]) -> tuple[bytes, wasmtime.Module] | None:
    """The game's core module, its bytes and compiled by ``compile`` (e.g. ``Engine.compile`` and its
    cache), if the component is that module plus routing modules only and the module imports and exports
    exactly what the world lowers to; else None."""
    modules = core_modules(component)
    if not modules:
        return None
    game: tuple[bytes, wasmtime.Module] | None = None
    for binary in modules:
        try:
            module = compile(binary)
        except (LayerWError, wasmtime.WasmtimeError):
            return None
        if any(isinstance(e.type, wasmtime.MemoryType) for e in module.exports):
            if game is not None or not _is_game(module):
                return None
            game = binary, module
        elif not _is_routing(module):
            return None
    return game


def _is_game(module: wasmtime.Module) -> bool:
    offered = host_imports()
    for imp in module.imports:
        if imp.module != HOST_MODULE or imp.name not in offered or not isinstance(imp.type, wasmtime.FuncType):
            return False
        if _flat(imp.type) != offered[imp.name]:
            return False
    exports = {e.name: e.type for e in module.exports}
    for name, want in game_exports().items():
        ty = exports.get(name)
        if not isinstance(ty, wasmtime.FuncType) or _flat(ty) != want:
            return False
    return not any(name.startswith("cabi_post_") for name in exports)  # this world's glue has no post-return


def _is_routing(module: wasmtime.Module) -> bool:
    """wit-component's shim or fixup: functions and tables only, no memory or global of its own."""
    kinds = (wasmtime.FuncType, wasmtime.TableType)
    return all(isinstance(i.type, kinds) for i in module.imports) and all(isinstance(e.type, kinds) for e in module.exports)


def _flat(ty: wasmtime.FuncType) -> Flat:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def _leb(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 35:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at
    return len(data) + 1, len(data)  # truncated or over-long: a size past the end, refused by the caller
