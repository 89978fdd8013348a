"""Web frames: one command list drawn by WebGL2 and WebGPU in Chromium (SwiftShader) and by the
native WgpuRenderer, at 1k and 10k sprites, beside raw WebGL2 and WebGPU baselines drawing the same
sprites on the same pages in the same rounds (web_baseline.js: one pipeline, one instanced draw of the
frame's sprite records, as bench/baseline.py is for wgpu), so the page's own cost is a ratio.

The command lists are the sprites game's own frame one second in (rendered natively, then handed
byte for byte to the pages along with the game's textures), so all three renderers draw exactly
the same thing at the game's 640x360. A frame is timed from draw() until the GPU reports the work
done: WebGPU's queue.onSubmittedWorkDone(), a one-pixel readPixels for WebGL2 (which waits for the
draw), the device's queue for wgpu. Rounds interleave every renderer and size. Then each size is
drawn once more, read back and compared with the native frame (a channel off by more than 8 of
255, as tests/web/test_renderer.py counts), as a check that all drew the same scene.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from bench.render import adapter_name, frame_waiter, pixels_differing, texture_image
from bench.report import table
from bench.timing import clock, median, ms
from bench.workload import open_game, with_count
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState

COUNTS = (1_000, 10_000)
TICKS = 59  # one second in: sprites spread out, animation frames mixed (as bench/render.py)
WARMUP = 3
SETUP = """async ({lists, textures}) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const r = window.layerw.client().renderer;
  for (const { handle, width, height, rgba } of textures) {
    const pixels = new ImageData(new Uint8ClampedArray(bytes(rgba).buffer), width, height);
    r.setTexture(handle, await createImageBitmap(pixels, { premultiplyAlpha: "none", colorSpaceConversion: "none" }));
  }
  window.benchLists = lists.map(bytes);
  return { name: r.name, glRenderer: r.glRenderer };
}"""
FRAME = """async (i) => {
  const r = window.layerw.client().renderer;
  const t0 = performance.now();
  r.draw(window.benchLists[i]);
  const t1 = performance.now();
  if (r.device) {
    await r.device.queue.onSubmittedWorkDone();
  } else {
    const gl = r.gl;
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, r.fbo);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
  }
  return [(t1 - t0) / 1000, (performance.now() - t0) / 1000];
}"""


def command_lists(sprites_build: Path, out_dir: Path, engine: Engine) -> tuple[list[bytes], dict[int, np.ndarray]]:
    """The sprites game's frame at each of COUNTS, and the textures those frames use."""
    lists: list[bytes] = []
    textures: dict[int, np.ndarray] = {}
    for count in COUNTS:
        game = open_game(with_count(sprites_build, out_dir, count), engine)
        try:
            inputs = InputState()
            for _ in range(TICKS):
                game.tick(inputs)
            lists.append(bytes(game.render()))
            textures |= {h: texture_image(game, h) for h in game.assets.newly_ready}
        finally:
            game.close()
    return lists, textures


class PageRenderer:
    """The renderer of a stopped /play/sprites page, given the command lists and textures."""

    def __init__(self, page: Any, lists: list[bytes], textures: dict[int, np.ndarray]) -> None:
        self.page = page
        b64 = [base64.b64encode(x).decode() for x in lists]
        tex = [{"handle": h, "width": a.shape[1], "height": a.shape[0],
                "rgba": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()} for h, a in textures.items()]
        info = page.evaluate(SETUP, {"lists": b64, "textures": tex})
        self.name, self.description = str(info["name"]), str(info["glRenderer"])

    def frame(self, i: int) -> tuple[float, float]:
        submitted, done = self.page.evaluate(FRAME, i)
        return float(submitted), float(done)

    def read_pixels(self, width: int, height: int) -> np.ndarray:
        data = base64.b64decode(self.page.evaluate("window.layerw.readPixels()"))
        return np.frombuffer(data, np.uint8).reshape(height, width, 4)


RAW_OF = {"WebGL2 (Chromium)": "raw WebGL2 page (Chromium)", "WebGPU (Chromium)": "raw WebGPU page (Chromium)"}
BASELINE_JS = Path(__file__).with_name("web_baseline.js")
BASELINE_WGSL = Path(__file__).with_name("baseline.wgsl")


def sprite_batches(lists: list[bytes]) -> tuple[list[bytes], int, tuple[float, float, float, float]]:
    """Each list's largest batch's instances (the sprite records the raw baselines draw), its texture
    handle (the same in every list) and the frame's clear colour as RGBA floats."""
    from layerw.gfx.commands import parse

    records: list[bytes] = []
    handles = set()
    clear = 0xFF000000
    for commands in lists:
        frame = parse(commands)
        batch = max(frame.batches, key=lambda b: b.count)
        records.append(np.ascontiguousarray(frame.instances[batch.first:batch.first + batch.count]).tobytes())
        handles.add(batch.texture)
        clear = frame.clear if frame.clear is not None else clear
    assert len(handles) == 1, f"the frames' sprites use textures {handles}"
    rgba = tuple(((clear >> s) & 255) / 255 for s in (0, 8, 16, 24))
    return records, handles.pop(), (rgba[0], rgba[1], rgba[2], rgba[3])


class RawPageRenderer:
    """A raw WebGL2 or WebGPU baseline (web_baseline.js) on a page's own canvas: the same sprites, nothing else."""

    def __init__(self, page: Any, kind: str, lists: list[bytes], textures: dict[int, np.ndarray],
                 width: int, height: int) -> None:
        self.page, self.kind = page, kind
        records, handle, clear = sprite_batches(lists)
        image = textures[handle]
        page.evaluate(BASELINE_JS.read_text(), {
            "kind": kind, "wgsl": BASELINE_WGSL.read_text(), "lists": [base64.b64encode(r).decode() for r in records],
            "texture": {"width": image.shape[1], "height": image.shape[0],
                        "rgba": base64.b64encode(np.ascontiguousarray(image).tobytes()).decode()},
            "clear": list(clear), "width": width, "height": height})
        self.name, self.description = f"raw {kind}", f"hand-written {kind} page, one instanced draw"
        self.last = 0

    def frame(self, i: int) -> tuple[float, float]:
        self.last = i
        submitted, done = self.page.evaluate(f"(i) => window.rawBaselines.{self.kind}.frame(i)", i)
        return float(submitted), float(done)

    def read_pixels(self, width: int, height: int) -> np.ndarray:
        data = base64.b64decode(self.page.evaluate(f"(i) => window.rawBaselines.{self.kind}.readPixels(i)", self.last))
        return np.frombuffer(data, np.uint8).reshape(height, width, 4)


class NativeRenderer:
    """WgpuRenderer at the game's size, waited for on its device."""

    def __init__(self, lists: list[bytes], textures: dict[int, np.ndarray], width: int, height: int) -> None:
        from layerw.gfx.renderer import WgpuRenderer

        self.lists = lists
        self.renderer = WgpuRenderer(width, height)
        for handle, rgba in textures.items():
            self.renderer.set_texture(handle, rgba)
        self.wait = frame_waiter(self.renderer)
        self.name, self.description = "wgpu", adapter_name(self.renderer)

    def frame(self, i: int) -> tuple[float, float]:
        t0 = clock()
        self.renderer.draw(self.lists[i])
        t1 = clock()
        self.wait()
        return t1 - t0, clock() - t0

    def read_pixels(self, width: int, height: int) -> np.ndarray:
        return self.renderer.read_pixels()

    def close(self) -> None:
        self.renderer.close()


def measure(renderers: dict[str, Any], frames: int, width: int, height: int) -> dict[str, Any]:
    """``frames`` interleaved rounds of every renderer at every size (after WARMUP rounds)."""
    samples: dict[str, dict[int, list[tuple[float, float]]]] = {k: {c: [] for c in COUNTS} for k in renderers}
    for n in range(WARMUP + frames):
        for i, count in enumerate(COUNTS):
            for key, r in renderers.items():
                sample = r.frame(i)
                if n >= WARMUP:
                    samples[key][count].append(sample)
    differing: dict[str, dict[int, float]] = {key: {} for key in renderers}
    for i, count in enumerate(COUNTS):  # the check: each size once more, read back
        for r in renderers.values():
            r.frame(i)
        native = renderers["native wgpu"].read_pixels(width, height)
        for key, r in renderers.items():
            differing[key][count] = pixels_differing(r.read_pixels(width, height), native)
    results = {key: {"description": r.description,
                     "submit_ms": {c: median([s[0] for s in samples[key][c]]) * 1e3 for c in COUNTS},
                     "done_ms": {c: median([s[1] for s in samples[key][c]]) * 1e3 for c in COUNTS},
                     "differing_vs_native": differing[key], "frames": frames}
               for key, r in renderers.items()}
    for key, raw in RAW_OF.items():  # the page's frame over the raw page's, drawing the same sprites
        if key in results and raw in results:
            results[key]["vs_raw"] = {c: results[key]["done_ms"][c] / results[raw]["done_ms"][c] for c in COUNTS}
    return results


def frame_table(results: dict[str, Any], width: int, height: int, frames: int) -> Table:
    t = table(f"Web 3. Frame time, the same command list at {width}x{height} (median of {frames} frames; "
              "ms from draw() until the GPU is done, draw() returning in brackets)",
              "renderer", *(f"{c // 1000}k sprites ms" for c in COUNTS), "× its raw page", "pixels differing from wgpu's",
              "adapter")
    for key, r in results.items():
        cells = [f"{ms(r['done_ms'][c] / 1e3)} ({ms(r['submit_ms'][c] / 1e3)})" for c in COUNTS]
        cells.append(" / ".join(f"{r['vs_raw'][c]:.2f}" for c in COUNTS) if "vs_raw" in r else "")
        diff = " / ".join(f"{r['differing_vs_native'][c]:.2%}" for c in COUNTS)
        t.add_row(key, *cells, diff, r["description"])
    return t
