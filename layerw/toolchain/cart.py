"""build_cart: a WASM-4 cart as a Layer-W build directory, from its sources or a cart file.

A cart directory holds its sources in ``src/`` (or at its top): ``*.c`` compiled and linked as
WASM-4's own build does (freestanding wasm32, ``-Oz``, memory imported with exactly one 64 KiB
page, data from ``--global-base=6560`` just past the framebuffer, a 1 KiB stack, no entry point;
``start``/``update`` are exported by ``wasm4.h``'s attributes), or a single ``*.wat`` assembled.
A built cart file (``.wasm``) is taken as it is. The build directory is what any game's is
(``layerw.toml`` with the config WASM-4 fixes plus the cart's name, version and players, and
``game.wasm``), so ``layerw run`` and ``layerw publish`` take it unchanged; hosts recognise the
cart by its imports. With ``replay_twin`` (``layerw build --replay-twin``) it also holds the cart's replay
twin and offset map (replaytwin.py), as a development build of a game does, so a browser's game worker
names the functions a timed-out ``update`` ran in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import wasmtime

from layerw.bundle import MODULE_NAME
from layerw.cart import cart_config, cart_name, check_cart
from layerw.config import CONFIG_NAME
from layerw.errors import CompileError, ConfigError
from layerw.toolchain import zig
from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, make_twin

CART_TARGET = "wasm32-freestanding"
CART_PAGE = 65536
CART_CFLAGS = ["-Oz", "-nostdlib", "-W", "-Wall", "-Wextra", "-Wno-unused"]
CART_LDFLAGS = [
    f"-Wl,--no-entry,--import-memory,--initial-memory={CART_PAGE},--max-memory={CART_PAGE},--global-base=6560",
    "-Wl,-z,stack-size=1024", "-Wl,--strip-all,--gc-sections",
]


def cart_sources(directory: Path) -> list[Path]:
    """The cart's sources: ``src/*.c`` (else ``*.c``), or one ``*.wat``; empty if there are none."""
    root = directory / "src" if (directory / "src").is_dir() else directory
    return sorted(root.glob("*.c")) or sorted(root.glob("*.wat"))[:1]


def is_cart_source(path: Path) -> bool:
    """A cart file (``.wasm``), or a directory with cart sources and no layerw.toml (a game has one)."""
    if path.is_file():
        return path.suffix == ".wasm"
    return path.is_dir() and not (path / CONFIG_NAME).exists() and bool(cart_sources(path))


def compile_cart(directory: Path, out: Path) -> Path:
    """Compile the cart sources in ``directory`` to the cart file ``out``."""
    sources = cart_sources(directory)
    if not sources:
        raise ConfigError(f"{directory} has no cart sources (src/*.c or a *.wat file)")
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


def build_cart(source: Path, out: Path | None = None, *, name: str | None = None, version: str | None = None,
               players: int = 4, replay_twin: bool = False) -> Path:
    """Build the cart ``source`` (a cart directory or file) into the build directory ``out``
    (default: DIR/build, or beside a cart file NAME-build/), with its replay twin where ``replay_twin``
    asks (else any twin an earlier build left there is removed: it would be another cart's); returns ``out``."""
    source = Path(source)
    name = name or cart_name(source.with_suffix("") if source.is_file() else source.resolve())
    config = cart_config(name, players=players)
    if version is not None:
        config = replace(config, version=version)
        config.check(f"cart {name}")
    out = Path(out) if out is not None else (source.with_name(f"{source.stem}-build") if source.is_file()
                                             else source / "build")
    out.mkdir(parents=True, exist_ok=True)
    module = out / MODULE_NAME
    if source.is_file():
        module.write_bytes(source.read_bytes())
    else:
        compile_cart(source, module)
    check_cart(module.read_bytes(), name)
    if replay_twin:
        make_twin(module, out / TWIN_NAME, out / MAP_NAME)
    else:
        for stale in (out / TWIN_NAME, out / MAP_NAME):
            stale.unlink(missing_ok=True)
    (out / CONFIG_NAME).write_text(config.to_toml())
    return out
