"""The function names of a module's ``name`` section, as wasmtime names a backtrace's frames.

wasmtime's ``Frame.func_name`` comes from this section; the AOT tier reads it too, so that a frame
the build's symbols do not name reads the same on both tiers (a stripped game has no such section).
"""

from __future__ import annotations

from layerw.cart import WasmReader
from layerw.errors import InvalidModule

WASM_HEADER = b"\0asm\1\0\0\0"
_CUSTOM, _FUNCTION_NAMES = 0, 1


def function_names(wasm: bytes) -> dict[int, str]:
    """Function index -> name from the ``name`` section; empty without one. Spec: a malformed
    custom section does not make a module invalid, so a name section that does not parse names none."""
    names: dict[int, str] = {}
    if not wasm.startswith(WASM_HEADER):
        return names
    r = WasmReader(wasm, len(WASM_HEADER))
    try:
        while r.at < len(wasm):
            section, size = r.byte(), r.u32()
            end = r.at + size
            if section == _CUSTOM and r.name() == "name":
                while r.at < end:
                    sub, sub_size = r.byte(), r.u32()
                    sub_end = r.at + sub_size
                    if sub == _FUNCTION_NAMES:
                        for _ in range(r.u32()):
                            index = r.u32()
                            names[index] = r.name()
                    r.at = sub_end
            r.at = end
    except InvalidModule:
        return {}
    return names
