"""build_cart: a WASM-4 cart from its sources (C with the project's zig, or one WAT file).

A cart directory holds its sources in ``src/`` (or beside nothing else): ``*.c`` compiled and
linked as WASM-4's own build does (freestanding wasm32, ``-Oz``, memory imported with exactly one
64 KiB page, data from ``--global-base=6560`` just past the framebuffer, a 1 KiB stack, no entry
point; ``start``/``update`` are exported by ``wasm4.h``'s attributes), or a single ``*.wat``
assembled. No layerw.toml is needed: the runtime recognises the result by its imports.
"""

from __future__ import annotations

from pathlib import Path

import wasmtime

from layerw.errors import CompileError, ConfigError
from layerw.toolchain import zig

CART_TARGET = "wasm32-freestanding"
CART_PAGE = 65536
CART_CFLAGS = ["-Oz", "-nostdlib", "-W", "-Wall", "-Wextra", "-Wno-unused"]
CART_LDFLAGS = [
    f"-Wl,--no-entry,--import-memory,--initial-memory={CART_PAGE},--max-memory={CART_PAGE},--global-base=6560",
    "-Wl,-z,stack-size=1024", "-Wl,--strip-all,--gc-sections",
]
CART_NAME = "cart.wasm"


def cart_sources(directory: Path) -> list[Path]:
    """The cart's sources: ``src/*.c`` (else ``*.c``), or one ``*.wat``; empty if there are none."""
    root = directory / "src" if (directory / "src").is_dir() else directory
    return sorted(root.glob("*.c")) or sorted(root.glob("*.wat"))[:1]


def is_cart_dir(directory: Path) -> bool:
    """A directory with cart sources and no layerw.toml (a Layer-W game has one)."""
    return directory.is_dir() and not (directory / "layerw.toml").exists() and bool(cart_sources(directory))


def build_cart(directory: Path, out: Path | None = None) -> Path:
    """Compile the cart in ``directory`` to ``out`` (default DIRECTORY/build/cart.wasm)."""
    sources = cart_sources(directory)
    if not sources:
        raise ConfigError(f"{directory} has no cart sources (src/*.c or a *.wat file)")
    out = out if out is not None else directory / "build" / CART_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    if sources[0].suffix == ".wat":
        try:
            out.write_bytes(wasmtime.wat2wasm(sources[0].read_text()))
        except wasmtime.WasmtimeError as e:
            raise CompileError(f"assembling {sources[0]} failed:\n{e}") from e
        return out
    args = ["cc", f"--target={CART_TARGET}", *CART_CFLAGS, f"-I{sources[0].parent}", *map(str, sources),
            "-o", str(out), *CART_LDFLAGS]
    proc = zig.run(args)
    if proc.returncode != 0:
        raise CompileError(f"building cart {directory} failed:\n{(proc.stderr or proc.stdout).strip()}")
    return out
