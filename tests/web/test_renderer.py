"""Pixel parity: a frame the browser renders (WebGL2, and WebGPU where Chromium gives an adapter)
differs from the native wgpu frame of the same state in at most 1 % of pixels.

A pixel differs when any RGBA channel is off by more than PIXEL_TOLERANCE (of 255): both sides
sample textures with nearest filtering and draw without MSAA, so only rasterisation rules
(edge pixels of rotated quads, anti-aliased circle edges, float rounding) may differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from layerw.bundle import Bundle
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import FIDELITY_TICKS, GAMES, native_frame, recording_file

PIXEL_TOLERANCE = 8
MAX_DIFFERING = 0.01


@pytest.fixture(scope="module")
def native_renderers() -> Iterator[dict[tuple[int, int], WgpuRenderer]]:
    made: dict[tuple[int, int], WgpuRenderer] = {}
    yield made
    for r in made.values():
        r.close()


def differing(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float((np.abs(a.astype(np.int16) - b).max(axis=2) > PIXEL_TOLERANCE).mean())


def check_parity(name: str, backend: str, page: PlayPage, server: StaticServer, src: str, engine: Engine,
                 renderers: dict[tuple[int, int], WgpuRenderer], tmp_path: Any) -> None:
    url, path = recording_file(server, name)
    build = served_build(server, src)
    config = Bundle.open(build).config
    page.open(src, ticks=FIDELITY_TICKS, fast=True, inputs=url, renderer=backend)
    page.wait_stopped()
    assert page.renderer()["name"] == backend
    browser = page.pixels(config.width, config.height)
    size = (config.width, config.height)
    native_hash, native = native_frame(build, engine, FIDELITY_TICKS, path, renderers.setdefault(size, WgpuRenderer(*size)))
    assert native is not None
    assert page.state_hash() == native_hash  # the same state, so any difference is the renderer's
    fraction = differing(browser, native)
    renderer = page.renderer()
    print(f"{name}: {backend} ({renderer['glRenderer']}) vs native wgpu: {fraction:.3%} of pixels differ "
          f"by more than {PIXEL_TOLERANCE}")
    if fraction > MAX_DIFFERING:
        Image.fromarray(browser, "RGBA").save(tmp_path / f"{name}-{backend}.png")
        Image.fromarray(native, "RGBA").save(tmp_path / f"{name}-native.png")
    assert fraction <= MAX_DIFFERING, f"{fraction:.2%} of pixels differ; frames in {tmp_path}"


@pytest.mark.parametrize("name", GAMES)
def test_webgl2_frame_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                     play_page: Callable[..., PlayPage], engine: Engine,
                                     native_renderers: dict[tuple[int, int], WgpuRenderer], tmp_path: Any) -> None:
    check_parity(name, "webgl2", play_page(), server, published(name), engine, native_renderers, tmp_path)


@pytest.mark.parametrize("name", GAMES)
def test_webgpu_frame_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                     play_page: Callable[..., PlayPage], webgpu_browser: Any, engine: Engine,
                                     native_renderers: dict[tuple[int, int], WgpuRenderer], tmp_path: Any) -> None:
    page = play_page(webgpu_browser)
    page.page.goto(f"{server.url}/web/play.html")  # a secure context on the test server
    adapter = page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    if not adapter:
        pytest.skip("Chromium gives no WebGPU adapter here (navigator.gpu.requestAdapter() is null even with "
                    "--enable-unsafe-webgpu and SwiftShader Vulkan), so the WebGPU renderer cannot run")
    check_parity(name, "webgpu", page, server, published(name), engine, native_renderers, tmp_path)


def test_auto_picks_webgpu_when_an_adapter_exists(published: Callable[[str], str], server: StaticServer,
                                                  play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    page = play_page(webgpu_browser).open(published("pong"), ticks=5, fast=True)
    page.wait_stopped()
    has_adapter = page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    assert page.renderer()["name"] == ("webgpu" if has_adapter else "webgl2")
