"""Bundle: a built game as the runtime sees it — config, module bytes and named assets.

A build directory (what ``layerw build`` writes) is the plain-files form:

    BUILD/layerw.toml       normalised config
    BUILD/game.wasm         the module
    BUILD/assets/...        every asset, named by its path relative to assets/

Other sources (a store's manifest and chunks) provide the same interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from layerw.config import GameConfig
from layerw.errors import AssetNotFound, ConfigError

MODULE_NAME = "game.wasm"
ASSETS_DIR = "assets"


@dataclass(frozen=True)
class Bundle:
    config: GameConfig
    module: bytes
    assets: dict[str, Path]

    @classmethod
    def open(cls, build_dir: Path) -> Bundle:
        build_dir = Path(build_dir)
        config = GameConfig.load(build_dir)
        wasm = build_dir / MODULE_NAME
        if not wasm.is_file():
            raise ConfigError(f"{build_dir} has no {MODULE_NAME}: is it a build directory? run `layerw build` first")
        root = build_dir / ASSETS_DIR
        assets = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()} if root.is_dir() else {}
        missing = [name for name in config.preload if name not in assets]
        if missing:
            raise ConfigError(f"{build_dir}: preload names assets that do not exist: {missing}")
        return cls(config, wasm.read_bytes(), assets)

    def read_asset(self, name: str) -> bytes:
        try:
            return self.assets[name].read_bytes()
        except KeyError:
            raise AssetNotFound(f"{self.config.name} has no asset {name!r}") from None

    def asset_names(self) -> Iterator[str]:
        return iter(self.assets)
