"""``layerw publish`` stores a component build's replay twin, of its transpiled core module that holds the
game's code (GAME_CORE, which the map names), and that module's symbols: the manifest lists the twin (a
component's manifest may, where it lists that module), and a server makes one on request for a component
version published without (the store's side of tests/web/test_component_replay.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from layerw.bundle import COMPONENT_SYMBOLS_NAME, GAME_CORE, TRANSPILED_DIR
from layerw.errors import NotPublished
from layerw.server.replaytwins import ReplayTwins
from layerw.store.bundle import StoreBundle
from layerw.store.local import LocalStore
from layerw.store.manifest import Manifest
from layerw.store.publish import publish
from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, twin_of
from tests.store.test_replay_publish import stored
from tests.toolchain.test_component_twin import crash_component

__all__ = ["crash_component"]  # the fixture


def test_publish_stores_a_component_s_twin_of_its_game_core(crash_component: Path, tmp_path: Path) -> None:
    with LocalStore(tmp_path / "store") as store:
        manifest = publish(crash_component, store, replay_twin=twin_of).manifest
        assert manifest.config.component and manifest.replay is not None
        assert Manifest.parse(manifest.to_bytes()) == manifest and b'"replay"' in manifest.to_bytes()
        twin, offsets = stored(store, manifest.replay.twin), stored(store, manifest.replay.map)
        # the symbols of the game's core module, which pages run transpiled and native hosts run as CanonGame
        assert store.symbols("crash", "1.0.0") == (crash_component / COMPONENT_SYMBOLS_NAME).read_bytes()
        with StoreBundle(tmp_path.as_uri(), "crash", store=store, cache_dir=tmp_path / "chunks") as bundle:
            assert bundle.config.component and bundle.read_symbols() == store.symbols("crash", "1.0.0")
    doc = json.loads(offsets)
    assert (doc["core"], doc["module_sha256"]) == (GAME_CORE, manifest.transpiled[GAME_CORE].sha256)
    assert (twin, offsets) == ((crash_component / TWIN_NAME).read_bytes(), (crash_component / MAP_NAME).read_bytes())


def test_a_server_makes_a_component_s_twin_from_its_game_core(crash_component: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(crash_component, bare)
    shutil.rmtree(bare / TRANSPILED_DIR)  # published without its browser form: no core module to twin
    toml = bare / "layerw.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', 'version = "0.9.0"'))
    with LocalStore(tmp_path / "store") as store:
        manifest = publish(crash_component, store).manifest  # as before publish made twins
        assert manifest.replay is None
        twins = ReplayTwins(store)
        assert twins.stored("crash", "1.0.0") is None
        twin, offsets = twins.made("crash", "1.0.0")
        assert (twin, offsets) == ((crash_component / TWIN_NAME).read_bytes(), (crash_component / MAP_NAME).read_bytes())
        publish(bare, store)
        with pytest.raises(NotPublished, match=GAME_CORE):
            twins.made("crash", "0.9.0")
