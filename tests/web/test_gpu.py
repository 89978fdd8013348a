"""The GPU API in Chromium: games/cubes replayed on WebGPU (SwiftShader) reaches the native state
hash and draws the native scene within 1 % of pixels (the brick texture is mipmapped: sampled
without mips, far cubes aliased single texels, and 2.6 % of pixels depended on each rasteriser's
UV rounding); a compute pass fills a storage buffer with the words it does natively, pixel for
pixel; with only WebGL2 it fails with a clear message on the page and in its telemetry,
while 2D games keep running there."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from layerw import abi
from layerw.bundle import Bundle
from layerw.gfx.gpuwriter import GpuWriter
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from tests.conftest import GAMES
from tests.gfx.gpucases import blocks
from tests.gfx.gpuscenes import COLLECTIVE_WGSL, H, W, compute_then_show, draw_triangle, filled_cells, triangle
from tests.gfx.test_gpureplay import NESTED_COUNTS, nested_loops, rejected_by_the_gpu_alone
from tests.gfx.test_gpurun import tinted_quads
from tests.gfx.test_wgsl import LOOPS
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import native_frame
from tests.web.test_renderer import MAX_DIFFERING, PIXEL_TOLERANCE, differing, native_renderer

CUBES_TICKS = 45  # SwiftShader draws the 4096 cubes slowly; every tick is a frame
# The camera moves in (ArrowUp) so that near cubes fill the frame: 4096 cubes seen from afar are
# mostly edge pixels, where rasterisers may differ
ZOOM_IN = [{"tick": 1, "down": ["ArrowUp"]}, {"tick": 41, "up": ["ArrowUp"]}]


@pytest.fixture(scope="module")
def native_renderers() -> Iterator[dict[tuple[int, int, str], WgpuRenderer]]:
    made: dict[tuple[int, int, str], WgpuRenderer] = {}
    yield made
    for r in made.values():
        r.close()


@dataclass
class CubesFrames:
    """games/cubes after CUBES_TICKS in Chromium WebGPU and natively: frames and state hashes."""

    browser: np.ndarray
    native: np.ndarray
    browser_hash: str
    native_hash: str
    adapter: str


@pytest.fixture(scope="module")
def cubes_frames(published: Callable[[str], str], server: StaticServer, webgpu_browser: Any, engine: Engine,
                 native_renderers: dict[tuple[int, int, str], WgpuRenderer]) -> Iterator[CubesFrames]:
    ctx = webgpu_browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = PlayPage(ctx.new_page(), server)
        page.page.goto(f"{server.url}/web/play.html")  # a secure context on the test server
        if not page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())"):
            pytest.skip("Chromium gives no WebGPU adapter here, so the WebGPU renderer cannot run")
        src = published("cubes")
        build = served_build(server, src)
        config = Bundle.open(build).config
        url = server.add_file("cubes.jsonl", "".join(json.dumps(line) + "\n" for line in ZOOM_IN))
        page.open(src, ticks=CUBES_TICKS, fast=True, renderer="webgpu", inputs=url)
        page.wait_stopped()
        assert page.renderer()["name"] == "webgpu"
        browser = page.pixels(config.width, config.height)
        native_hash, native = native_frame(build, engine, CUBES_TICKS, server.files / "cubes.jsonl",
                                           native_renderer(native_renderers, config))
        assert native is not None
        yield CubesFrames(browser, native, page.state_hash(), native_hash, page.renderer()["glRenderer"])
    finally:
        ctx.close()


def test_cubes_on_webgpu_draw_the_native_scene_from_the_same_state(cubes_frames: CubesFrames) -> None:
    assert cubes_frames.browser_hash == cubes_frames.native_hash
    assert cubes_frames.browser[..., :3].std() > 10  # a scene, not a blank frame


def test_cubes_on_webgpu_match_native_within_one_percent(cubes_frames: CubesFrames, tmp_path: Path) -> None:
    fraction = differing(cubes_frames.browser, cubes_frames.native)
    print(f"cubes: webgpu ({cubes_frames.adapter}) vs native wgpu: {fraction:.3%} of pixels differ by more than "
          f"{PIXEL_TOLERANCE}")
    if fraction > MAX_DIFFERING:
        Image.fromarray(cubes_frames.browser, "RGBA").save(tmp_path / "cubes-webgpu.png")
        Image.fromarray(cubes_frames.native, "RGBA").save(tmp_path / "cubes-native.png")
    assert fraction <= MAX_DIFFERING, f"{fraction:.2%} of pixels differ; frames in {tmp_path}"


def stopped_webgpu_page(ctx: Any, server: StaticServer, published: Callable[[str], str]) -> PlayPage:
    """A page in ``ctx`` that ran cubes for one tick on its WebGPU renderer and stopped, so a test can
    draw its own lists through that renderer; skips where Chromium gives no WebGPU adapter."""
    page = PlayPage(ctx.new_page(), server)
    page.page.goto(f"{server.url}/web/play.html")  # a secure context on the test server
    if not page.page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())"):
        pytest.skip("Chromium gives no WebGPU adapter here, so the WebGPU renderer cannot run")
    page.open(published("cubes"), ticks=1, fast=True, renderer="webgpu", worker=0)
    page.wait_stopped()
    return page


def webgpu_pixels(published: Callable[[str], str], server: StaticServer, webgpu_browser: Any,
                  lists: list[bytes]) -> list[np.ndarray]:
    """Each command list of ``lists`` drawn in turn by a stopped page's WebGPU renderer (320x240):
    its pixels after each."""
    ctx = webgpu_browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = stopped_webgpu_page(ctx, server, published)
        out = []
        draw = "(b64) => window.layerw.client().renderer.draw(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))"
        for data in lists:
            page.page.evaluate(draw, base64.b64encode(data).decode())
            out.append(page.pixels(320, 240))
        return out
    finally:
        ctx.close()


def test_a_compute_pass_fills_the_same_words_in_chromium_as_natively(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """A compute pass writes hashed words into a storage buffer and a render pass shows one per pixel
    (tests/gfx/gpuscenes.py): integers end to end, so Chromium's pixels equal native wgpu's exactly."""
    w = GpuWriter()
    w.gpu_reset()
    compute_then_show(w)
    browser = webgpu_pixels(published, server, webgpu_browser, [w.getvalue()])[0][:H, :W]
    native = WgpuRenderer(320, 240)
    with native:
        native.draw(w.getvalue())
        assert np.array_equal(native.read_pixels()[:H, :W], filled_cells())
    assert np.array_equal(browser, filled_cells())



def test_nested_loops_end_within_the_invocations_count_in_chromium(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """tests/gfx/test_gpureplay.py's nested loops, bounded by wgslloops.js: the same counts as natively."""
    frames = webgpu_pixels(published, server, webgpu_browser, [nested_loops(n, m).getvalue() for n, m, _ in NESTED_COUNTS])
    for px, (_, _, count) in zip(frames, NESTED_COUNTS, strict=True):
        assert tuple(px[0, 0]) == tuple(np.uint32(count | 0xFF000000).tobytes())
        assert tuple(px[H - 1, W - 1]) == tuple(px[0, 0])


def test_bounded_loops_stay_uniform_for_chromiums_compiler(server: StaticServer, webgpu_browser: Any) -> None:
    """Tint checks uniformity as the WGSL spec says: a sample or a derivative in a loop nest still
    compiles once wgslloops.js has bounded the loops."""
    page = webgpu_browser.new_page()
    try:
        page.goto(f"{server.url}/web/play.html")
        messages = page.evaluate("""async (sources) => {
          const adapter = navigator.gpu && await navigator.gpu.requestAdapter();
          if (!adapter) return null;
          const device = await adapter.requestDevice();
          const { boundLoops } = await import("/web/wgslloops.js");
          const out = [];
          for (const code of sources) {
            const info = await device.createShaderModule({ code: boundLoops(code) }).getCompilationInfo();
            out.push(info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}: ${m.message}`));
          }
          device.destroy();
          return out;
        }""", [LOOPS, COLLECTIVE_WGSL])
    finally:
        page.close()
    if messages is None:
        pytest.skip("Chromium gives no WebGPU adapter here")
    assert messages == [[], []]


# The start of a page function that draws through a stopped page's renderer: attempt(b64) draws a list
# and answers "drawn" or the error it threw; verdict() waits (10 s at most) for the renderer's error
# scope to report what WebGPU rejected, which comes back after the frames that were drawn.
DRAW_ATTEMPTS = """
          const r = window.layerw.client().renderer;
          const attempt = (b64) => {
            try {
              r.draw(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
              return "drawn";
            } catch (e) {
              return `${e.name}: ${e.message}`;
            }
          };
          const verdict = async () => {
            for (const end = performance.now() + 10000; r.gpu.failed === null && performance.now() < end;) {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          };"""


def test_what_only_webgpu_rejects_drops_the_games_resources_in_chromium(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """tests/gfx/test_gpureplay.py's pipelines that only the GPU rejects: the frame's one error scope
    (its GPU passes, the renderer's own commands and the submit) reports them once the frame is
    submitted, the next frame throws, and the one after finds the game's resources dropped."""
    again = GpuWriter()
    draw_triangle(again)
    lists = [base64.b64encode(x.getvalue()).decode() for x in (triangle(), rejected_by_the_gpu_alone(), again)]
    ctx = webgpu_browser.new_context()
    try:
        page = stopped_webgpu_page(ctx, server, published)
        results = page.page.evaluate("async ([good, bad, again]) => {" + DRAW_ATTEMPTS + """
          const out = [attempt(good), attempt(bad)];
          await verdict();
          out.push(attempt(again), attempt(again), attempt(good));
          return out;
        }""", lists)
    finally:
        ctx.close()
    assert results[:2] == ["drawn", "drawn"] and results[4] == "drawn"
    assert "GpuStreamError" in results[2] and "the GPU rejected the frame's GPU commands" in results[2]
    assert "GpuStreamError" in results[3] and "no pipeline 1" in results[3]

UNIFORM_WGSL = """
@group(0) @binding(0) var<uniform> tint: vec4f;
@vertex fn vs(@location(0) p: vec2f) -> @builtin(position) vec4f { return vec4f(p, 0.5, 1.0); }
@fragment fn fs() -> @location(0) vec4f { return tint; }
"""


def unset_group() -> tuple[GpuWriter, GpuWriter]:
    """A pipeline of an auto layout whose shader reads a uniform at group 0, and a frame of passes alone
    drawing with it that sets no group: the checker lets it through (an auto layout's groups are
    checked where they are set), WebGPU rejects the draw."""
    declare = GpuWriter()
    declare.gpu_reset()
    declare.shader(1, UNIFORM_WGSL)
    declare.buffer(1, 24, abi.GPU_BUFFER_USAGE["VERTEX"])
    declare.pipeline(1, 1, "vs", "fs", buffers=[(8, "vertex", [(0, 0, "float32x2")])])
    frame = GpuWriter()
    frame.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))])
    frame.set_pipeline(1)
    frame.set_vertex_buffer(0, 1)
    frame.draw(3)
    frame.end_pass()
    return declare, frame


def test_what_webgpu_rejects_in_frames_of_passes_alone_reaches_the_game(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """Frames of passes alone share one error scope of up to SCOPE_FRAMES frames (gpureplay.js): a draw
    WebGPU rejects in them is thrown by a frame once that scope closes, and the game's resources are
    dropped, as for a frame that declares them."""
    lists = [base64.b64encode(x.getvalue()).decode() for x in unset_group()]
    ctx = webgpu_browser.new_context()
    try:
        page = stopped_webgpu_page(ctx, server, published)
        frames, results = page.page.evaluate("async ([declare, bad]) => {" + DRAW_ATTEMPTS + """
          const { SCOPE_FRAMES } = await import("/web/gpureplay.js");
          const out = [attempt(declare)];
          for (let i = 0; i < SCOPE_FRAMES; i++) out.push(attempt(bad));
          await verdict();
          out.push(attempt(bad), attempt(bad));
          return [SCOPE_FRAMES, out];
        }""", lists)
    finally:
        ctx.close()
    assert results[:frames + 1] == ["drawn"] * (frames + 1)
    assert "GpuStreamError" in results[-2] and "the GPU rejected the frame's GPU commands" in results[-2]
    assert "GpuStreamError" in results[-1] and "no pipeline 1" in results[-1]


def test_a_run_of_blocks_draws_in_chromium_the_pixels_of_its_single_commands(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """Quads in two tints drawn by repeated blocks (tests/gfx/test_gpurun.py's frame): replayed as a
    GpuRun, and broken into single commands (a SET_PIPELINE every third block), on WebGPU, the same pixels."""
    frames = [tinted_quads(broken, (320, 240)) for broken in (False, True)]
    as_run, as_single = webgpu_pixels(published, server, webgpu_browser, frames)
    assert np.array_equal(as_run, as_single)
    reds = {int(v) for v in as_run[as_run.shape[0] // 2, :, 0]}
    assert {255, 127} <= reds or {255, 128} <= reds  # both tints show (full red, half red)


def test_a_run_drawn_again_from_a_render_bundle_draws_the_same_pixels_in_chromium(
        published: Callable[[str], str], server: StaticServer, webgpu_browser: Any) -> None:
    """Quads in two tints drawn by a run in four frames, a uniform one (each repeat draws the three
    instances) and one whose repeats draw other instances: the last three frames replay the run from a
    render bundle (recorded in the second: gpubundle.js), which WebGPU takes, with the pixels of its
    single commands (the run broken by a SET_PIPELINE every third)."""
    def tints(broken: bool, uniform: bool) -> bytes:
        def block(w: GpuWriter, i: int) -> None:
            w.set_bind_group(0, 1 + i % 2)
            w.draw(*((4, 3) if uniform else (4, 1, 0, i % 3)))
            if broken and i % 3 == 2:
                w.set_pipeline(2)
        w = GpuWriter()
        blocks(block, 30)(w)
        return w.getvalue()

    declared = tinted_quads(False, (320, 240))  # the textured quads' resources, and their tints' bind groups 1 and 2
    ctx = webgpu_browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = stopped_webgpu_page(ctx, server, published)
        draw = """(b64) => {
          const r = window.layerw.client().renderer;
          r.draw(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
          return r.gpu.bundleHits;
        }"""
        page.page.evaluate(draw, base64.b64encode(declared).decode())
        found: dict[bool, tuple[list[np.ndarray], list[int]]] = {}
        for uniform in (True, False):
            pixels, hits = [], []
            for data in (tints(True, uniform), *[tints(False, uniform)] * 4):
                hits.append(page.page.evaluate(draw, base64.b64encode(data).decode()))
                pixels.append(page.pixels(320, 240))
            found[uniform] = pixels, hits
        errors = page.page.evaluate("async () => { await new Promise((r) => setTimeout(r, 100)); "
                                    "const g = window.layerw.client().renderer.gpu; return String(g.failed); }")
    finally:
        ctx.close()
    assert errors == "null"
    assert found[True][1] == [0, 0, 1, 2, 3] and found[False][1] == [3, 3, 4, 5, 6]
    for pixels, _ in found.values():
        for frame in pixels[1:]:
            assert np.array_equal(frame, pixels[0])
        assert len({tuple(p) for p in pixels[0].reshape(-1, pixels[0].shape[-1])}) > 1  # the quads show
    assert not np.array_equal(found[True][0][0], found[False][0][0])  # the two runs draw differently


def test_without_webgpu_a_gpu_game_says_so_and_2d_games_run(store_server: Any, built: Callable[[Path], Path],
                                                            play_page: Callable[..., PlayPage]) -> None:
    store_server.publish(built(GAMES / "cubes"))
    registry = store_server.recorder.app.state.metrics.registry

    def errors() -> float:
        return registry.get_sample_value("layerw_client_reports_total", {"kind": "error", "outcome": "accepted"}) or 0.0

    before = errors()
    cubes = play_page().goto(store_server.play_url("cubes", ticks=10, fast=True, renderer="webgl2"))
    cubes.wait("window.layerw.status === 'failed'")
    message = cubes.page.evaluate("document.getElementById('error').textContent")
    assert "needs WebGPU" in message and not cubes.page.evaluate("document.getElementById('error').hidden")
    assert "needs WebGPU" in cubes.page.evaluate("window.layerw.error")
    deadline = time.monotonic() + 10
    while errors() < before + 1:
        assert time.monotonic() < deadline, "the failure never reached the telemetry"
        time.sleep(0.05)

    pong = play_page().goto(store_server.play_url("pong", ticks=30, fast=True, renderer="webgl2"))
    pong.wait_stopped()
    assert pong.renderer()["name"] == "webgl2" and pong.tick == 30
