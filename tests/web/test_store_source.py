"""The browser loads games from the real server's store: verified chunks, Cache Storage, deltas.

Served by create_app over a LocalStore (tests/web/store_server.py); the page is /play/GAME, which
`layerw serve` gives every published game.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zstandard

from layerw.store.chunk import chunk_key
from tests.web.conftest import PlayPage
from tests.web.recordings import GAMES
from tests.web.store_server import StoreServer, wat_build

CLI = [sys.executable, "-c", "import sys; from layerw.cli import main; sys.exit(main())"]


def load_stats(page: PlayPage) -> dict[str, Any]:
    return dict(page.page.evaluate("({...window.layerw.load})"))


@pytest.mark.parametrize("name", GAMES)
def test_game_loads_from_the_store_and_renders(name: str, store_server: StoreServer,
                                               play_page: Callable[..., PlayPage]) -> None:
    manifest = store_server.store.resolve(name)
    page = play_page().goto(store_server.play_url(name, ticks=30, fast=True))
    page.wait_stopped()
    assert page.tick == 30
    stats = load_stats(page)
    print(f"{name}: {stats['chunksFetched']} chunks, {stats['bytesFetched']} bytes on the wire, "
          f"module from {stats['moduleFrom']} in {stats['moduleMs']:.0f} ms")
    assert stats["moduleFrom"] == "network" and stats["chunksFetched"] >= 1
    # only what the first frame needs: the module's chunks and the preload assets' chunks
    wanted = {c.id for c in manifest.module.chunks}
    for asset in manifest.config.preload:
        wanted |= {c.id for c in manifest.assets[asset].chunks}
    fetched = {path.rsplit("/", 1)[-1] for path, _ in store_server.recorder.chunk_requests()}
    assert wanted <= fetched
    pixels = page.pixels(manifest.config.width, manifest.config.height)
    assert len(np.unique(pixels.reshape(-1, 4), axis=0)) >= 4, f"{name} rendered a blank frame"
    assert "chunks" in page.page.locator("#progress-text").inner_text()


def test_pong_300_ticks_matches_the_native_cli(store_server: StoreServer, play_page: Callable[..., PlayPage]) -> None:
    page = play_page().goto(store_server.play_url("pong", ticks=300, fast=True))
    page.wait_stopped()
    assert page.tick == 300
    run = subprocess.run([*CLI, "run", "pong", "--store", str(store_server.store.root), "--headless", "--ticks", "300"],
                         capture_output=True, text=True, timeout=120, check=True)
    native = run.stdout.strip().splitlines()[-1]
    assert native.startswith("state-hash ")
    assert page.state_hash() == native.removeprefix("state-hash ")


def test_second_visit_fetches_no_chunk(store_server: StoreServer, play_page: Callable[..., PlayPage]) -> None:
    first = play_page()
    first.goto(store_server.play_url("asteroids", ticks=5, fast=True)).wait_stopped()
    assert load_stats(first)["chunksFetched"] >= 1
    store_server.recorder.requests.clear()
    second = PlayPage(first.page.context.new_page(), first.server)  # same browser profile: its caches
    second.goto(store_server.play_url("asteroids", ticks=5, fast=True)).wait_stopped()
    stats = load_stats(second)
    assert store_server.recorder.chunk_requests() == []
    assert store_server.recorder.manifest_requests("asteroids") == [("/games/asteroids/manifest", 304)]
    assert stats["chunksFetched"] == 0 and stats["chunksCached"] >= 1 and stats["moduleFrom"] == "cache"


def test_corrupt_chunk_in_the_store_shows_an_integrity_error(store_server: StoreServer, tmp_path: Path,
                                                             play_page: Callable[..., PlayPage]) -> None:
    result = store_server.publish(wat_build(tmp_path, "rotten", tick="(nop) (nop)"))
    chunk = result.manifest.module.chunks[0]
    # other bytes of a valid shape: a well-formed zstd frame whose content is not the chunk's
    (store_server.store.root / chunk_key(chunk.id)).write_bytes(zstandard.ZstdCompressor().compress(b"\0asm" * 64))
    page = play_page().goto(store_server.play_url("rotten"))
    page.wait("window.layerw.status === 'failed'")
    text = page.page.locator("#error").inner_text()
    assert "integrity" in text and "rotten's module" in text, text
    assert page.tick == 0


def test_chunk_damaged_in_flight_is_never_used(store_server: StoreServer, tmp_path: Path,
                                               play_page: Callable[..., PlayPage]) -> None:
    result = store_server.publish(wat_build(tmp_path, "tampered", tick="(nop) (nop) (nop)"))
    chunk = result.manifest.module.chunks[0]
    store_server.recorder.tamper.add(chunk.id)
    page = play_page().goto(store_server.play_url("tampered"))
    page.wait("window.layerw.status === 'failed'")
    text = page.page.locator("#error").inner_text()
    assert f"chunk {chunk.id} failed its integrity check (the bytes received hash to" in text, text
    assert page.tick == 0
    assert page.page.evaluate("caches.open('layerw-chunks-v1').then((c) => c.keys()).then((k) => k.length)") == 0


def test_new_version_downloads_only_the_module_delta(store_server: StoreServer, tmp_path: Path,
                                                     play_page: Callable[..., PlayPage]) -> None:
    store_server.publish(wat_build(tmp_path, "patched", "1.0.0", tick="(i32.store (i32.const 4096) (i32.const 1))"))
    first = play_page()
    first.goto(store_server.play_url("patched", ticks=3, fast=True)).wait_stopped()
    v2 = store_server.publish(wat_build(tmp_path, "patched", "2.0.0", tick="(i32.store (i32.const 4096) (i32.const 2))"))
    assert v2.delta is not None
    store_server.recorder.requests.clear()
    second = PlayPage(first.page.context.new_page(), first.server)
    second.goto(store_server.play_url("patched", ticks=3, fast=True, delta="always")).wait_stopped()
    stats = load_stats(second)
    module_stored = sum(c.stored_size for c in v2.manifest.module.chunks)
    print(f"delta: {v2.delta.size} bytes instead of {module_stored} (module {v2.manifest.module.size} bytes)")
    assert stats["moduleFrom"] == "delta" and stats["deltaBytes"] == v2.delta.size
    assert store_server.recorder.chunk_requests() == [(f"/chunks/{v2.delta.id}", 200)]
    assert store_server.recorder.manifest_requests("patched") == [("/games/patched/manifest", 200)]
    # the patched module was cut into its chunks and cached: a third visit fetches nothing
    store_server.recorder.requests.clear()
    third = PlayPage(first.page.context.new_page(), first.server)
    third.goto(store_server.play_url("patched", ticks=3, fast=True)).wait_stopped()
    assert store_server.recorder.chunk_requests() == []
    assert load_stats(third)["moduleFrom"] == "cache"
