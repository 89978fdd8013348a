"""The browser client runs the sample games: boots, renders, matches the native host's state hash
after the same recorded inputs, and reports a trapping game on the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from tests.wat import contract_wat
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import FIDELITY_TICKS, GAMES, native_run, recording_file


@pytest.mark.parametrize("name", GAMES)
def test_game_boots_and_renders(name: str, published: Callable[[str], str], server: StaticServer,
                                play_page: Callable[..., PlayPage]) -> None:
    src = published(name)
    config = Bundle.open(served_build(server, src)).config
    page = play_page().open(src, ticks=30, fast=True)
    page.wait_stopped()
    assert page.tick == 30
    renderer = page.renderer()
    print(f"{name}: renderer {renderer['name']}: {renderer['glRenderer']}")
    assert renderer["name"] == "webgl2"  # auto: this browser has no WebGPU adapter without the flag
    pixels = page.pixels(config.width, config.height)
    colours = np.unique(pixels.reshape(-1, 4), axis=0)
    assert len(colours) >= 4, f"{name} rendered a blank frame ({len(colours)} colours)"
    assert page.page.locator("#error").is_hidden()


@pytest.mark.parametrize("name", GAMES)
def test_state_hash_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                   play_page: Callable[..., PlayPage], engine: Engine) -> None:
    src = published(name)
    url, path = recording_file(server, name)
    page = play_page().open(src, ticks=FIDELITY_TICKS, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    assert page.tick == FIDELITY_TICKS
    browser_hash = page.state_hash()
    native_hash = native_run(served_build(server, src), engine, FIDELITY_TICKS, path)
    print(f"{name}: {FIDELITY_TICKS} ticks, browser {browser_hash[:16]}, native {native_hash[:16]}")
    assert browser_hash == native_hash
    # and the recording mattered: without it the state differs
    assert native_run(served_build(server, src), engine, FIDELITY_TICKS, None) != native_hash


def test_trapping_game_shows_the_crash(server: StaticServer, play_page: Callable[..., PlayPage],
                                       tmp_path: Path) -> None:
    import wasmtime

    from layerw.config import GameConfig

    build = tmp_path / "hostile"
    build.mkdir()
    tick = "(if (i32.eq (i32.load (i32.const 2048)) (i32.const 3)) (then unreachable))"  # trap at tick 3
    (build / "game.wasm").write_bytes(wasmtime.wat2wasm(contract_wat(tick=tick)))
    (build / "layerw.toml").write_text(GameConfig.from_dict({"game": {"name": "hostile"}}).to_toml())
    page = play_page().open(server.add_game(build), renderer="webgl2")
    page.wait("window.layerw.status === 'failed'")
    error = page.page.locator("#error")
    assert error.is_visible()
    text = error.inner_text()
    assert "hostile at tick 3 in lw_tick: trapped: unreachable" in text, text
    assert any("hostile" in line and "tick 3" in line for line in page.console if line.startswith("error"))


def test_missing_game_shows_a_clear_message(play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open("/games/no-such-game/")
    page.wait("window.layerw.status === 'failed'")
    text = page.page.locator("#error").inner_text()
    assert "could not fetch the game descriptor" in text and "HTTP 404" in text, text
