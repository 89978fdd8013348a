"""A lost WebGL2 context in Chromium (WEBGL_lose_context's loseContext, then restoreContext): the game
keeps ticking while frames are skipped, and once the context is back the renderer has made its
programs, buffers and textures again and draws the same pixels as before (web/renderer-webgl2.js)."""

from __future__ import annotations

from collections.abc import Callable

from tests.web.conftest import PlayPage

TICKS = 60
LOSE_AT = 10
# the page-hosted renderer's context (worker=0): a game worker's is on its OffscreenCanvas, out of the page's reach
LOSE = "window.loser = window.layerw.client().renderer.gl.getExtension('WEBGL_lose_context'); window.loser.loseContext()"
RESTORE = "window.loser.restoreContext()"
STATS = "window.layerw.renderer.recovery"


def size(page: PlayPage) -> tuple[int, int]:
    width, height = page.page.evaluate("[window.layerw.config.width, window.layerw.config.height]")
    return int(width), int(height)


def test_a_stopped_game_draws_the_same_frame_after_its_context_comes_back(
        published: Callable[[str], str], play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(published("sprites"), ticks=5, fast=True, renderer="webgl2", worker=0)
    page.wait_stopped()
    before = page.pixels(*size(page))
    page.page.evaluate(LOSE)
    page.wait(f"{STATS}.losses === 1")
    lost_error = page.page.evaluate("window.layerw.readPixels().then(() => null, (e) => e.message)")
    page.page.evaluate(RESTORE)
    page.wait(f"{STATS}.recoveries === 1")
    assert "context is lost" in lost_error
    after = page.pixels(*size(page))
    assert before[..., :3].any() and (after == before).all()  # textures uploaded again: the same frame
    assert page.page.evaluate(STATS) == {"losses": 1, "recoveries": 1, "fellBack": False, "failure": None}


def test_a_running_game_keeps_ticking_while_its_context_is_lost(
        published: Callable[[str], str], play_page: Callable[..., PlayPage]) -> None:
    src = published("sprites")
    page = play_page().open(src, ticks=TICKS, renderer="webgl2", worker=0)
    page.wait(f"window.layerw.tick >= {LOSE_AT}")
    page.page.evaluate(LOSE)
    page.wait(f"{STATS}.losses === 1")
    lost_at = page.tick
    page.wait(f"window.layerw.tick >= {lost_at + 5}")  # ticking on, drawing nothing
    assert page.page.evaluate(f"{STATS}.recoveries") == 0
    page.page.evaluate(RESTORE)
    page.wait(f"{STATS}.recoveries === 1")
    page.wait_stopped()
    assert page.tick == TICKS and page.page.evaluate("window.layerw.status") == "stopped"
    reference = play_page().open(src, ticks=TICKS, fast=True, renderer="webgl2", worker=0)
    reference.wait_stopped()
    assert page.state_hash() == reference.state_hash()
    assert (page.pixels(*size(page)) == reference.pixels(*size(reference))).all()
