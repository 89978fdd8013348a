"""A lost WebGPU device never leaves a dead page (web/device-recovery.js): destroyed from the test on
the live page, a new device is made, textures are uploaded again and frames keep coming with the
right pixels; a device lost again and again falls back to WebGL2; and headless Chromium with plain
--enable-unsafe-webgpu (which loses its device at the first present) still plays."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PlayPage, StaticServer
from tests.web.test_renderer import MAX_DIFFERING, differing, webgpu_page

TICKS = 90
LOSE_AT = 20
DESTROY = "window.layerw.client().renderer.device.destroy()"  # the page-hosted renderer's: pages opened with worker=0


def size(page: PlayPage) -> tuple[int, int]:
    width, height = page.page.evaluate("[window.layerw.config.width, window.layerw.config.height]")
    return int(width), int(height)


def reference(play_page: Callable[..., PlayPage], browser: Any, src: str, renderer: str) -> Any:
    page = play_page(browser).open(src, ticks=TICKS, fast=True, renderer=renderer)
    page.wait_stopped()
    return page.pixels(*size(page))


def test_a_destroyed_device_is_replaced_and_frames_keep_coming(published: Callable[[str], str], server: StaticServer,
                                                               play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    src = published("sprites")
    page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=TICKS, renderer="webgpu", worker=0)
    page.wait(f"window.layerw.tick >= {LOSE_AT}")
    page.page.evaluate(DESTROY)
    page.wait("window.layerw.renderer.recovery.recoveries >= 1")
    after = page.tick
    page.wait_stopped()
    assert page.tick == TICKS > after  # it kept ticking and drawing after the new device came
    stats = page.renderer()
    assert stats["name"] == "webgpu"
    assert stats["recovery"] == {"losses": 1, "recoveries": 1, "fellBack": False, "failure": None}
    expected = reference(play_page, webgpu_browser, src, "webgpu")
    assert (page.pixels(*size(page)) == expected).all()  # the textures were uploaded again: the same frame


def test_a_device_lost_again_and_again_falls_back_to_webgl2(published: Callable[[str], str], server: StaticServer,
                                                            play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    src = published("sprites")
    page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=TICKS, renderer="webgpu", worker=0)
    page.wait(f"window.layerw.tick >= {LOSE_AT}")
    for n in range(1, 5):  # MAX_LOSSES is 3: the fourth loss gives up on WebGPU
        page.page.evaluate(DESTROY)
        page.wait(f"window.layerw.renderer.recovery.losses >= {n} && (window.layerw.renderer.recovery.recoveries >= {n} "
                  "|| window.layerw.renderer.recovery.fellBack)")
    page.wait_stopped()
    stats = page.renderer()
    assert stats["name"] == "webgl2" and stats["recovery"]["fellBack"] and stats["recovery"]["losses"] == 4
    assert page.page.evaluate("document.querySelectorAll('canvas').length") == 1  # the fresh canvas replaced the old
    apart = differing(page.pixels(*size(page)), reference(play_page, webgpu_browser, src, "webgl2"))
    assert apart <= MAX_DIFFERING


def test_a_stopped_game_falls_back_to_webgl2_with_its_last_frame(published: Callable[[str], str], server: StaticServer,
                                                                 play_page: Callable[..., PlayPage],
                                                                 webgpu_browser: Any) -> None:
    """Devices lost after the game's last tick: no frame is pending and none will come, so the
    fresh WebGL2 canvas draws the game as it is (a loaded machine let a game stop mid-recovery and
    left the fallback's canvas blank)."""
    src = published("sprites")
    page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=TICKS, renderer="webgpu", worker=0)
    page.wait_stopped()
    for n in range(1, 5):
        page.page.evaluate(DESTROY)
        page.wait(f"window.layerw.renderer.recovery.losses >= {n} && (window.layerw.renderer.recovery.recoveries >= {n} "
                  "|| window.layerw.renderer.recovery.fellBack)")
    assert page.renderer()["name"] == "webgl2"
    apart = differing(page.pixels(*size(page)), reference(play_page, webgpu_browser, src, "webgl2"))
    assert apart <= MAX_DIFFERING


@pytest.fixture(scope="module")
def plain_webgpu_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with --enable-unsafe-webgpu alone: no SwiftShader Vulkan, so presenting loses the device."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + ["--enable-unsafe-webgpu"])
    yield browser
    browser.close()


def test_plain_unsafe_webgpu_still_plays(published: Callable[[str], str], server: StaticServer,
                                         play_page: Callable[..., PlayPage], plain_webgpu_browser: Any,
                                         browser: Any) -> None:
    src = published("asteroids")
    page = play_page(plain_webgpu_browser).open(src, ticks=TICKS)
    page.wait_stopped()
    stats = page.renderer()
    print(f"plain --enable-unsafe-webgpu: {stats}")
    assert page.tick == TICKS
    assert stats["name"] == "webgl2" or stats["recovery"] is None or stats["recovery"]["failure"] is None
    apart = differing(page.pixels(*size(page)), reference(play_page, browser, src, "webgl2"))
    assert apart <= MAX_DIFFERING


def test_a_gpu_api_game_declares_its_resources_again_on_the_new_device(
        published: Callable[[str], str], server: StaticServer, play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    src = published("cubes")
    ticks = 24  # SwiftShader draws the 4096 cubes slowly
    page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=ticks, renderer="webgpu", worker=0)
    page.wait("window.layerw.tick >= 8")
    page.page.evaluate(DESTROY)
    page.wait_stopped()
    page.wait("window.layerw.renderer.recovery.recoveries >= 1")  # maybe after the last tick: it draws a fresh frame then
    assert page.renderer()["recovery"] == {"losses": 1, "recoveries": 1, "fellBack": False, "failure": None}
    reference = play_page(webgpu_browser).open(src, ticks=ticks, fast=True, renderer="webgpu")
    reference.wait_stopped()
    assert page.state_hash() == reference.state_hash()  # forgetting the GPU resources left the game state alone
    pixels = page.pixels(*size(page))
    assert (pixels == reference.pixels(*size(reference))).all() and pixels[..., :3].any()


def test_a_game_worker_falls_back_to_webgl2_on_a_canvas_from_the_page(
        published: Callable[[str], str], play_page: Callable[..., PlayPage], plain_webgpu_browser: Any, browser: Any) -> None:
    src = published("asteroids")
    page = play_page(plain_webgpu_browser).open(src, ticks=TICKS, worker=1)
    page.wait_stopped()
    page.wait("window.layerw.renderer.name === 'webgl2' || (window.layerw.renderer.recovery "
              "&& window.layerw.renderer.recovery.recoveries >= window.layerw.renderer.recovery.losses)")
    stats = page.renderer()
    print(f"plain --enable-unsafe-webgpu in a worker: {stats}")
    assert page.tick == TICKS and page.page.evaluate("document.querySelectorAll('canvas').length") == 1
    size_of = "[window.layerw.config.width, window.layerw.config.height]"
    width, height = page.page.evaluate(size_of)
    apart = differing(page.pixels(int(width), int(height)), reference(play_page, browser, src, "webgl2"))
    assert apart <= MAX_DIFFERING
