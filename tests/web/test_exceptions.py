"""A C++ game that throws and catches ([build] exceptions, Wasm exception handling with exnref) runs
in Chromium to the native host's state hash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from tests.toolchain.test_exceptions import THROWS, cpp_game
from tests.web.conftest import PlayPage, StaticServer

TICKS = 40


def test_exceptions_in_the_browser_match_native(server: StaticServer, play_page: Callable[..., PlayPage],
                                                 engine: Engine, tmp_path: Path) -> None:
    out = build(cpp_game(tmp_path, THROWS, "\n[build]\nexceptions = true\nrtti = true\n"), tmp_path / "out").out
    with Game(Bundle.open(out), engine) as game:
        for _ in range(TICKS):
            game.tick(InputState())
        native = game.state_hash()
    page = play_page().open(server.add_game(out), ticks=TICKS, fast=True, renderer="webgl2")
    page.wait_stopped()
    assert page.tick == TICKS
    assert page.state_hash() == native
