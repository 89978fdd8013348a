"""Component: wrap a game (or a plugin) as a WebAssembly Component Model component.

A C game becomes a component in three steps, all from pinned packages:

1. its sources are compiled exactly as for the core build plus the glue ``lw_component.c``, with
   ``LW_COMPONENT`` defined: the glue exports the world's functions in canonical-ABI form and owns
   no memory of its own, so the game's memory (and state hash) equals the core build's;
2. ``wasm-tools component embed`` attaches the world (``wit/game.wit`` plus the interfaces of the
   game's ``[plugins]``) to that core module;
3. ``wasm-tools component new`` makes the component, adapting any WASI preview 1 imports with the
   preview 1 *reactor* adapter from the npm package ``@bytecodealliance/jco`` (pinned, SHA-256 checked).

For browsers, ``build.py`` then transpiles the component with the same pinned jco (``jco.py``).

Plugins (``plugin.toml`` beside their sources) export one interface: C plugins get that
interface's export glue from ``runtime/``; Python plugins are built by ``componentize-py`` with
every WASI import stubbed to a trap, so they need no capability and stay deterministic.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import wasmtime
import wasmtime.component

from layerw import abi
from layerw.config import GameConfig
from layerw.errors import CompileError, ConfigError, InvalidModule, ToolchainError
from layerw.toolchain import compiler
from layerw.toolchain.debuginfo import split
from layerw.toolchain.jco import JCO_VERSION
from layerw.toolchain.wasmtools import wasm_tools

WIT_DIR = compiler.TOOLCHAIN / "wit"
GAME_WIT = WIT_DIR / "game.wit"
COMPONENT_C = compiler.TOOLCHAIN / "runtime" / "lw_component.c"
ADAPTER_NAME = "wasi_snapshot_preview1.reactor.wasm"
ADAPTER_SHA256 = "b857310c4753c8fafaa0f890e9ccf978dc3d9dbe8804b1125291a627485041d0"
PLUGIN_CONFIG = "plugin.toml"
PLUGIN_NAME = "plugin.wasm"
COMPONENTIZE_PY = "import sys; from componentize_py import script; sys.exit(script())"


@dataclass(frozen=True)
class Interface:
    """A plugin interface the toolchain knows: its WIT, and the C glue for each side."""

    package_dir: Path
    plugin_world: str
    import_c: Path  # linked into games that import it
    export_c: Path  # linked into C plugins that export it


INTERFACES: dict[str, Interface] = {
    "layerw:physics/step": Interface(WIT_DIR / "deps" / "physics", "plugin",
                                     compiler.TOOLCHAIN / "runtime" / "physics_import.c",
                                     compiler.TOOLCHAIN / "runtime" / "physics_export.c"),
}


def interface(name: str) -> Interface:
    known = INTERFACES.get(name.partition("@")[0])
    if known is None:
        raise ConfigError(f"unknown plugin interface {name!r}; this toolchain knows {sorted(INTERFACES)}")
    return known


# --- tools ---------------------------------------------------------------------------------------

def adapter_path() -> Path:
    base = os.environ.get("LAYERW_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "layerw")
    return Path(base) / "adapters" / f"jco-{JCO_VERSION}-{ADAPTER_NAME}"


def ensure_adapter() -> Path:
    """The WASI preview 1 reactor adapter: fetched once with ``npm pack`` and checked by SHA-256."""
    path = adapter_path()
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == ADAPTER_SHA256:
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError(f"the WASI adapter is not cached at {path} and npm is missing: run `make setup`")
    with tempfile.TemporaryDirectory(prefix="layerw-jco-") as tmp:
        proc = subprocess.run([npm, "pack", f"@bytecodealliance/jco@{JCO_VERSION}", "--silent"], cwd=tmp,
                              capture_output=True, text=True, check=False)
        tgz = next(Path(tmp).glob("*.tgz"), None)
        if proc.returncode != 0 or tgz is None:
            raise ToolchainError(f"npm pack @bytecodealliance/jco@{JCO_VERSION} failed: {proc.stderr.strip()}")
        with tarfile.open(tgz) as tar:
            member = tar.extractfile(f"package/lib/{ADAPTER_NAME}")
            data = member.read() if member else b""
    digest = hashlib.sha256(data).hexdigest()
    if digest != ADAPTER_SHA256:
        raise ToolchainError(f"{ADAPTER_NAME} from jco {JCO_VERSION} has SHA-256 {digest}, expected {ADAPTER_SHA256}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(f".{os.getpid()}.tmp")
    tmp_path.write_bytes(data)
    tmp_path.replace(path)
    return path


def _validate(out: Path, what: str) -> None:
    try:
        wasmtime.component.Component(wasmtime.Engine(), out.read_bytes())
    except wasmtime.WasmtimeError as e:
        raise InvalidModule(f"the {what} component does not validate: {str(e).splitlines()[0]}") from e


def componentize(core_wasm: Path, wit: Path, world: str, out: Path) -> None:
    """core module + WIT world -> component (embed, then new with the reactor adapter)."""
    embedded = core_wasm.with_suffix(".embedded.wasm")
    wasm_tools("component", "embed", str(wit), "--world", world, str(core_wasm), "-o", str(embedded))
    wasm_tools("component", "new", str(embedded), "--adapt", f"{abi.WASI_MODULE}={ensure_adapter()}", "-o", str(out))


# --- games ---------------------------------------------------------------------------------------

def world_dir(config: GameConfig, tmp: Path) -> tuple[Path, str]:
    """A WIT directory whose world is the contract's plus the game's plugin imports."""
    deps = tmp / "wit" / "deps"
    (deps / "game").mkdir(parents=True)
    shutil.copy(GAME_WIT, deps / "game" / GAME_WIT.name)
    imports = []
    for ref in config.plugins:
        iface = interface(ref.interface)
        if not (deps / iface.package_dir.name).exists():
            shutil.copytree(iface.package_dir, deps / iface.package_dir.name)
        imports.append(f"    import {ref.interface};")
    package, _, version = abi.WIT_PACKAGE.partition("@")
    (tmp / "wit" / "world.wit").write_text("\n".join([
        "package layerw:build;", "", f"world {config.name} {{",
        f"    include {package}/{abi.WIT_WORLD}@{version};", *imports, "}", ""]))
    return tmp / "wit", f"layerw:build/{config.name}"


def build_component(sources: list[Path], config: GameConfig, out: Path, *, symbols: Path | None = None,
                    source_root: Path | None = None) -> bytes:
    """Compile ``sources`` with the component glue and wrap them as ``out`` (a component); returns the
    core module it wraps. With ``symbols``, that module compiles with DWARF, split into the stripped
    module (the same bytes as without) and its source-line table, written to ``symbols`` (files named
    relative to ``source_root``): browsers run that module, transpiled, so a trap's or timeout's frames
    there name source lines."""
    glue = tuple(interface(ref.interface).import_c for ref in config.plugins)
    with tempfile.TemporaryDirectory(prefix="layerw-component-") as tmp:
        core_wasm = Path(tmp) / "core.wasm"
        compiled = Path(tmp) / "core.debug.wasm" if symbols is not None else core_wasm
        compiler.compile_module(sources, compiled, runtime=(compiler.RUNTIME_C, COMPONENT_C, *glue),
                                cflags=config.cflags, defines=("LW_COMPONENT", *compiler.game_defines(config)),
                                debug=symbols is not None)
        if symbols is not None:
            split(compiled, core_wasm, symbols, source_root or sources[0].parent)
        wit, world = world_dir(config, Path(tmp))
        componentize(core_wasm, wit, world, out)
        core = core_wasm.read_bytes()
    _validate(out, config.name)
    return core


# --- plugins -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PluginConfig:
    """``plugin.toml``: ``[plugin] name``, ``exports`` (an interface) and ``sources`` (.c, or one .py app)."""

    name: str
    exports: str
    sources: tuple[str, ...]

    @classmethod
    def load(cls, directory: Path) -> PluginConfig:
        path = directory / PLUGIN_CONFIG
        try:
            data = tomllib.loads(path.read_text())["plugin"]
            cfg = cls(str(data["name"]), str(data["exports"]), tuple(str(s) for s in data["sources"]))
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: a plugin needs [plugin] name, exports and sources ({e})") from e
        interface(cfg.exports)
        return cfg


def build_plugin(plugin_dir: Path, out: Path | None = None) -> Path:
    """Build the plugin in ``plugin_dir`` into ``out`` (default PLUGIN_DIR/build/plugin.wasm)."""
    plugin_dir = Path(plugin_dir).resolve()
    config = PluginConfig.load(plugin_dir)
    iface = interface(config.exports)
    out = Path(out) if out is not None else plugin_dir / "build" / PLUGIN_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = [plugin_dir / s for s in config.sources]
    with tempfile.TemporaryDirectory(prefix="layerw-plugin-") as tmp:
        staged = Path(tmp) / PLUGIN_NAME
        if all(s.suffix == ".py" for s in sources):
            _componentize_py(sources, iface, staged)
        else:
            core_wasm = Path(tmp) / "core.wasm"
            compiler.compile_module(sources, core_wasm, runtime=(iface.export_c,))
            componentize(core_wasm, iface.package_dir, iface.plugin_world, staged)
        _validate(staged, config.name)
        shutil.copy(staged, out)
    return out


def _componentize_py(sources: list[Path], iface: Interface, out: Path) -> None:
    app = sources[0]
    cmd = [sys.executable, "-c", COMPONENTIZE_PY, "-d", str(iface.package_dir), "-w", iface.plugin_world,
           "componentize", "--stub-wasi", "-p", str(app.parent), app.stem, "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CompileError(f"componentize-py failed for {app}:\n{(proc.stderr or proc.stdout).strip()[-4000:]}")


if __name__ == "__main__":
    print(ensure_adapter(), file=sys.stderr)
