"""WgpuRenderer: golden frames for every op, plus pixel checks that need no golden file.

Golden PNGs live in tests/golden/; ``pytest --update-golden`` rewrites them from the current
renderer (look at them before committing). Comparison allows small rasteriser differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw import abi
from layerw.errors import RenderError
from layerw.gfx.renderer import WgpuRenderer
from layerw.gfx.writer import CommandWriter, rgba
from tests.golden import compare

W, H = 160, 120
BG = rgba(24, 24, 48)
RED, GREEN, BLUE, WHITE = rgba(255, 0, 0), rgba(0, 255, 0), rgba(0, 0, 255), rgba(255, 255, 255)


def checker() -> np.ndarray:
    """16x16 texture: red, blue / white, green quadrants, a transparent hole in the middle."""
    t = np.zeros((16, 16, 4), np.uint8)
    t[:8, :8] = (255, 0, 0, 255)
    t[:8, 8:] = (0, 0, 255, 255)
    t[8:, :8] = (255, 255, 255, 255)
    t[8:, 8:] = (0, 255, 0, 255)
    t[6:10, 6:10, 3] = 0
    return t


@pytest.fixture(scope="module")
def renderer() -> Iterator[WgpuRenderer]:
    try:
        r = WgpuRenderer(W, H)
    except RenderError as e:
        pytest.skip(str(e))
    with r:
        r.set_texture(1, checker())
        yield r


def render(renderer: WgpuRenderer, scene: Callable[[CommandWriter], None]) -> np.ndarray:
    w = CommandWriter()
    w.clear(BG)
    scene(w)
    renderer.draw(memoryview(bytes(w)))
    return renderer.read_pixels()


def shapes(w: CommandWriter) -> None:
    w.rect(8, 8, 40, 24, color=RED)
    w.rect(60, 8, 40, 24, thickness=3, color=rgba(255, 255, 0))
    w.circle(130, 20, 14, color=rgba(0, 128, 255))
    w.circle(30, 70, 20, thickness=4, color=rgba(255, 0, 255))
    w.line(60, 50, 150, 110, 3, WHITE)
    w.line(60, 110, 150, 50, 1, GREEN)
    w.rect(20, 95, 50, 20, color=rgba(255, 255, 255, 128))  # blends over the ring


def rotation(w: CommandWriter) -> None:
    for i in range(6):
        w.rect(10 + i * 25, 20, 18, 10, rotation=i * math.pi / 12, color=rgba(255, 40 * i, 0))
    w.rect(40, 70, 40, 30, rotation=0.4, thickness=2, color=WHITE)
    w.sprite(1, 100, 60, 40, 40, 0, 0, 16, 16, rotation=-0.6)


def text(w: CommandWriter) -> None:
    w.text(4, 4, 12, WHITE, "Layer-W 0123")
    w.text(4, 20, 24, rgba(255, 200, 0), "Big!")
    w.text(4, 50, 8, GREEN, "tiny text, 8px\nsecond line")
    w.text(4, 80, 12, rgba(255, 255, 255, 128), "~!@#$%^&*()_+{}|:")


def texture(w: CommandWriter) -> None:
    w.sprite(1, 8, 8, 32, 32, 0, 0, 16, 16)
    w.sprite(1, 48, 8, 32, 32, 0, 0, 16, 16, flags=abi.SPRITE_FLAGS["FLIP_X"])
    w.sprite(1, 88, 8, 32, 32, 0, 0, 16, 16, flags=abi.SPRITE_FLAGS["FLIP_Y"])
    w.sprite(1, 128, 8, 24, 24, 8, 8, 8, 8, tint=rgba(255, 255, 0))  # green quadrant, tinted
    w.sprite(1, 8, 56, 64, 48, 0, 0, 16, 16, tint=rgba(255, 255, 255, 128))
    verts = np.zeros(6, abi.VERTEX.dtype)
    verts["x"] = [90, 150, 90, 150, 150, 90]
    verts["y"] = [56, 56, 110, 56, 110, 110]
    verts["u"] = [0, 1, 0, 1, 1, 0]
    verts["v"] = [0, 0, 1, 0, 1, 1]
    verts["color"] = [WHITE, WHITE, WHITE, RED, GREEN, BLUE]
    w.triangles(1, verts)


def transform(w: CommandWriter) -> None:
    w.rect(0, 0, 20, 20, color=RED)  # identity
    w.transform(2, 0, 0, 2, 40, 0)  # zoom 2 from x = 40
    w.rect(0, 0, 20, 20, color=GREEN)
    w.circle(10, 30, 8, thickness=2, color=WHITE)
    c, s = math.cos(0.5), math.sin(0.5)
    w.transform(c, s, -s, c, 120, 60)  # rotated camera
    w.rect(-15, -15, 30, 30, color=BLUE)
    w.text(-15, -6, 12, WHITE, "cam")
    w.transform()
    w.vertex(0, 0, 119, 0, 0, RED)
    w.vertex(0, 40, 119, 0, 0, GREEN)
    w.vertex(0, 20, 80, 0, 0, BLUE)


def viewport(w: CommandWriter) -> None:
    w.viewport(20, 20, 60, 40)
    w.rect(0, 0, W, H, color=rgba(60, 60, 60))
    w.circle(50, 40, 35, color=RED)
    w.viewport(100, 10, 50, 100)
    w.text(80, 50, 24, WHITE, "CLIPPED")
    w.viewport(0, 0, 0, 0)
    w.line(0, 115, 160, 115, 2, GREEN)


SCENES = {f.__name__: f for f in (shapes, rotation, text, texture, transform, viewport)}


@pytest.mark.parametrize("name", SCENES)
def test_golden_frame(renderer: WgpuRenderer, name: str, request: pytest.FixtureRequest) -> None:
    compare(render(renderer, SCENES[name]), f"gfx_{name}", request)


def px(img: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in img[y, x])


def test_rects_land_on_whole_pixels(renderer: WgpuRenderer) -> None:
    img = render(renderer, lambda w: w.rect(10, 20, 30, 5, color=RED))
    assert px(img, 10, 20) == px(img, 39, 24) == (255, 0, 0, 255)
    assert px(img, 9, 20) == px(img, 40, 20) == px(img, 10, 19) == px(img, 10, 25) == (24, 24, 48, 255)
    assert (img[..., 0] == 255).sum() == 30 * 5


def test_frame_without_clear_starts_black_and_clear_colour_is_rgba(renderer: WgpuRenderer) -> None:
    renderer.draw(b"")
    assert px(renderer.read_pixels(), 0, 0) == (0, 0, 0, 255)
    img = render(renderer, lambda w: w.clear(rgba(10, 20, 30, 40)))
    assert px(img, 5, 5) == (10, 20, 30, 40)


def test_viewport_clips_and_transform_moves(renderer: WgpuRenderer) -> None:
    def scene(w: CommandWriter) -> None:
        w.viewport(10, 10, 20, 20)
        w.transform(1, 0, 0, 1, 5, 0)
        w.rect(0, 0, W, H, color=GREEN)

    img = render(renderer, scene)
    green = np.argwhere(img[..., 1] == 255)
    assert green.min(axis=0).tolist() == [10, 10] and green.max(axis=0).tolist() == [29, 29]


def test_alpha_blends_over_what_is_below(renderer: WgpuRenderer) -> None:
    def scene(w: CommandWriter) -> None:
        w.rect(0, 0, 10, 10, color=RED)
        w.rect(0, 0, 10, 10, color=rgba(0, 0, 255, 128))

    r, g, b, _ = px(render(renderer, scene), 5, 5)
    assert abs(r - 127) <= 2 and g == 0 and abs(b - 128) <= 2


def test_unset_texture_draws_nothing_and_handle_zero_is_white(renderer: WgpuRenderer) -> None:
    def scene(w: CommandWriter) -> None:
        w.sprite(99, 0, 0, 10, 10, 0, 0, 1, 1)
        w.sprite(0, 20, 0, 10, 10, 0, 0, 1, 1, tint=GREEN)

    img = render(renderer, scene)
    assert px(img, 5, 5) == (24, 24, 48, 255) and px(img, 25, 5) == (0, 255, 0, 255)


def test_texture_handles_are_games_own(renderer: WgpuRenderer) -> None:
    with pytest.raises(RenderError):
        renderer.set_texture(0, checker())
    with pytest.raises(RenderError):
        renderer.set_texture(2, np.zeros((4, 4, 3), np.uint8))


def test_many_sprites_and_a_growing_buffer(renderer: WgpuRenderer) -> None:
    sprites = np.zeros(10_000, abi.SPRITE.dtype)
    sprites["x"] = np.arange(10_000) % W
    sprites["y"] = np.arange(10_000) // W
    sprites["w"] = sprites["h"] = 1
    sprites["sw"] = sprites["sh"] = 1
    sprites["tint"] = WHITE
    w = CommandWriter()
    w.sprites(0, sprites)
    renderer.draw(bytes(w))
    img = renderer.read_pixels()
    assert (img[: 10_000 // W, :, :3] == 255).all() and (img[10_000 // W + 1:, :, :3] == 0).all()


def test_save_png(renderer: WgpuRenderer, tmp_path: Path) -> None:
    renderer.draw(b"")
    renderer.save_png(tmp_path / "frame.png")
    with Image.open(tmp_path / "frame.png") as im:
        assert im.size == (W, H)


def test_closed_renderer_refuses_to_draw() -> None:
    try:
        r = WgpuRenderer(8, 8)
    except RenderError as e:
        pytest.skip(str(e))
    with r:
        r.draw(b"")
    r.close()  # closing twice is fine
    with pytest.raises(RenderError, match="closed"):
        r.draw(b"")


def upscaled_checker_and_text(w: CommandWriter) -> None:
    w.sprite(1, 0, 0, 128, 64, 0, 0, 16, 8)  # the checker's top half, 8x
    w.text(0, 80, 16, WHITE, "Hi")


@pytest.mark.parametrize("filter", ["nearest", "linear"])
def test_filter_chooses_how_textures_are_sampled_but_text_stays_crisp(filter: str) -> None:
    try:
        r = WgpuRenderer(W, H, filter=filter)
    except RenderError as e:
        pytest.skip(str(e))
    with r:
        r.set_texture(1, checker())
        img = render(r, upscaled_checker_and_text)
    colours = {tuple(c) for c in img[:64, :128].reshape(-1, 4)}
    seam = [tuple(img[20, x]) for x in range(56, 72)]  # across the red | blue edge at x = 64
    if filter == "nearest":
        assert colours <= {(255, 0, 0, 255), (0, 0, 255, 255), (24, 24, 48, 255)}  # texels and the hole
        assert seam == [(255, 0, 0, 255)] * 8 + [(0, 0, 255, 255)] * 8
    else:
        assert len(colours) > 10  # blends between texels
        reds = [p[0] for p in seam]
        assert reds == sorted(reds, reverse=True) and 0 < reds[7] < 255  # a ramp, not a step
    text = {tuple(c) for c in img[80:96, :40].reshape(-1, 4)}
    assert text == {(24, 24, 48, 255), (255, 255, 255, 255)}  # the bitmap font: never smoothed


def test_an_unknown_filter_is_refused() -> None:
    with pytest.raises(RenderError, match="filter 'bicubic'"):
        WgpuRenderer(8, 8, filter="bicubic")
