"""Contract checks: does a compiled module export what the contract needs and import only what
hosts offer? Run by ``layerw build`` (so a bad game never ships) and again by every host."""

from __future__ import annotations

import wasmtime

from layerw import abi
from layerw.errors import ContractError


def _sig(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def check_module(module: wasmtime.Module, game: str = "game") -> None:
    """Raise ContractError naming every missing export and every import no host offers."""
    problems: list[str] = []
    exports = {e.name: e.type for e in module.exports}
    if not isinstance(exports.get(abi.EXPORTED_MEMORY), wasmtime.MemoryType):
        problems.append(f"missing export: memory '{abi.EXPORTED_MEMORY}'")
    for sig in abi.EXPORTS:
        ty = exports.get(sig.name)
        if not isinstance(ty, wasmtime.FuncType):
            problems.append(f"missing export: function '{sig.name}' ({sig.doc})")
        elif _sig(ty) != (sig.params, sig.results):
            problems.append(f"export '{sig.name}' has signature {_sig(ty)}, the contract says {(sig.params, sig.results)}")
    offered = {sig.name: sig for sig in abi.IMPORTS}
    for imp in module.imports:
        where = f"{imp.module}.{imp.name}"
        if imp.module == abi.IMPORT_MODULE and imp.name in offered:
            want = offered[imp.name]
            if not isinstance(imp.type, wasmtime.FuncType) or _sig(imp.type) != (want.params, want.results):
                problems.append(f"import '{where}' has the wrong signature")
        elif imp.module == abi.WASI_MODULE and imp.name in abi.WASI_IMPORTS:
            continue
        elif imp.module == abi.WASI_MODULE:
            problems.append(f"unknown import '{where}': hosts offer no such WASI capability "
                            "(no files, sockets or threads; use assets instead of files)")
        else:
            problems.append(f"unknown import '{where}': hosts offer only '{abi.IMPORT_MODULE}' "
                            f"({', '.join(sorted(offered))}) and a WASI stdio/clock/random subset")
    if problems:
        raise ContractError(f"{game} does not follow the Layer-W contract:\n  - " + "\n  - ".join(problems))


def wasm_features(config: wasmtime.Config | None = None) -> wasmtime.Config:
    """The wasm features a game module may use, set on ``config`` (default: a new one): SIMD128, and
    exception handling (exnref) for C++ built with [build] exceptions. Every engine that compiles or
    validates a game uses these."""
    config = config or wasmtime.Config()
    config.wasm_simd = True
    config.wasm_exceptions = True
    return config
