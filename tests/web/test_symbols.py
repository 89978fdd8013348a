"""A crash on the page names function and file:line: from the build directory's symbols in
development, from the store's only where the operator allows it, and always in the server's log of
the page's telemetry (tests/runtime/crash/crash.c fails on purpose; seed 1 stores through a wild pointer)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.test_symbols import CRASH, WILD_STORE, line_of
from tests.web.conftest import PlayPage, StaticServer
from tests.web.store_server import store_server
from tests.web.test_telemetry import wait_for


@pytest.fixture(scope="module")
def crash(built: Callable[[Path], Path]) -> Path:
    return built(CRASH)


def crashed(page: PlayPage) -> tuple[str, list[dict[str, Any]]]:
    page.wait("window.layerw.status === 'failed'")
    text = page.page.locator("#error").inner_text()
    return text, page.page.evaluate("window.layerw.errorFrames")


def test_a_dev_page_names_the_source_line(crash: Path, server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    text, frames = crashed(play_page().open(server.add_game(crash), renderer="webgl2", seed=WILD_STORE))
    assert "crash at tick 3 in lw_tick: trapped: memory access out of bounds" in text, text
    assert f"at store_far (crash.c:{line_of('wild store')})" in text, text
    assert [(f["function"], f["file"]) for f in frames[:2]] == [("store_far", "crash.c"), ("lw_game_tick", "crash.c")]


def test_a_store_keeps_symbols_from_players_and_names_lines_in_its_log(
        crash: Path, tmp_path: Path, play_page: Callable[..., PlayPage], caplog: pytest.LogCaptureFixture) -> None:
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        s.publish(crash)
        assert httpx.get(f"{s.url}/debug/crash/1.0.0/symbols.json").status_code == 403
        text, frames = crashed(play_page().goto(s.play_url("crash", seed=WILD_STORE)))
        assert "crash.c" not in text and "at wasm-function[" in text, text  # the page knows offsets only
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    top = report.frames[0]
    assert (top["function"], top["file"], top["line"]) == ("store_far", "crash.c", line_of("wild store"))
    assert top["offset"] == frames[0]["offset"]
    assert f"at store_far (crash.c:{line_of('wild store')})" in report.getMessage()


def test_an_operator_may_serve_symbols_to_pages(crash: Path, tmp_path: Path, play_page: Callable[..., PlayPage]) -> None:
    with store_server(tmp_path / "store", serve_symbols=True) as s:
        s.publish(crash)
        text, _ = crashed(play_page().goto(s.play_url("crash", seed=WILD_STORE, telemetry=0)))
    assert f"at store_far (crash.c:{line_of('wild store')})" in text, text


def test_a_debug_page_runs_the_module_with_dwarf(crash: Path, server: StaticServer,
                                                 play_page: Callable[..., PlayPage]) -> None:
    """?debug loads game.debug.wasm (what DevTools' C/C++ support reads); its code is the shipped
    module's, so the same table names the same line."""
    page = play_page().open(server.add_game(crash), renderer="webgl2", seed=WILD_STORE, debug=True)
    text, _ = crashed(page)
    fetched = page.page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    assert any(name.endswith("/game.debug.wasm") for name in fetched), fetched
    assert not any(name.endswith("/game.wasm") for name in fetched), fetched
    assert f"at store_far (crash.c:{line_of('wild store')})" in text, text


def test_a_page_hosted_crash_names_its_lines_on_the_page_and_in_the_telemetry(
        crash: Path, server: StaticServer, tmp_path: Path, play_page: Callable[..., PlayPage],
        caplog: pytest.LogCaptureFixture) -> None:
    """?worker=0: the trap's wasm frames come from the page's own RuntimeError, not a worker's record."""
    page = play_page().open(server.add_game(crash), renderer="webgl2", seed=WILD_STORE, worker=0)
    text, frames = crashed(page)
    assert page.page.evaluate("window.layerw.host") == "page"
    assert f"at store_far (crash.c:{line_of('wild store')})" in text, text
    assert [(f["function"], f["file"]) for f in frames[:2]] == [("store_far", "crash.c"), ("lw_game_tick", "crash.c")]
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        s.publish(crash)
        crashed(play_page().goto(s.play_url("crash", seed=WILD_STORE, worker=0)))
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    assert f"at store_far (crash.c:{line_of('wild store')})" in report.getMessage()
