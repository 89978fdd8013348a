"""Cart: a WASM-4 cart, recognised by its imports, and ``CartBundle``, a lone cart file as a Bundle.

# Spec: https://wasm4.org/docs/reference/functions (the ``env`` imports) and /docs/reference/memory.
A cart imports from ``env``: its memory (one 64 KiB page) and some of WASM-4's functions.
That is enough to tell one from a Layer-W game (which imports ``layerw`` and WASI) without
compiling it: ``imports`` reads the module's import section. ``CartBundle`` gives a cart the
config WASM-4 fixes (160x160, 60 ticks a second, 4 players, 64 KiB), so ``layerw run CART.wasm``
needs no layerw.toml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from layerw.abi import IMPORT_MODULE
from layerw.bundle import Bundle
from layerw.config import GameConfig
from layerw.errors import AssetNotFound, ConfigError, GameOutOfMemory, InvalidModule

CART_MODULE = "env"
CART_SIGNATURES: dict[str, tuple[int, int]] = {  # WASM-4's functions (wasm4.h): (i32 parameters, i32 results)
    "blit": (6, 0), "blitSub": (9, 0), "line": (4, 0), "hline": (3, 0), "vline": (3, 0), "oval": (4, 0),
    "rect": (4, 0), "text": (3, 0), "textUtf8": (4, 0), "textUtf16": (4, 0), "tone": (4, 0),
    "diskr": (2, 1), "diskw": (2, 1), "trace": (1, 0), "traceUtf8": (2, 0), "traceUtf16": (2, 0), "tracef": (2, 0),
}
CART_FUNCTIONS = frozenset(CART_SIGNATURES)
CART_PAGES = 1
SCREEN = 160
TICK_RATE = 60
# A cart spends most of its tick in the host's drawing functions, which count against its CPU
# deadline too (wasmtime's epochs advance in wall time): a second bounds a runaway cart without
# failing a busy one on a loaded machine.
TICK_MS = 1000
WASM_HEADER = b"\0asm\x01\0\0\0"  # a core module, version 1 (components differ in the version)
_TYPE_SECTION = 1
_IMPORT_SECTION = 2
_MEMORY_SECTION = 5
_CODE_SECTION = 10
_KINDS = ("func", "table", "memory", "global", "tag")
_VALUE_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}
FuncType = tuple[tuple[str, ...], tuple[str, ...]]  # (parameter types, result types)


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str  # one of _KINDS
    limits: tuple[int, int | None] | None = None  # (min, max) pages of a memory, else None
    type_index: int | None = None  # a function's index in the type section, else None


class WasmReader:
    """Reads a wasm binary: bytes, LEB128 numbers, names, limits; past the end is InvalidModule."""

    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data, self.at = data, at

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise InvalidModule("wasm module ends early (truncated or malformed)")
        self.at += 1
        return self.data[self.at - 1]

    def u32(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise InvalidModule("malformed LEB128 number in wasm module")

    def name(self) -> str:
        n = self.u32()
        raw = self.data[self.at:self.at + n]
        if len(raw) != n:
            raise InvalidModule("wasm module ends inside an import name")
        self.at += n
        return raw.decode("utf-8", "replace")

    def limits(self) -> tuple[int, int | None]:
        flags = self.byte()
        low = self.u32()
        return low, (self.u32() if flags & 1 else None)


def sections(wasm: bytes) -> Iterator[tuple[int, WasmReader]]:
    """Each section of a core module (none for anything else): its id and a reader at its contents."""
    if not wasm.startswith(WASM_HEADER):
        return
    r = WasmReader(wasm, len(WASM_HEADER))
    while r.at < len(wasm):
        section, size = r.byte(), r.u32()
        yield section, WasmReader(wasm, r.at)
        r.at += size


def code_at(wasm: bytes) -> int:
    """Where a core module's code section's contents start (-1: it has none): a rewrite that leaves
    the code alone moves every code offset by the difference of two of these."""
    return next((r.at for section, r in sections(wasm) if section == _CODE_SECTION), -1)


def section_ids(wasm: bytes) -> set[int]:
    """The ids of the sections of a core module (empty for anything else)."""
    return {section for section, _ in sections(wasm)}


def func_types(wasm: bytes) -> list[FuncType] | None:
    """The function types of a core module's type section ([] without one); None when it holds a type
    this reader does not know (the GC proposal's), for wasmtime or the browser to judge at link time."""
    for section, r in sections(wasm):
        if section != _TYPE_SECTION:
            continue
        out: list[FuncType] = []
        for _ in range(r.u32()):
            if r.byte() != 0x60:
                return None
            sides: list[tuple[str, ...]] = []
            for _side in range(2):
                codes = [r.byte() for _ in range(r.u32())]
                if any(c not in _VALUE_TYPES for c in codes):
                    return None
                sides.append(tuple(_VALUE_TYPES[c] for c in codes))
            out.append((sides[0], sides[1]))
        return out
    return []


def wat_type(func: FuncType) -> str:
    """A function type as WAT writes it: (param i32 i32) (result i32)."""
    params, results = func
    return " ".join(f"({side} {' '.join(types)})" for side, types in (("param", params), ("result", results)) if types) \
        or "(no parameters or results)"


def imports(wasm: bytes) -> list[Import]:
    """The import section of a core module (empty for anything else: a component, WAT, junk)."""
    for section, r in sections(wasm):
        if section != _IMPORT_SECTION:
            continue
        out = []
        for _ in range(r.u32()):
            module, name, kind = r.name(), r.name(), r.byte()
            limits, type_index = None, None
            if kind == 0:
                type_index = r.u32()
            elif kind == 1:
                r.byte()
                r.limits()
            elif kind == 2:
                limits = r.limits()
            elif kind == 3:
                r.byte()
                r.byte()
            elif kind == 4:
                r.byte()
                r.u32()
            else:
                raise InvalidModule(f"unknown import kind {kind} in wasm module")
            out.append(Import(module, name, _KINDS[kind], limits, type_index))
        return out
    return []


def is_cart(wasm: bytes) -> bool:
    """True for a WASM-4 cart: a core module importing WASM-4's memory or one of its functions from
    ``env``, and nothing from Layer-W's own module. A cart that also imports what WASM-4 does not
    offer (a toolchain's leftover WASI or ``env.abort``) is still one: ``check_cart`` refuses it by name."""
    try:
        found = imports(wasm)
    except InvalidModule:
        return False
    return (any(i.module == CART_MODULE and (i.name in CART_FUNCTIONS or i.name == "memory") for i in found)
            and all(i.module != IMPORT_MODULE for i in found))


def check_cart(wasm: bytes, name: str) -> None:
    """Refuse a cart the WASM-4 profile cannot run: more than one 64 KiB page (GameOutOfMemory),
    no imported memory, an import WASM-4 does not offer, or one of its functions declared with
    another type (InvalidModule, naming it: WASM-4's native runtime refuses such a cart when it links
    it; a browser would link a JavaScript function of any type, so both hosts check here, alike)."""
    found = imports(wasm)
    memories = [i for i in found if i.kind == "memory"]
    if len(memories) != 1 or memories[0].name != "memory":
        own = (": it defines its own memory, where WASM-4's registers and framebuffer are not; link it with "
               "--import-memory" if _MEMORY_SECTION in section_ids(wasm) else "")
        raise InvalidModule(f"{name}: a WASM-4 cart imports its memory as env.memory (found "
                            f"{', '.join(f'{i.module}.{i.name}' for i in memories) or 'none'}){own}")
    low = memories[0].limits[0] if memories[0].limits else 0  # an open maximum is fine: the host's is 1
    if low > CART_PAGES:
        raise GameOutOfMemory(f"{name} asks for {low} pages of memory; a WASM-4 cart has exactly "
                              f"{CART_PAGES} (64 KiB)", game=name, tick=0)
    unknown = sorted(f"{i.module}.{i.name} ({i.kind})" for i in found if i.module != CART_MODULE or
                     (i.kind != "memory" and (i.kind != "func" or i.name not in CART_FUNCTIONS)))
    if unknown:
        raise InvalidModule(f"{name} imports {', '.join(unknown)}, which WASM-4 does not offer; "
                            f"a cart may import env.{', env.'.join(sorted(CART_FUNCTIONS))} and env.memory")
    types = func_types(wasm)
    wrong = [] if types is None else [
        f"env.{i.name} as {wat_type(types[i.type_index])}, WASM-4's is {wat_type(cart_signature(i.name))}"
        for i in found if i.kind == "func" and i.type_index is not None and i.type_index < len(types)
        and types[i.type_index] != cart_signature(i.name)]
    if wrong:
        raise InvalidModule(f"{name} declares {'; '.join(wrong)}: the cart cannot be linked (fix its declarations "
                            "to wasm4.h's)")


def cart_signature(name: str) -> FuncType:
    """WASM-4's type of function ``name``: every parameter and result an i32."""
    params, results = CART_SIGNATURES[name]
    return ("i32",) * params, ("i32",) * results


def cart_name(path: Path) -> str:
    """A game name ([a-z0-9-]) from a cart's file name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-")[:64]
    return slug or "cart"


def cart_config(name: str, *, players: int = 4) -> GameConfig:
    """The config WASM-4 fixes for every cart."""
    config = GameConfig(name=name, tick_rate=TICK_RATE, width=SCREEN, height=SCREEN, players=players, memory_mb=1,
                        tick_ms=TICK_MS)
    config.check(f"cart {name}")
    return config


class CartBundle(Bundle):
    """A cart file run as it is: no build directory, no assets."""

    def __init__(self, path: Path, *, name: str | None = None, players: int = 4) -> None:
        self.path = Path(path)
        try:
            self.module = self.path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read cart {self.path}: {e}") from e
        if not is_cart(self.module):
            raise ConfigError(f"{self.path} is not a WASM-4 cart (a wasm module importing WASM-4's memory or "
                              "functions from env); a Layer-W game runs from its build directory (`layerw build`)")
        self.config = cart_config(name or cart_name(self.path), players=players)

    def asset_names(self) -> set[str]:
        return set()

    def read_asset(self, name: str) -> bytes:
        raise AssetNotFound(f"{self.config.name} is a WASM-4 cart: it has no asset {name!r}")
