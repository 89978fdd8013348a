"""Fonts from assets in the browser: the page draws a game's UTF-8 font text (lw_font_text) with the
same pixels as the native wgpu renderer, on WebGL2 and on WebGPU, and ?dev=1 reports each code point
the font lacks once, as the native host does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from tests.toolchain.fontgame import NAME, build_font_game
from tests.web.conftest import PlayPage, StaticServer
from tests.web.recordings import native_frame
from tests.web.test_renderer import PIXEL_TOLERANCE, webgpu_page

TICKS = 3


@pytest.fixture(scope="module")
def font_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_font_game(tmp_path_factory.mktemp("webfonts"))


@pytest.fixture(scope="module")
def native(font_build: Path, engine: Engine) -> Iterator[np.ndarray]:
    config = Bundle.open(font_build).config
    with WgpuRenderer(config.width, config.height, filter=config.filter) as renderer:
        frame = native_frame(font_build, engine, TICKS, None, renderer)[1]
    assert frame is not None
    yield frame


@pytest.mark.parametrize("backend", ["webgl2", "webgpu"])
def test_font_text_has_the_native_pixels(backend: str, font_build: Path, native: np.ndarray, server: StaticServer,
                                         play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    src = server.add_game(font_build, f"fonts-{backend}")
    page = play_page() if backend == "webgl2" else webgpu_page(play_page, webgpu_browser, server)
    page.open(src, ticks=TICKS, fast=True, renderer=backend, dev=1)
    page.wait_stopped()
    assert page.renderer()["name"] == backend
    config = Bundle.open(font_build).config
    browser = page.pixels(config.width, config.height)
    off = np.abs(browser.astype(np.int16) - native).max(axis=2)
    print(f"{backend}: largest channel difference from native wgpu: {int(off.max())}; pixels off: {int((off > 0).sum())}")
    assert (native[..., 0] > 0).sum() > 300  # there is text to compare
    assert int(off.max()) <= PIXEL_TOLERANCE, f"{int((off > PIXEL_TOLERANCE).sum())} pixels differ"
    problems = page.page.evaluate("window.layerw.devProblems")
    assert [p["kind"] for p in problems] == ["missing-glyph"] * 3, problems
    messages = " ".join(p["message"] for p in problems)
    assert "U+00E9 'é'" in messages and "U+4E2D '中'" in messages and "malformed UTF-8" in messages
    assert f"the font with atlas '{NAME}.png'" in messages
