"""A version's replay twin over HTTP: the one `layerw publish` stored goes to anyone (immutable, as its
chunks); one for a version published without is made only where the operator serves debug files, so an
anonymous request never makes the server run wabt; a WASM-4 cart's is made there too."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.replaytwins import ReplayTwins
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.replaytwin import twin_of
from tests.server_thread import serving
from tests.store.test_replay_publish import SPIN, cart_build, stored
from tests.web.store_server import wat_build


class CountingTwins(ReplayTwins):
    """ReplayTwins that counts the twins it makes."""

    calls = 0

    def made(self, game: str, version: str) -> tuple[bytes, bytes]:
        CountingTwins.calls += 1
        return super().made(game, version)


def test_a_stored_twin_goes_to_anyone_and_none_is_made_without_the_gate(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("layerw.server.store_routes.ReplayTwins", CountingTwins)
    with LocalStore(tmp_path / "store") as store:
        new = publish(wat_build(tmp_path, "spinner", "2.0.0", tick=SPIN), store, replay_twin=twin_of).manifest
        publish(wat_build(tmp_path, "spinner", "1.0.0", tick=SPIN), store)  # as before publish made twins
        assert new.replay is not None
        with serving(create_app(StoreCatalog(store), store=store)) as url, httpx.Client(base_url=url) as c:
            wasm, doc = c.get("/debug/spinner/2.0.0/replay.wasm"), c.get("/debug/spinner/2.0.0/replay.json")
            assert (wasm.status_code, doc.status_code) == (200, 200)
            assert (wasm.content, doc.content) == (stored(store, new.replay.twin), stored(store, new.replay.map))
            assert "immutable" in wasm.headers["cache-control"] and wasm.headers["content-type"] == "application/wasm"
            assert c.get("/debug/spinner/1.0.0/replay.json").status_code == 403
            assert c.get("/debug/spinner/9.0.0/replay.json").status_code == 404
        assert CountingTwins.calls == 0
        with serving(create_app(StoreCatalog(store), store=store, serve_symbols=True)) as url, httpx.Client(base_url=url) as c:
            made = c.get("/debug/spinner/1.0.0/replay.json")
            assert made.status_code == 200 and made.headers["cache-control"] == "private, max-age=60"
        assert CountingTwins.calls == 1


def test_the_server_makes_a_cart_s_twin_where_it_serves_debug_files(tmp_path: Path) -> None:
    cart = cart_build(tmp_path)
    with LocalStore(tmp_path / "store") as store:
        publish(cart, store)  # as a cart published before publish made a cart's twin
        with serving(create_app(StoreCatalog(store), store=store, serve_symbols=True)) as url, httpx.Client(base_url=url) as c:
            wasm, doc = c.get("/debug/cart/0.1.0/replay.wasm"), c.get("/debug/cart/0.1.0/replay.json")
    assert (wasm.status_code, doc.status_code) == (200, 200)
    assert (wasm.content, doc.content) == twin_of((cart / "game.wasm").read_bytes())
