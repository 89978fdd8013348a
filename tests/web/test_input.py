"""Live input in the browser: Playwright's keyboard and mouse reach the packed lw_input struct in
the contract's terms (KeyboardEvent.code -> abi KEYS, pointer in game pixels) and drive the game."""

from __future__ import annotations

from collections.abc import Callable

from layerw import abi
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import KEY_CODES
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import native_run

KEYBOARD_TICKS = 90  # 1.5 s at pong's 60 ticks per second


def key_down(player: object, name: str) -> bool:
    code = KEY_CODES[name]
    return bool(player["keys"][code >> 5] >> (code & 31) & 1)  # type: ignore[index]


def test_keyboard_drives_pong(published: Callable[[str], str], server: StaticServer,
                              play_page: Callable[..., PlayPage], engine: Engine) -> None:
    src = published("pong")
    page = play_page().open(src, ticks=KEYBOARD_TICKS, renderer="webgl2")
    page.wait_running()
    page.page.keyboard.down("w")  # KeyW: the left paddle up, held until the run stops
    page.wait_stopped()
    held = page.last_input()
    page.page.keyboard.up("w")
    assert held["tick"] == KEYBOARD_TICKS - 1
    assert key_down(held["players"][0], "KeyW") and not key_down(held["players"][0], "KeyS")
    assert page.state_hash() != native_run(served_build(server, src), engine, KEYBOARD_TICKS, None)


def test_pointer_reaches_the_input_struct_in_game_pixels(published: Callable[[str], str],
                                                         play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(published("pong"), renderer="webgl2")  # 800x600 viewport; pong is 320x240
    page.wait_running()
    box = page.page.locator("canvas").bounding_box()
    assert box is not None
    # a quarter in from the canvas's top-left corner: game pixel (80, 60) whatever the scale
    page.page.mouse.move(box["x"] + box["width"] / 4, box["y"] + box["height"] / 4)
    page.page.mouse.down()
    page.wait("window.layerw.lastInput() && window.layerw.tick > 2")
    start = page.tick
    page.wait(f"window.layerw.tick > {start + 2}")
    pointer = page.last_input()["players"][0]["pointer"]
    page.page.mouse.up()
    assert abs(float(pointer["x"]) - 80) <= 0.5 and abs(float(pointer["y"]) - 60) <= 0.5, pointer
    assert int(pointer["buttons"]) == abi.POINTER_BUTTONS["LEFT"]
    assert int(pointer["inside"]) == 1
    page.page.mouse.move(2, 2)  # the letterbox: outside the game
    start = page.tick
    page.wait(f"window.layerw.tick > {start + 2}")
    assert int(page.last_input()["players"][0]["pointer"]["inside"]) == 0


def test_touch_overlay_is_gamepad_zero(published: Callable[[str], str], play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(published("pong"), renderer="webgl2", overlay=1)
    page.wait_running()
    button = page.page.locator(".layerw-overlay [data-pad='A']")
    box = button.bounding_box()
    assert box is not None
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.mouse.down()
    start = page.tick
    page.wait(f"window.layerw.tick > {start + 2}")
    pad = page.last_input()["players"][0]["gamepads"][0]
    page.page.mouse.up()
    assert int(pad["connected"]) == 1
    assert int(pad["buttons"]) == 1 << abi.PAD_BUTTONS.index("A")
