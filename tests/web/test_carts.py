"""WASM-4 carts in real Chromium: the browser's CartGame (web/cart-game.js) reaches the native host's
state hash after the same recorded inputs, shows the same pixels, and survives the hostile carts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import wasmtime

from layerw.bundle import Bundle
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import Recording
from layerw.runtime.start import start_game
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.toolchain.cart import build_cart
from tests.runtime.wasm4.conftest import CARTS
from tests.web.conftest import PlayPage, StaticServer

TICKS = 150
RECORDINGS = {  # a few presses per cart, so the hash covers input handling, drawing and tones
    "watris": [{"tick": 5, "down": ["ArrowLeft"]}, {"tick": 9, "up": ["ArrowLeft"], "down": ["KeyX"]},
               {"tick": 11, "up": ["KeyX"]}, {"tick": 30, "down": ["ArrowDown"]}, {"tick": 90, "up": ["ArrowDown"]}],
    "platformer-test": [{"tick": 5, "down": ["ArrowRight"]}, {"tick": 20, "down": ["KeyX"]}, {"tick": 30, "up": ["KeyX"]},
                        {"tick": 60, "up": ["ArrowRight"], "down": ["ArrowLeft"]}, {"tick": 100, "up": ["ArrowLeft"]}],
    "sound-demo": [{"tick": 5, "down": ["ArrowDown"]}, {"tick": 8, "up": ["ArrowDown"], "down": ["ArrowRight"]},
                   {"tick": 40, "up": ["ArrowRight"], "down": ["KeyX"]}, {"tick": 44, "up": ["KeyX"]}],
    "multiplayer": [{"tick": 3, "down": ["ArrowRight", "ArrowDown"]}, {"tick": 80, "up": ["ArrowDown"]},
                    {"tick": 90, "pointer": [40.5, 70.25, 1]}],
    "raw-assembly": [{"tick": 10, "down": ["KeyZ"]}],
}


@pytest.fixture(scope="module")
def carts(server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[str, Path]]:
    """Build a cart into a build directory and serve it; returns (URL path, build directory)."""
    cache: dict[str, tuple[str, Path]] = {}

    def get(name: str) -> tuple[str, Path]:
        if name not in cache:
            out = build_cart(CARTS / name, tmp_path_factory.mktemp("web-carts") / name)
            cache[name] = (server.add_game(out), out)
        return cache[name]

    return get


def native(build_dir: Path, engine: Engine, recording: Path | None, ticks: int = TICKS) -> tuple[str, np.ndarray]:
    with start_game(Bundle.open(build_dir), engine) as game:
        assert isinstance(game, CartGame)
        Runner(game, recording=Recording.load(recording) if recording else None).run_headless(ticks)
        return game.state_hash(), game.frame()


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_a_cart_in_chromium_matches_the_native_host(name: str, carts: Callable[[str], tuple[str, Path]],
                                                    server: StaticServer, play_page: Callable[..., PlayPage],
                                                    engine: Engine) -> None:
    src, build = carts(name)
    url = server.add_file(f"cart-{name}.jsonl", "\n".join(json.dumps(line) for line in RECORDINGS[name]) + "\n")
    page = play_page().open(src, ticks=TICKS, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    assert page.tick == TICKS
    native_hash, frame = native(build, engine, server.files / f"cart-{name}.jsonl")
    assert page.state_hash() == native_hash
    assert np.array_equal(page.pixels(160, 160), frame)  # one texture at 1:1, nearest: the framebuffer exactly
    assert native(build, engine, None)[0] != native_hash  # the recording mattered


def test_hostile_carts_run_bounded_in_chromium(server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine,
                                               tmp_path: Path) -> None:
    hostile = Path(__file__).resolve().parents[1] / "hostile" / "wasm4"
    for wat in sorted(hostile.glob("*.wat")):
        cart = tmp_path / f"{wat.stem}.wasm"
        cart.write_bytes(wasmtime.wat2wasm(wat.read_text()))
        build = build_cart(cart, tmp_path / f"{wat.stem}-build", name=wat.stem.replace("_", "-"))
        page = play_page().open(server.add_game(build), ticks=5, fast=True, renderer="webgl2")
        page.wait_stopped()
        assert page.tick == 5 and page.state_hash() == native(build, engine, None, 5)[0], wat.name


def test_a_published_cart_plays_at_play_cart_like_the_native_cli(store_server: Any, play_page: Callable[..., PlayPage],
                                                                 tmp_path: Path) -> None:
    """`layerw publish` of a cart's build, then /play/watris on the real server (the store source
    streams and verifies its chunks) reaches `layerw run watris --store`'s state hash."""
    store_server.publish(build_cart(CARTS / "watris", tmp_path / "watris"))
    page = play_page().goto(store_server.play_url("watris", ticks=120, fast=True))
    page.wait_stopped()
    assert page.tick == 120
    run = subprocess.run([sys.executable, "-m", "layerw.cli", "run", "watris", "--store", str(store_server.store.root),
                          "--headless", "--ticks", "120"], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip().splitlines()[-1] == f"state-hash {page.state_hash()}"
