"""Drawing: WASM-4's drawing functions as one wasm module, linked straight to a cart's imports.

``web/wasm4fb.wasm`` (built from ``toolchain/runtime/lw_wasm4fb.c``, the module browsers run too)
imports the cart's memory and exports blit, blitSub, line, hline, vline, rect, oval and text with
WASM-4's signatures. It is instantiated in the cart's own Store, so a draw is a wasm-to-wasm call
under the same CPU limit, and never enters Python. Its two imports are the host's own drawing
(``Framebuffer`` through ``CartImports``), called only for a sprite that reads past the end of
memory or overlaps the framebuffer, or a string inside the framebuffer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import wasmtime

MODULE_PATH = Path(__file__).resolve().parents[2] / "web" / "wasm4fb.wasm"
FUNCTIONS = ("blit", "blitSub", "line", "hline", "vline", "oval", "rect", "text")
HOST_MODULE = "host"


@functools.cache
def module_bytes() -> bytes:
    return MODULE_PATH.read_bytes()


def instantiate(store: wasmtime.Store, module: wasmtime.Module, memory: wasmtime.Memory,
                host: dict[str, Callable[..., None]]) -> dict[str, wasmtime.Func]:
    """The drawing functions over ``memory``, the fallbacks ``host["blit"]`` (blitSub's arguments)
    and ``host["text"]`` (text's) linked in; ``module`` is ``module_bytes()`` compiled by the cart's engine."""
    i32 = wasmtime.ValType.i32()
    imports: list[wasmtime.Func | wasmtime.Memory] = []
    for imp in module.imports:
        if imp.module == HOST_MODULE and isinstance(imp.type, wasmtime.FuncType) and imp.name in host:
            imports.append(wasmtime.Func(store, wasmtime.FuncType([i32] * len(imp.type.params), []), host[imp.name]))
        elif imp.module == "env" and imp.name == "memory":
            imports.append(memory)
        else:
            raise TypeError(f"{MODULE_PATH.name} asks for {imp.module}.{imp.name}, which the host does not give")
    exports = wasmtime.Instance(store, module, imports).exports(store)
    funcs: dict[str, wasmtime.Func] = {}
    for name in FUNCTIONS:
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        funcs[name] = func
    return funcs
