"""Component builds in Chromium: pong built with --component runs from its jco-transpiled form (in a
game worker, the default, which gets the glue's text and the core modules from the page) and reaches
the same state hash as its core build (in Chromium and natively), snapshots alike, and loads from a
store whose manifest names it a component."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import COMPONENT_NAME, TRANSPILED_DIR, Bundle
from layerw.play.runner import Runner
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import Recording
from layerw.store.bundle import StoreBundle
from tests.web.conftest import PlayPage, StaticServer
from tests.web.recordings import FIDELITY_TICKS, native_run, recording_file
from tests.web.store_server import StoreServer, store_server

SNAPSHOT = "window.layerw.snapshotInfo()"  # {tick, pages, sha256 of the memory}
RESTORE = """async (n) => {
  const c = window.layerw.client();
  const snap = c.game.snapshot();
  const start = c.game.tickCount;
  for (let i = 0; i < n; i++) c.game.tick(c.inputs);
  const after = await c.game.stateHash();
  await c.game.restore(snap);
  const back = c.game.tickCount;
  for (let i = 0; i < n; i++) c.game.tick(c.inputs);
  return {start, back, after, again: await c.game.stateHash(), kind: c.game.constructor.name};
}"""


@pytest.fixture(scope="module")
def pong_builds(tmp_path_factory: pytest.TempPathFactory, pong_both: Path) -> tuple[Path, Path]:
    """pong built with --component, and a core build of the same compile (its game.wasm alone)."""
    both = pong_both
    core = tmp_path_factory.mktemp("pong-core") / "pong-core"
    core.mkdir()
    shutil.copy(both / "game.wasm", core / "game.wasm")
    shutil.copytree(both / "assets", core / "assets")
    (core / "layerw.toml").write_text((both / "layerw.toml").read_text().replace("enabled = true", "enabled = false"))
    return both, core


def native_component_run(build_dir: Path, engine: Engine, ticks: int, recording: Path | None) -> str:
    with ComponentGame(Bundle.open(build_dir), engine, seed=0) as game:
        Runner(game, None, recording=Recording.load(recording) if recording else None).run_headless(ticks)
        return game.state_hash()


def test_component_build_matches_the_core_build_in_chromium_and_natively(
        pong_builds: tuple[Path, Path], server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine) -> None:
    both, core = pong_builds
    assert sorted(p.name for p in (both / TRANSPILED_DIR).iterdir()) == [
        "game.component.core.wasm", "game.component.core2.wasm", "game.component.core3.wasm", "game.component.js"]
    url, recording = recording_file(server, "pong")
    pages, hashes, snaps = {}, {}, {}
    for kind, build_dir in (("component", both), ("core", core)):
        page = play_page().open(server.add_game(build_dir, f"pong-{kind}"), ticks=FIDELITY_TICKS, fast=True, inputs=url,
                                renderer="webgl2")
        page.wait_stopped()
        assert page.tick == FIDELITY_TICKS
        pages[kind], hashes[kind], snaps[kind] = page, page.state_hash(), page.page.evaluate(SNAPSHOT)
    assert pages["component"].page.evaluate("window.layerw.kind()") == "ComponentGame"
    assert pages["core"].page.evaluate("window.layerw.kind()") == "Game"
    native_core = native_run(core, engine, FIDELITY_TICKS, recording)
    native_component = native_component_run(both, engine, FIDELITY_TICKS, recording)
    print(f"pong {FIDELITY_TICKS} ticks: chromium component {hashes['component'][:16]}, chromium core "
          f"{hashes['core'][:16]}, native core {native_core[:16]}, native component {native_component[:16]}")
    assert hashes["component"] == hashes["core"] == native_core == native_component
    assert native_run(core, engine, FIDELITY_TICKS, None) != native_core  # the recording mattered
    assert snaps["component"] == snaps["core"]  # snapshots read through `state` hold the core's memory
    config = Bundle.open(both).config
    frames = [p.pixels(config.width, config.height) for p in pages.values()]
    assert np.array_equal(*frames)  # the command list through the same renderer: the same frame


def test_component_snapshot_restores_in_chromium(pong_builds: tuple[Path, Path], server: StaticServer,
                                                 play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(server.add_game(pong_builds[0], "pong-component"), ticks=60, fast=True, renderer="webgl2",
                            worker=0)  # RESTORE ticks the page-hosted game itself
    page.wait_stopped()
    result = page.page.evaluate(RESTORE, 90)
    assert result["kind"] == "ComponentGame" and result["start"] == result["back"] == 60
    assert result["again"] == result["after"]


@pytest.fixture(scope="module")
def component_store(tmp_path_factory: pytest.TempPathFactory, pong_builds: tuple[Path, Path]) -> Iterator[StoreServer]:
    root = tmp_path_factory.mktemp("component-store")
    with store_server(root / "store") as s:
        s.publish(pong_builds[0])
        yield s


def test_published_component_build_plays_from_the_store(component_store: StoreServer, pong_builds: tuple[Path, Path],
                                                         play_page: Callable[..., PlayPage], engine: Engine,
                                                         tmp_path: Path) -> None:
    both = pong_builds[0]
    manifest = component_store.store.resolve("pong", "latest")
    component_sha256 = hashlib.sha256((both / COMPONENT_NAME).read_bytes()).hexdigest()
    assert manifest.config.component and manifest.module.sha256 == component_sha256  # what native hosts run
    assert sorted(manifest.transpiled) == sorted(p.name for p in (both / TRANSPILED_DIR).iterdir())
    page = play_page().goto(component_store.play_url("pong", ticks=120, fast=True, renderer="webgl2"))
    page.wait_stopped()
    assert page.page.evaluate("window.layerw.kind()") == "ComponentGame"
    assert page.page.evaluate("[window.layerw.host, document.getElementById('host').hidden]") == ["worker", True]
    # the browser fetches the transpiled files' chunks, never the module's (the component itself)
    fetched = {path.rsplit("/", 1)[-1] for path, _ in component_store.recorder.chunk_requests()}
    assert {c.id for e in manifest.transpiled.values() for c in e.chunks} <= fetched
    assert not {c.id for c in manifest.module.chunks} & fetched
    # natively, the same manifest runs the component (game.component), to the same hash
    with StoreBundle(component_store.url, "pong", cache_dir=tmp_path / "chunks") as bundle:
        assert bundle.config.component
        with ComponentGame(bundle, engine) as game:
            Runner(game, None).run_headless(120)
            assert page.state_hash() == game.state_hash()
