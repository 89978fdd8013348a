"""Component fixtures: orbs and its plugins, built once per session by the project's toolchain (the
Python plugin's componentize-py build takes seconds); pong built both ways is tests/conftest.py's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.toolchain.build import build
from layerw.toolchain.component import build_plugin
from tests.conftest import GAMES


@pytest.fixture(scope="session")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Build a plugin directory once per session; returns its component file."""
    cache: dict[Path, Path] = {}

    def get(plugin_dir: Path) -> Path:
        if plugin_dir not in cache:
            cache[plugin_dir] = build_plugin(plugin_dir, tmp_path_factory.mktemp("plugin") / f"{plugin_dir.name}.wasm")
        return cache[plugin_dir]

    return get


@pytest.fixture(scope="session")
def orbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(GAMES / "orbs", tmp_path_factory.mktemp("orbs") / "orbs").out


def write_plugin(root: Path, name: str, source: str) -> Path:
    """A C plugin directory exporting layerw:physics/step with ``source`` as its code."""
    plugin = root / name
    plugin.mkdir(parents=True)
    (plugin / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nexports = "layerw:physics/step@1.0.0"\nsources = ["{name}.c"]\n')
    (plugin / f"{name}.c").write_text(source)
    return plugin
