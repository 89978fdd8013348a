"""``layerw dev --serve``: every open tab hot-reloads each build, keeping its state (real builds, real
dev server, real Chromium). The tests edit a small C game, rebuild it with the dev loop, and watch
the pages: a colour change swaps in with the tick going on, a layout change restarts and says why,
a syntax error shows in the overlay while the old build keeps running, a build after the game died
(trapped, or timed out in its worker) restarts from its seed and says why, and the page's renderer is
the new build's. Each runs with the game in a game worker (the default, as players run it) and on the
page's thread (?worker=0)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerw.play.dev import DevLoop, DevOptions
from layerw.server.dev_app import DevServer
from layerw.server.dev_events import DevEvents
from layerw.toolchain.scaffold import scaffold
from tests.play.test_dev import TILE_GAME, write_tile
from tests.web.conftest import PlayPage

WIDTH, HEIGHT = 320, 180
GAME = """#include "layerw.h"
static volatile uint32_t state[2] = {0xC0FFEE11u, 0};
%(extra)s
void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) { (void)in; state[1] += 1; %(tick)s }
void lw_game_render(lw_frame *f) { %(render)s lw_clear(f, LW_RGB(%(color)s)); }
"""
RED, BLUE = "200, 0, 0", "0, 0, 200"


def write_game(game_dir: Path, color: str = RED, extra: str = "", tick: str = "", render: str = "") -> None:
    source = game_dir / "main.c"
    before = source.stat().st_mtime_ns if source.exists() else 0
    source.write_text(GAME % {"color": color, "extra": extra, "tick": tick, "render": render})
    if source.stat().st_mtime_ns == before:  # a coarse clock: make the edit visible to the watcher
        os.utime(source, ns=(before + 1_000_000, before + 1_000_000))


@contextmanager
def served(game_dir: Path) -> Iterator[tuple[DevLoop, str]]:
    """A dev loop on ``game_dir`` and its dev server on a free loopback port, wired as `layerw dev --serve` wires them."""
    with DevLoop(game_dir, DevOptions(headless=True), lambda line: None) as loop:
        events = DevEvents()
        events.publish(loop.build_event())
        loop.listeners.append(events.publish)
        with DevServer(events, loop.build_dir, 0) as server:
            yield loop, server.url


@pytest.fixture(params=["worker", "page"])
def host(request: pytest.FixtureRequest) -> str:
    """Where the page runs the game: in a game worker (the dev page's default) or on its thread (?worker=0)."""
    return str(request.param)


@pytest.fixture
def dev_served(tmp_path: Path) -> Iterator[tuple[DevLoop, str]]:
    game_dir = tmp_path / "hot"
    scaffold(game_dir)
    write_game(game_dir)
    with served(game_dir) as both:
        yield both


def open_dev(make: Callable[..., PlayPage], url: str, host: str) -> PlayPage:
    page = make().goto(f"{url}/" if host == "worker" else f"{url}/?worker=0")
    page.wait("window.layerw.status === 'running' && window.layerw.tick >= 20 && window.layerw.devReload")
    assert page.page.evaluate("window.layerw.host") == host
    return page


def colour(page: PlayPage) -> tuple[int, int, int]:
    pixels = page.pixels(WIDTH, HEIGHT)
    r, g, b, _ = np.asarray(pixels[HEIGHT // 2, WIDTH // 2], dtype=int)
    return r, g, b


def reloads(page: PlayPage) -> list[dict[str, Any]]:
    return list(page.page.evaluate("window.layerw.devReload.reloads"))


def test_every_tab_hot_reloads_keeping_its_tick(dev_served: tuple[DevLoop, str], play_page: Callable[..., PlayPage],
                                                host: str) -> None:
    loop, url = dev_served
    tabs = [open_dev(play_page, url, host), open_dev(play_page, url, host)]
    for tab in tabs:
        assert colour(tab) == (200, 0, 0)
    write_game(loop.game_dir, color=BLUE, render="int unused_here;")  # a warning, on a build that succeeds
    assert loop.poll()
    for tab in tabs:
        tab.wait("window.layerw.devReload.reloads.length === 1")
        [swap] = reloads(tab)
        assert swap["kept"] and swap["reason"] is None, swap
        assert swap["build"] == 2 and swap["tick"] >= 20
        tab.wait(f"window.layerw.tick > {swap['tick']}")  # the game goes on from the tick it had, not from 0
        assert colour(tab) == (0, 0, 200)  # the new code draws
        warning = tab.page.inner_text("#dev-problems li[data-kind=build-warning]")
        assert "main.c:" in warning and "unused_here" in warning


def test_a_layout_change_restarts_and_says_why(dev_served: tuple[DevLoop, str], play_page: Callable[..., PlayPage],
                                               host: str) -> None:
    loop, url = dev_served
    tab = open_dev(play_page, url, host)
    write_game(loop.game_dir, extra="static volatile uint32_t trail[20000];", tick="trail[state[1] % 20000u] = 1;")
    assert loop.poll()
    tab.wait("window.layerw.devReload.reloads.length === 1")
    [swap] = reloads(tab)
    assert not swap["kept"] and "state layout" in swap["reason"], swap
    note = tab.page.inner_text("#dev-problems li[data-kind=restarted]")
    assert "restarted from its seed" in note and "state layout" in note
    tab.wait("window.layerw.status === 'running' && window.layerw.tick >= 1")


def test_a_syntax_error_shows_in_the_overlay_and_the_game_keeps_running(
        dev_served: tuple[DevLoop, str], play_page: Callable[..., PlayPage], host: str) -> None:
    loop, url = dev_served
    tab = open_dev(play_page, url, host)
    write_game(loop.game_dir, color="0, 0, 200", tick="state[1] +=;")
    assert not loop.poll()  # the build fails: the old one keeps running natively too
    tab.wait("window.layerw.devReload.failures.length === 1")
    error = tab.page.inner_text("#dev-problems li[data-kind=build-error]")
    assert "main.c:5:" in error and "error" in error, error
    before = tab.tick
    tab.wait(f"window.layerw.tick > {before + 5}")  # still ticking, the old build
    assert reloads(tab) == [] and colour(tab) == (200, 0, 0)


def test_a_changed_asset_reloads_without_a_restart(tmp_path: Path, play_page: Callable[..., PlayPage], host: str) -> None:
    game_dir = tmp_path / "tiles"
    scaffold(game_dir)
    (game_dir / "main.c").write_text(TILE_GAME)
    write_tile(game_dir, (0, 200, 0))
    with served(game_dir) as (loop, url):
        tab = open_dev(play_page, url, host)
        assert colour(tab) == (0, 200, 0)
        write_tile(game_dir, (200, 0, 200))
        assert loop.poll()
        tab.wait("window.layerw.devReload.reloads.length === 1")
        [swap] = reloads(tab)
        assert swap["kept"], swap  # the same module: the state comes over
        tab.wait(f"window.layerw.tick > {swap['tick']}")
        assert colour(tab) == (200, 0, 200)  # the new bytes, drawn by the game that went on



# the old game dies on a key (any key down), after the page is up: a trap, or a call that never returns (its
# game worker's watchdog ends it; on the page's thread a runaway call would freeze the page, so worker only)
DIE = {"trap": "__builtin_trap();", "hang": "for (;;) state[1] += 1;"}
ON_A_KEY = "for (int k = 0; k < 8; k++) if (in->players[0].keys[k]) { %s }"


@pytest.mark.parametrize(("where", "how"), [("worker", "trap"), ("page", "trap"), ("worker", "hang")])
def test_a_build_after_the_game_stopped_restarts_from_its_seed_and_says_why(
        tmp_path: Path, play_page: Callable[..., PlayPage], where: str, how: str) -> None:
    game_dir = tmp_path / "dies"
    scaffold(game_dir)
    toml = game_dir / "layerw.toml"  # a deadline a loaded machine's worker never reaches before the key
    toml.write_text(toml.read_text().replace("tick_ms = 100", "tick_ms = 1000"))
    write_game(game_dir, tick=ON_A_KEY % DIE[how])
    with served(game_dir) as (loop, url):
        tab = open_dev(play_page, url, where)
        tab.page.keyboard.down("x")
        tab.wait("window.layerw.status === 'failed'")
        tab.page.keyboard.up("x")
        died = tab.page.evaluate("window.layerw.errorName")
        assert died == ("GameCrashed" if how == "trap" else "GameTimedOut"), died
        write_game(game_dir, color=BLUE)
        assert loop.poll()
        tab.page.wait_for_function("window.layerw.devReload.reloads.length + window.layerw.devReload.failures.length === 1")
        assert tab.page.evaluate("window.layerw.devReload.failures") == []  # not "the old build keeps running"
        [swap] = reloads(tab)
        assert not swap["kept"] and "had stopped" in swap["reason"] and "no state to keep" in swap["reason"], swap
        note = tab.page.inner_text("#dev-problems li[data-kind=restarted]")
        assert "build 2 restarted from its seed" in note and "had stopped" in note, note
        tab.wait("window.layerw.status === 'running' && window.layerw.tick >= 5")  # the new build runs, from tick 0
        assert tab.page.evaluate("[window.layerw.error, document.getElementById('error').hidden]") == [None, True]
        assert colour(tab) == (0, 0, 200)


def test_the_page_s_renderer_is_the_running_build_s_after_a_swap(
        dev_served: tuple[DevLoop, str], play_page: Callable[..., PlayPage], host: str) -> None:
    loop, url = dev_served
    tab = open_dev(play_page, url, host)
    tab.page.evaluate("window.firstClient = window.layerw.client()")
    write_game(loop.game_dir, color=BLUE)
    assert loop.poll()
    tab.wait("window.layerw.devReload.reloads.length === 1")
    assert tab.page.evaluate("window.layerw.client() !== window.firstClient")
    # what the closed client last knew of its renderer is no longer what the page says
    tab.page.evaluate("window.firstClient.renderer = {name: 'closed', glRenderer: 'closed', recovery: null}")
    assert tab.renderer()["name"] == tab.page.evaluate("window.layerw.client().renderer.name") != "closed"
    if host == "page":  # the new build's context lost and back: the page's counts are the new renderer's
        tab.page.evaluate("window.loser = window.layerw.client().renderer.gl.getExtension('WEBGL_lose_context'); "
                          "window.loser.loseContext()")
        tab.wait("window.layerw.renderer.recovery.losses === 1")
        tab.page.evaluate("window.loser.restoreContext()")
        tab.wait("window.layerw.renderer.recovery.recoveries === 1")
