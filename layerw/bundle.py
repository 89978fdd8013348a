"""Bundle: a built game as the runtime sees it — config, module bytes and named assets.

``Bundle`` is the interface; sources are siblings. ``DirBundle`` reads a build directory (what
``layerw build`` writes):

    BUILD/layerw.toml       normalised config
    BUILD/game.wasm         the module (core build), stripped
    BUILD/game.debug.wasm   the same module with its DWARF and names (for debuggers; never published)
    BUILD/game.symbols.json its source-line table (``layerw.symbols``): traps name function and file:line
    BUILD/game.component.wasm  the component (component build: layerw.toml [component] enabled)
    BUILD/transpiled/...    that component for browsers (jco transpile: an ES module and core modules; GAME_CORE
                            is the one that holds the game's code)
    BUILD/game.component.symbols.json  the source-line table of that core module (what browsers run)
    BUILD/assets/...        every asset, named by its path relative to assets/

Bundles are picklable, so a game can be started in a worker process from the same object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from layerw.config import CONFIG_NAME, GameConfig, PluginRef
from layerw.errors import AssetNotFound, ConfigError

MODULE_NAME = "game.wasm"
COMPONENT_NAME = "game.component.wasm"
DEBUG_MODULE_NAME = "game.debug.wasm"
SYMBOLS_NAME = "game.symbols.json"
TRANSPILED_DIR = "transpiled"
COMPONENT_SYMBOLS_NAME = "game.component.symbols.json"
# jco numbers a component's core modules from its first, which wit-component makes the main module (the game's
# code and lw_component.c); the others only route imports. `layerw build` checks it holds the code it compiled.
GAME_CORE = "game.component.core.wasm"
ASSETS_DIR = "assets"


class Bundle(ABC):
    config: GameConfig
    module: bytes  # a core module, or a component when config.component

    def read_plugin(self, ref: PluginRef) -> bytes:
        """The component bytes of the plugin chosen for ``ref``'s slot."""
        raise ConfigError(f"{self.config.name}: this bundle cannot load plugins ([plugins.{ref.slot}])")

    def read_symbols(self) -> bytes | None:
        """The module's source-line table (``layerw.symbols``), or None where the bundle has none."""
        return None

    @abstractmethod
    def asset_names(self) -> set[str]:
        """Every asset the game may request."""

    @abstractmethod
    def read_asset(self, name: str) -> bytes:
        """The asset's bytes (may block on that asset only); AssetNotFound for unknown names."""

    def check_preload(self, where: str) -> None:
        missing = sorted(set(self.config.preload) - self.asset_names())
        if missing:
            raise ConfigError(f"{where}: preload names assets that do not exist: {missing}")
        missing = sorted(set(self.config.stream) - self.asset_names())
        if missing:
            raise ConfigError(f"{where}: stream names assets that do not exist: {missing}")

    @staticmethod
    def open(build_dir: Path) -> DirBundle:
        return DirBundle(Path(build_dir))


class DirBundle(Bundle):
    """A build directory; with ``debug`` its module is ``game.debug.wasm`` (DWARF kept, for debuggers)."""

    def __init__(self, build_dir: Path, *, debug: bool = False) -> None:
        self.path = build_dir
        self.config = GameConfig.load(build_dir)
        if debug and self.config.component:
            raise ConfigError(f"{build_dir} is a component build: debugging needs a core module build (no --component)")
        wasm = build_dir / (DEBUG_MODULE_NAME if debug else COMPONENT_NAME if self.config.component else MODULE_NAME)
        if not wasm.is_file():
            raise ConfigError(f"{build_dir} has no {wasm.name}: is it a build directory? run `layerw build` first")
        self.module = wasm.read_bytes()
        root = build_dir / ASSETS_DIR
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        self.assets = {p.relative_to(root).as_posix(): p for p in files}
        self.check_preload(str(build_dir))
        transpiled = build_dir / TRANSPILED_DIR
        self.transpiled = {p.name: p for p in sorted(transpiled.iterdir()) if p.is_file()} \
            if self.config.component and transpiled.is_dir() else {}

    def asset_names(self) -> set[str]:
        return set(self.assets)

    def read_symbols(self) -> bytes | None:
        """The module's table, or a component build's: of its game core module (GAME_CORE), which pages run
        transpiled and native hosts run as the component's own core module (``CanonGame``)."""
        path = self.path / (COMPONENT_SYMBOLS_NAME if self.config.component else SYMBOLS_NAME)
        return path.read_bytes() if path.is_file() else None

    def read_plugin(self, ref: PluginRef) -> bytes:
        path = self.path / ref.path
        if not ref.path or not path.is_file():
            raise ConfigError(f"{self.path / CONFIG_NAME}: [plugins.{ref.slot}] path {ref.path!r} is not a component "
                              "file; build one with `layerw plugin` and point path at it")
        return path.read_bytes()

    def read_asset(self, name: str) -> bytes:
        try:
            return self.assets[name].read_bytes()
        except KeyError:
            raise AssetNotFound(f"{self.config.name} has no asset {name!r}") from None
