"""The page's per-frame timing overlay: F3 shows the running means of tick, render, present and
sound over the canvas, F3 again hides it (window.layerw.timing() reads the same numbers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import GAMES
from tests.web.conftest import PlayPage, StaticServer


def test_f3_toggles_the_timing_overlay(built: Callable[[Path], Path], server: StaticServer,
                                       play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(server.add_game(built(GAMES / "pong")), renderer="webgl2")
    page.wait_running()
    overlay = page.page.locator("pre.layerw-timing")
    assert overlay.is_hidden()
    page.page.keyboard.press("F3")
    page.wait("window.layerw.timing().shown && window.layerw.timing().ms.render > 0 && window.layerw.tick > 30")
    assert overlay.is_visible()
    text = overlay.inner_text()
    assert all(part in text for part in ("tick", "render", "present", "sound")), text
    ms = page.page.evaluate("window.layerw.timing().ms")
    assert ms["tick"] > 0 and ms["sound"] > 0 and ms["present"] > 0, ms  # pong mixes a block every tick
    page.page.keyboard.press("F3")
    page.wait("!window.layerw.timing().shown")
    assert overlay.is_hidden()


def test_f3_toggles_the_overlay_of_a_game_on_the_page_s_thread(built: Callable[[Path], Path], server: StaticServer,
                                                                play_page: Callable[..., PlayPage]) -> None:
    """?worker=0: the page's own Loop feeds the overlay (a game worker's posts its parts, test_worker.py)."""
    page = play_page().open(server.add_game(built(GAMES / "pong")), renderer="webgl2", worker=0)
    page.wait_running()
    assert page.page.evaluate("window.layerw.host") == "page"
    overlay = page.page.locator("pre.layerw-timing")
    page.page.keyboard.press("F3")
    page.wait("window.layerw.timing().shown && window.layerw.timing().ms.render > 0 && window.layerw.tick > 30")
    assert overlay.is_visible() and all(part in overlay.inner_text() for part in ("tick", "render", "present", "sound"))
    page.page.keyboard.press("F3")
    page.wait("!window.layerw.timing().shown")
    assert overlay.is_hidden()
