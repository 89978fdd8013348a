"""Pixel parity: a frame the browser renders (WebGL2, and WebGPU where Chromium gives an adapter)
differs from the native wgpu frame of the same state in at most 1 % of pixels.

A pixel differs when any RGBA channel is off by more than PIXEL_TOLERANCE (of 255): both sides
sample textures with the game's filter (nearest for the sample games; linear for a variant of
sprites) and draw without MSAA, so only rasterisation rules (edge pixels of rotated quads,
anti-aliased circle edges, float rounding) may differ.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from layerw.bundle import Bundle
from layerw.config import CONFIG_NAME, GameConfig
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import FIDELITY_TICKS, GAMES, native_frame, recording_file

PIXEL_TOLERANCE = 8
MAX_DIFFERING = 0.01


@pytest.fixture(scope="module")
def native_renderers() -> Iterator[dict[tuple[int, int, str], WgpuRenderer]]:
    made: dict[tuple[int, int, str], WgpuRenderer] = {}
    yield made
    for r in made.values():
        r.close()


def differing(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float((np.abs(a.astype(np.int16) - b).max(axis=2) > PIXEL_TOLERANCE).mean())


def native_renderer(renderers: dict[tuple[int, int, str], WgpuRenderer], config: GameConfig) -> WgpuRenderer:
    key = (config.width, config.height, config.filter)
    if key not in renderers:
        renderers[key] = WgpuRenderer(config.width, config.height, filter=config.filter)
    return renderers[key]


def check_parity(name: str, backend: str, page: PlayPage, server: StaticServer, src: str, engine: Engine,
                 renderers: dict[tuple[int, int, str], WgpuRenderer], tmp_path: Any) -> np.ndarray:
    """Asserts the browser's frame matches the native one; returns the browser's frame."""
    url, path = recording_file(server, name)
    build = served_build(server, src)
    config = Bundle.open(build).config
    page.open(src, ticks=FIDELITY_TICKS, fast=True, inputs=url, renderer=backend)
    page.wait_stopped()
    assert page.renderer()["name"] == backend
    scaled = page.page.evaluate("document.getElementById('game').style.imageRendering")
    assert scaled == ("pixelated" if config.filter == "nearest" else "auto")  # how the page scales the frame
    browser = page.pixels(config.width, config.height)
    native_hash, native = native_frame(build, engine, FIDELITY_TICKS, path, native_renderer(renderers, config))
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
    return browser


@pytest.mark.parametrize("name", GAMES)
def test_webgl2_frame_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                     play_page: Callable[..., PlayPage], engine: Engine,
                                     native_renderers: dict[tuple[int, int, str], WgpuRenderer], tmp_path: Any) -> None:
    check_parity(name, "webgl2", play_page(), server, published(name), engine, native_renderers, tmp_path)


@pytest.mark.parametrize("name", GAMES)
def test_webgpu_frame_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                     play_page: Callable[..., PlayPage], webgpu_browser: Any, engine: Engine,
                                     native_renderers: dict[tuple[int, int, str], WgpuRenderer], tmp_path: Any) -> None:
    check_parity(name, "webgpu", webgpu_page(play_page, webgpu_browser, server), server, published(name), engine,
                 native_renderers, tmp_path)


def webgpu_page(play_page: Callable[..., PlayPage], webgpu_browser: Any, server: StaticServer) -> PlayPage:
    page = play_page(webgpu_browser)
    page.page.goto(f"{server.url}/web/play.html")  # a secure context on the test server
    adapter = page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    if not adapter:
        pytest.skip("Chromium gives no WebGPU adapter here (navigator.gpu.requestAdapter() is null even with "
                    "--enable-unsafe-webgpu and SwiftShader Vulkan), so the WebGPU renderer cannot run")
    return page


@pytest.fixture(scope="module")
def linear_sprites(published: Callable[[str], str], server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sprites game (rotating, scaled stars) built with filter = "linear", served as sprites-linear."""
    build = tmp_path_factory.mktemp("linear") / "sprites"
    shutil.copytree(served_build(server, published("sprites")), build)
    (build / CONFIG_NAME).write_text(replace(GameConfig.load(build), filter="linear").to_toml())
    return server.add_game(build, "sprites-linear")


@pytest.mark.parametrize("backend", ["webgl2", "webgpu"])
def test_linear_filter_frame_matches_native(backend: str, linear_sprites: str, published: Callable[[str], str],
                                            server: StaticServer, play_page: Callable[..., PlayPage],
                                            webgpu_browser: Any, engine: Engine,
                                            native_renderers: dict[tuple[int, int, str], WgpuRenderer],
                                            tmp_path: Any) -> None:
    """A game that asks for linear filtering gets it in the browser exactly as natively: its frame
    matches the native linear frame and differs from the native nearest one."""
    page = play_page() if backend == "webgl2" else webgpu_page(play_page, webgpu_browser, server)
    browser = check_parity("sprites", backend, page, server, linear_sprites, engine, native_renderers, tmp_path)
    nearest_build = served_build(server, published("sprites"))
    config = Bundle.open(nearest_build).config
    _, nearest = native_frame(nearest_build, engine, FIDELITY_TICKS, recording_file(server, "sprites")[1],
                              native_renderer(native_renderers, config))
    assert nearest is not None
    apart = differing(browser, nearest)
    print(f"sprites: {backend} linear vs native nearest: {apart:.3%} of pixels differ")
    assert apart > 2 * MAX_DIFFERING, "the linear frame looks like the nearest one: the filter was not applied"


def test_auto_picks_webgpu_when_an_adapter_exists(published: Callable[[str], str], server: StaticServer,
                                                  play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    page = play_page(webgpu_browser).open(published("pong"), ticks=5, fast=True)
    page.wait_stopped()
    has_adapter = page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    assert page.renderer()["name"] == ("webgpu" if has_adapter else "webgl2")
