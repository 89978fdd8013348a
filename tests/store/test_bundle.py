"""StoreBundle: module and preloads up front, other assets on demand, a disk cache, picklable."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from layerw.errors import AssetError, AssetNotFound
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store.bundle import StoreBundle, open_bundle
from layerw.store.chunk import chunk_key
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.store.conftest import build_pong, noise
from tests.store.seaweed import Seaweed


@pytest.fixture
def published(local_store: LocalStore, tmp_path: Path) -> Path:
    build = build_pong(tmp_path, "1.0.0", assets={"music/theme.bin": noise(600_000, seed=4), "other.bin": b"x" * 100})
    publish(build, local_store)
    return build


def test_preloads_up_front_other_assets_on_demand_then_from_cache(local_store: LocalStore, published: Path,
                                                                  cache_dir: Path) -> None:
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as bundle:
        assert bundle.asset_names() == {"ball.png", "music/theme.bin", "other.bin"}
        assert bundle.module == (published / "game.wasm").read_bytes()
        up_front = bundle.stats.chunks_fetched
        assert up_front == len(bundle.manifest.module.chunks) + 1  # module + ball.png, not the music
        theme = bundle.read_asset("music/theme.bin")
        assert theme == (published / "assets/music/theme.bin").read_bytes()
        assert bundle.stats.chunks_fetched == up_front + len(bundle.manifest.assets["music/theme.bin"].chunks)
        with pytest.raises(AssetNotFound):
            bundle.read_asset("../layerw.toml")
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as again:  # second run: nothing downloaded
        assert again.read_asset("music/theme.bin") == theme and again.read_asset("ball.png")
        assert again.stats.chunks_fetched == 0 and again.stats.bytes_fetched == 0


def test_a_store_bundle_pickles_without_a_connection_and_runs_like_the_build(
        local_store: LocalStore, published: Path, cache_dir: Path, engine: Engine) -> None:
    bundle = StoreBundle(local_store.url, "pong", cache_dir=cache_dir)
    bundle.read_asset("other.bin")
    copy = pickle.loads(pickle.dumps(bundle))
    assert copy._store is None and copy.module == bundle.module and copy.manifest == bundle.manifest
    assert copy.read_asset("music/theme.bin") == (published / "assets/music/theme.bin").read_bytes()
    hashes = []
    for b in (open_bundle(str(published)), copy):
        with Game(b, engine, seed=2) as game:
            for _ in range(60):
                game.tick(InputState())
            hashes.append(game.state_hash())
    assert hashes[0] == hashes[1]
    bundle.close()
    copy.close()


def test_an_asset_the_store_cannot_deliver_is_an_asset_error(local_store: LocalStore, published: Path,
                                                            cache_dir: Path) -> None:
    with StoreBundle(local_store.url, "pong", cache_dir=cache_dir) as bundle:
        local_store.delete(chunk_key(bundle.manifest.assets["other.bin"].chunks[0].id))
        with pytest.raises(AssetError, match="could not be fetched"):
            bundle.read_asset("other.bin")


def test_s3_dying_mid_stream_costs_a_pause_not_the_game(seaweed: Seaweed, tmp_path: Path, cache_dir: Path) -> None:
    """The store goes away while a game streams an asset; the fetch retries with backoff and
    finishes once the store is back."""
    import threading

    store = seaweed.store("midstream", retries=1)
    theme = noise(300_000, seed=9)
    publish(build_pong(tmp_path, "1.0.0", assets={"music/theme.bin": theme}), store)
    bundle = StoreBundle(store.url, "pong", options=store.options, cache_dir=cache_dir)  # module + preloads
    got: list[bytes | BaseException] = []
    seaweed.kill()
    try:
        reader = threading.Thread(target=lambda: got.append(bundle.read_asset("music/theme.bin")), daemon=True)
        reader.start()
        reader.join(1.5)
        assert reader.is_alive() and not got  # waiting on the store, not failed
    finally:
        seaweed.start()
    reader.join(60)
    assert got == [theme]
    bundle.close()
    store.close()
