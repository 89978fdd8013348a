"""GPU stream in Chromium (WebGPU on SwiftShader): the rows beside bench/gpu.py's native ones.

A stopped games/cubes page (its WebGPU renderer, 320x240) is handed command lists made natively:
bench/gpu.py's declarations and N-draw frames, and games/cubes' own first frame (it declares its
resources) and its frame 60 ticks in. Layer-W's side is the renderer's ``draw`` of a list (parse,
check, replay on WebGPU, the 2D pass where there is 2D, the copy to the canvas, all in one encoder and one
submit; the draws' repeated blocks taken, checked and replayed as one GpuRun, as natively; inside a validation
error scope that spans up to gpureplay.js SCOPE_FRAMES frames of passes alone, so of that many frames one pushes it
and one pops it, and the median frame does neither); the raw
side is the same pass with the same resources recorded straight on the page's GPUDevice in JavaScript.
Both sides do the same GPU work: one pass into an offscreen 320x240 target, then a copy of it to the
canvas's current texture (what the page presents), as the renderer does, so both pay for taking the
canvas's texture each frame. Host time is the JS host CPU per frame, from before the frame's first
command to after its submit returns (performance.now(), in 5 us steps as the page is cross-origin
isolated; each frame is its own task, after the page has presented the last one), not GPU completion; done is until
``queue.onSubmittedWorkDone()``; rounds interleave both sides.

Both sides first draw each list WARM_FRAMES times (in tasks of WARM_BATCH frames): a game draws 60
frames a second, so its host work per frame is what V8 runs once its tiers have compiled that code.
Measured from a page's first frames on (as this did before), Layer-W's parse, check and replay, which
run once or a few times per frame, were still being compiled (Maglev, then TurboFan) and deoptimised
for want of type feedback during the measured rounds (Chromium's --js-flags=--trace-opt,--trace-deopt
shows it); the raw side is one function with one loop, which V8 optimises on stack in its first frame.

Each round draws one frame of each side, in alternating order (Layer-W first in even rounds, raw first in
odd ones), so neither side always runs in the other's wake (its caches, the GPU process's work). One
size's rounds run after another's, as a game's frames follow one another: each Layer-W frame is the list
the last one was, so the browser's check takes the last frame's verdict (layerw/web/gpumemo.js), as
games/cubes' frames do, and its run of draws, the calls the last frame made, is executed from a render
bundle (layerw/web/gpubundle.js), where the raw program makes its calls one by one. The "changing" rounds
draw two lists of the first size's draws in turn (the same work from other bind groups), so every one of
their frames is checked whole and makes its calls one by one, beside the same raw frames. The
page is opened with sound=0: its speaker, which has nothing to play, would pump the mixer on the page's
thread between frames.

Each measured frame starts GAP_MS after the last was done on the GPU, as a game's frame starts 16 ms
after the last at 60 Hz: by then the GPU process has presented the last frame. Started at once (as this
did before), a frame ran beside that presentation on this 2-core machine, and both sides' frames spread
from 0.14 to 2.3 ms at 1,000 draws (a quarter of them over 0.5 ms); with the gap, half of them lie within
0.05 ms of the median. The page draws ROUND_FACTOR times the native section's rounds: a frame is ~0.2 ms
of host time read in 5 us steps on a machine whose other load preempts some frames, and more frames
narrow the median at a few seconds' cost. Beside the ratio of the medians, the median of the rounds' own
ratios (each Layer-W frame over the raw frame beside it) is reported: a shift in the machine's load moves
both frames of a round alike.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.timing import median
from bench.web import ARGS, CHROMIUM, WEBGPU_ARGS, _serve, _stopped_page
from layerw.store.local import LocalStore
from layerw.store.publish import publish

WARMUP = 3  # frames in tasks of their own, after the warm-up, before the measured rounds
WARM_FRAMES = 300  # frames of each list (and of raw's) drawn first, as a game would have by 5 s in
WARM_BATCH = 25  # frames per task while warming up (then the GPU is waited for)
ROUND_FACTOR = 3  # the page's rounds per round of the native section
GAP_MS = 20  # each measured frame starts this long after the last one was done, as a 60 Hz game's frames do
SETUP = """({lists, wgsl, triangle, offsets, groups, width, height}) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const r = window.layerw.client().renderer;
  const dev = r.device;
  window.benchLists = lists.map(bytes);
  const module = dev.createShaderModule({ code: wgsl });
  const vertices = dev.createBuffer({ size: triangle.length * 4, usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(vertices, 0, new Float32Array(triangle));
  const uniforms = dev.createBuffer({ size: offsets.length * 4, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(uniforms, 0, new Float32Array(offsets));
  const pipeline = dev.createRenderPipeline({
    layout: "auto", primitive: { topology: "triangle-list" },
    vertex: { module, entryPoint: "vs",
      buffers: [{ arrayStride: 8, attributes: [{ shaderLocation: 0, offset: 0, format: "float32x2" }] }] },
    fragment: { module, entryPoint: "fs", targets: [{ format: "rgba8unorm" }] } });
  const layout = pipeline.getBindGroupLayout(0);
  const bound = [];
  for (let g = 0; g < groups; g++) {
    const resource = { buffer: uniforms, offset: 256 * g, size: 16 };
    bound.push(dev.createBindGroup({ layout, entries: [{ binding: 0, resource }] }));
  }
  const usage = GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC;
  const target = dev.createTexture({ size: [width, height], format: "rgba8unorm", usage });
  const view = target.createView();
  window.benchRaw = (n) => {
    const encoder = dev.createCommandEncoder();
    const attachment = { view, loadOp: "clear", storeOp: "store", clearValue: [0, 0, 0, 1] };
    const rp = encoder.beginRenderPass({ colorAttachments: [attachment] });
    rp.setPipeline(pipeline);
    rp.setVertexBuffer(0, vertices);
    for (let i = 0; i < n; i++) {
      rp.setBindGroup(0, bound[i % groups]);
      rp.draw(3);
    }
    rp.end();
    encoder.copyTextureToTexture({ texture: target }, { texture: r.context.getCurrentTexture() }, [width, height]);
    dev.queue.submit([encoder.finish()]);
  };
  return r.name;
}"""
FRAME = """async ({list, raw, gap}) => {
  const r = window.layerw.client().renderer;
  await new Promise((done) => setTimeout(done, gap)); // the last frame's presentation is over, as at 60 Hz
  const t0 = performance.now();
  if (list >= 0) r.draw(window.benchLists[list]);
  else window.benchRaw(raw);
  const t1 = performance.now();
  await r.device.queue.onSubmittedWorkDone();
  return [(t1 - t0) / 1000, (performance.now() - t0) / 1000];
}"""

WARM = """async ({list, raw, n}) => {
  const r = window.layerw.client().renderer;
  for (let i = 0; i < n; i++) {
    if (list >= 0) r.draw(window.benchLists[list]);
    else window.benchRaw(raw);
  }
  await r.device.queue.onSubmittedWorkDone();
}"""


class CubesPage:
    """A stopped games/cubes page in Chromium with WebGPU, set up with the lists and the raw program."""

    def __init__(self, page: Any, lists: list[bytes], raw: dict[str, Any]) -> None:
        self.page = page
        name = page.evaluate(SETUP, {"lists": [base64.b64encode(x).decode() for x in lists], **raw})
        if name != "webgpu":
            raise RuntimeError(f"the page renders with {name}, not WebGPU")

    def draw(self, list_index: int) -> tuple[float, float]:
        """Layer-W's renderer draws list ``list_index``: (host s, done s)."""
        submitted, done = self.page.evaluate(FRAME, {"list": list_index, "raw": 0, "gap": GAP_MS})
        return float(submitted), float(done)

    def raw(self, draws: int) -> tuple[float, float]:
        submitted, done = self.page.evaluate(FRAME, {"list": -1, "raw": draws, "gap": GAP_MS})
        return float(submitted), float(done)

    def warm(self, list_index: int, draws: int = 0, frames: int = WARM_FRAMES) -> None:
        """Draw list ``list_index`` (or, when it is -1, raw's ``draws``) ``frames`` times, WARM_BATCH to a task."""
        for done in range(0, frames, WARM_BATCH):
            self.page.evaluate(WARM, {"list": list_index, "raw": draws, "n": min(WARM_BATCH, frames - done)})


def measure(cubes_build: Path, out_dir: Path, rounds: int, declarations: bytes, frames: dict[int, bytes],
            changing: tuple[bytes, bytes], cubes_lists: tuple[bytes, bytes], raw: dict[str, Any]) -> dict[str, Any]:
    """Median host and done ms per N of ``frames`` (Layer-W and raw), of ``changing`` (two lists of the
    first N's draws, drawn in turn: no frame is like the last) and of cubes' frame; per N (and for
    ``changing``), the median of the rounds' host ratios (Layer-W / raw) as ``ratio N``."""
    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="bench-gpu-web-", dir=out_dir))
    proc = None
    counts = list(frames)
    lists = [declarations, *frames.values(), *changing, *cubes_lists]
    first_changing = 1 + len(frames)
    first_cubes = len(lists) - 2
    try:
        store = LocalStore(scratch / "store")
        publish(cubes_build, store)
        proc, url = _serve(store.root)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + WEBGPU_ARGS)
            try:
                play = f"{url}/play/cubes?ticks=1&renderer=webgpu&worker=0&sound=0"
                page = CubesPage(_stopped_page(browser, play, isolated=True), lists, raw)
                samples: dict[str, list[tuple[float, float]]] = {f"{k} {n}": [] for k in ("layerw", "raw") for n in counts}
                samples["cubes"] = []
                samples["layerw changing"], samples["raw changing"] = [], []
                page.draw(0)
                for j, n in enumerate(counts):  # one size's rounds after another, as a game's frames follow
                    page.warm(1 + j)  # each size's own warm-up just before its rounds
                    page.warm(-1, n)
                    for i in range(WARMUP + ROUND_FACTOR * rounds):
                        if i % 2 == 0:
                            layerw, raw_frame = page.draw(1 + j), page.raw(n)
                        else:
                            raw_frame, layerw = page.raw(n), page.draw(1 + j)
                        if i >= WARMUP:
                            samples[f"layerw {n}"].append(layerw)
                            samples[f"raw {n}"].append(raw_frame)
                for i in range(WARM_FRAMES):  # the two lists in turn, as they are measured, so every frame is checked
                    page.warm(first_changing + i % 2, frames=1)
                page.warm(-1, counts[0])
                for i in range(WARMUP + ROUND_FACTOR * rounds):  # the lists in turn: each frame unlike the last
                    if i % 2 == 0:
                        layerw, raw_frame = page.draw(first_changing), page.raw(counts[0])
                    else:
                        raw_frame, layerw = page.raw(counts[0]), page.draw(first_changing + 1)
                    if i >= WARMUP:
                        samples["layerw changing"].append(layerw)
                        samples["raw changing"].append(raw_frame)
                page.draw(first_cubes)  # cubes declares its resources (a RESET first), then its frame
                page.warm(first_cubes + 1, frames=WARM_FRAMES // 6)  # its GPU work is far longer; the code is shared
                for i in range(WARMUP + ROUND_FACTOR * rounds):
                    frame = page.draw(first_cubes + 1)
                    if i >= WARMUP:
                        samples["cubes"].append(frame)
            finally:
                browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)
    out: dict[str, Any] = {k: {"host_ms": median([s[0] for s in v]) * 1e3, "done_ms": median([s[1] for s in v]) * 1e3}
                           for k, v in samples.items()}
    for name in [*map(str, counts), "changing"]:
        pairs = zip(samples[f"layerw {name}"], samples[f"raw {name}"], strict=True)
        out[f"ratio {name}"] = median([a[0] / b[0] for a, b in pairs])
    return out
