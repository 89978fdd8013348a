"""Web: the browser client against `layerw serve` — first frame cold vs warm, module deltas; the
same wasm's speed in Chromium (V8) vs native wasmtime vs native code (bench/web_ticks.py); frame
time of one command list in WebGL2 and WebGPU vs native wgpu and raw pages (bench/web_frames.py);
a fast run on the page vs in a game worker (?worker=1).

The sprites game is published into a scratch store and served by a real `layerw serve` process;
Debian Chromium (SwiftShader, the flags of tests/web) opens /play/sprites. Cold: a fresh browser
profile (empty HTTP cache and Cache Storage). Warm: a second visit in the same profile, where only
the manifest is revalidated (304) and every chunk comes from Cache Storage. Bytes are what the page
saw on the wire (Resource Timing transferSize: page, scripts, manifest, chunks). The delta row
publishes a rebuilt sprites (one constant changed) and visits again. The speed and frame tables
run on pages stopped at tick 1, WebGPU in a second Chromium with the WebGPU flags of tests/web.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import web_frames, web_ticks
from bench.report import Section, table
from bench.timing import median
from bench.workload import SPRITES_DIR
from layerw.runtime.engine import CpuLimit, Engine
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.build import build

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader"]
DECODER_BYTES = 264_000  # layerw/web/store-source.js DECODER_BYTES
WIDTH, HEIGHT = 640, 360  # games/sprites' resolution
SERVE = "import sys; from layerw.cli import main; sys.exit(main())"
FIRST_FRAME = """async () => {
  const settled = () => window.layerw && (window.layerw.firstFrameMs || window.layerw.status === 'failed');
  while (!settled()) await new Promise((r) => setTimeout(r, 5));
  if (window.layerw.status === 'failed') throw new Error(window.layerw.error);
  const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return {ms: window.layerw.firstFrameMs, bytes: all.reduce((n, e) => n + e.transferSize, 0), load: {...window.layerw.load}};
}"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--store", str(store), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/games", timeout=1).read()
            return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("`layerw serve` did not start") from None
            time.sleep(0.1)


def _changed_sprites(scratch: Path) -> Path:
    """games/sprites with one constant changed and the version raised: a realistic small patch."""
    src = scratch / "sprites-v2"
    shutil.copytree(SPRITES_DIR, src, ignore=shutil.ignore_patterns("build"))
    c = src / "sprites.c"
    c.write_text(re.sub(r"#define FRAME_TICKS \d+", "#define FRAME_TICKS 7", c.read_text()))
    toml = src / "layerw.toml"
    toml.write_text(re.sub(r'version = "[^"]*"', 'version = "1.0.1"', toml.read_text()))
    return build(src, scratch / "build-v2").out


def _visit(context: Any, url: str) -> dict[str, Any]:
    page = context.new_page()
    try:
        page.goto(url)
        return dict(page.evaluate(FIRST_FRAME))
    finally:
        page.close()


ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def _isolate(route: Any) -> None:
    """Serve a request with ISOLATION's headers added."""
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, **ISOLATION})


def _stopped_page(browser: Any, url: str, isolated: bool = False) -> Any:
    """A page of its own context at `url`, once its game stopped; None when the page failed. An
    ``isolated`` page is cross-origin isolated (its responses get ISOLATION's headers), so Chromium's
    performance.now() ticks in 5 us rather than 100 us."""
    ctx = browser.new_context(viewport={"width": 800, "height": 600})
    page = ctx.new_page()
    if isolated:
        page.route("**/*", _isolate)
    page.goto(url)
    page.wait_for_function("() => window.layerw && ['stopped', 'failed'].includes(window.layerw.status)")
    if page.evaluate("window.layerw.status") == "failed":
        error = page.evaluate("window.layerw.error")
        ctx.close()
        raise RuntimeError(error)
    return page


def _speed(browser: Any, gpu_browser: Any, play: str, out_dir: Path, sprites_build: Path,
           rounds: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The ratio table's samples and the frame-time table's (WebGL2 page, WebGPU page, native)."""
    page = _stopped_page(browser, f"{play}&renderer=webgl2")
    ticks = web_ticks.measure_all(page, out_dir, sprites_build, 2 * rounds + 1)
    notes: list[str] = []
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        lists, textures = web_frames.command_lists(sprites_build, out_dir, engine)
    renderers: dict[str, Any] = {"WebGL2 (Chromium)": web_frames.PageRenderer(page, lists, textures),
                                 "raw WebGL2 page (Chromium)": web_frames.RawPageRenderer(page, "webgl2", lists, textures,
                                                                                          WIDTH, HEIGHT)}
    try:
        gpu_page = _stopped_page(gpu_browser, f"{play}&renderer=webgpu")
        renderers["WebGPU (Chromium)"] = web_frames.PageRenderer(gpu_page, lists, textures)
        renderers["raw WebGPU page (Chromium)"] = web_frames.RawPageRenderer(gpu_page, "webgpu", lists, textures, WIDTH, HEIGHT)
    except Exception as e:  # no adapter here: the other rows still mean something
        notes.append(f"WebGPU: no row, the page failed: {e}")
    native = web_frames.NativeRenderer(lists, textures, WIDTH, HEIGHT)
    renderers["native wgpu"] = native
    try:
        frames = web_frames.measure(renderers, 4 * rounds, WIDTH, HEIGHT)
    finally:
        native.close()
    return ticks, frames, notes


WORKER_TICKS = 600
WORKER_FROM = 100  # timed from this tick, once the page has settled


def _worker_cost(browser: Any, url: str, rounds: int) -> dict[str, float]:
    """Milliseconds per tick (frames included) of a fast run of /play/sprites on the page and in a game
    worker (?worker=1: a message to the page per call, the renderer on an OffscreenCanvas), interleaved."""
    samples: dict[str, list[float]] = {"page": [], "worker": []}
    for _ in range(rounds):
        for key, worker in (("page", 0), ("worker", 1)):
            page = browser.new_page()
            page.goto(f"{url}/play/sprites?ticks={WORKER_TICKS}&fast&renderer=webgl2&sound=0&telemetry=0&worker={worker}")
            page.wait_for_function(f"() => window.layerw && window.layerw.tick >= {WORKER_FROM}", polling=5, timeout=120_000)
            t0, start = time.perf_counter(), int(page.evaluate("window.layerw.tick"))
            page.wait_for_function("() => ['stopped', 'failed'].includes(window.layerw.status)", polling=5, timeout=120_000)
            if page.evaluate("window.layerw.status") == "failed":
                raise RuntimeError(page.evaluate("window.layerw.error"))
            samples[key].append((time.perf_counter() - t0) * 1e3 / (WORKER_TICKS - start))
            page.close()
    return {key: median(v) for key, v in samples.items()}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="bench-web-", dir=out_dir))
    proc = None
    try:
        store = LocalStore(scratch / "store")
        v1 = publish(sprites_build, store)
        v2_build = _changed_sprites(scratch)
        proc, url = _serve(store.root)
        play = f"{url}/play/sprites?ticks=1"
        cold: list[dict[str, Any]] = []
        warm: list[dict[str, Any]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            gpu_browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + WEBGPU_ARGS)
            for _ in range(rounds):
                ctx = browser.new_context(viewport={"width": 800, "height": 600})
                cold.append(_visit(ctx, play))
                warm.append(_visit(ctx, play))
                ctx.close()
            ticks, frames, speed_notes = _speed(browser, gpu_browser, play, out_dir, sprites_build, rounds)
            worker = _worker_cost(browser, url, rounds)
            # a new version: the browser that ran v1 fetches only the delta
            ctx = browser.new_context(viewport={"width": 800, "height": 600})
            _visit(ctx, play)
            v2 = publish(v2_build, store)
            delta = _visit(ctx, f"{play}&delta=always")
            ctx.close()
            gpu_browser.close()
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)

    def med(samples: list[dict[str, Any]], key: str) -> float:
        return median([float(s[key]) for s in samples])

    module = v1.manifest.module
    module_stored = sum(c.stored_size for c in module.chunks)
    v2_stored = sum(c.stored_size for c in v2.manifest.module.chunks)
    ratio_table, ratio_data = web_ticks.ratio_table(ticks)
    frame_rounds = 4 * rounds
    data: dict[str, Any] = {
        "rounds": rounds, "module_bytes": module.size, "module_stored_bytes": module_stored,
        "cold": {"first_frame_ms": med(cold, "ms"), "bytes": med(cold, "bytes"),
                 "chunks_fetched": cold[0]["load"]["chunksFetched"], "chunk_bytes": cold[0]["load"]["bytesFetched"]},
        "warm": {"first_frame_ms": med(warm, "ms"), "bytes": med(warm, "bytes"),
                 "chunks_fetched": max(w["load"]["chunksFetched"] for w in warm)},
        "delta": {"first_frame_ms": delta["ms"], "bytes": delta["bytes"], "module_from": delta["load"]["moduleFrom"],
                  "delta_bytes": delta["load"]["deltaBytes"], "module_stored_bytes": v2_stored,
                  "saved_bytes": delta["load"]["deltaSaved"]},
        "speed": ratio_data,
        "frames": frames,
        "worker_ms_per_tick": worker,
    }
    t = table(f"Web 1. sprites from `layerw serve` in Chromium (SwiftShader), median of {rounds} rounds",
              "what", "first frame ms", "bytes on the wire", "chunks fetched", "note")
    t.add_row("cold (new profile)", f"{data['cold']['first_frame_ms']:.0f}", f"{data['cold']['bytes']:,.0f}",
              str(data["cold"]["chunks_fetched"]), f"module {module.size:,} B, {module_stored:,} B as zstd")
    t.add_row("warm (second visit)", f"{data['warm']['first_frame_ms']:.0f}", f"{data['warm']['bytes']:,.0f}",
              str(data["warm"]["chunks_fetched"]), "chunks from Cache Storage, manifest 304")
    t.add_row("new version (delta)", f"{delta['ms']:.0f}", f"{delta['bytes']:,.0f}",
              str(delta["load"]["chunksFetched"]),
              f"delta {data['delta']['delta_bytes']:,} B instead of {v2_stored:,} B ({delta['load']['moduleFrom']})")
    notes = ["first frame = navigation start to the first animation frame after boot (page, scripts, manifest, "
             "chunks, compile, preload assets, first tick and draw); bytes = Resource Timing transferSize, "
             "304s count their headers",
             f"the delta row includes the zstd decoder's first download (~{DECODER_BYTES // 1000} kB, then HTTP-cached); "
             "by default (?delta=auto) a browser takes a delta only when it saves more than that",
             "speed: the raw lw_tick / run export called back to back, no rendering, no input packing; native = "
             "zig cc -O2 -mcpu=baseline; wasmtime: off = no CPU bound, epoch = the default bound; "
             "checksum: n-body's final energy compared bit for bit on all four hosts",
             "frames: WebGL2 is ANGLE on SwiftShader (the renderer string), WebGPU is Dawn on SwiftShader Vulkan, "
             "native wgpu is Vulkan on lavapipe here; all are CPU rasterisers sharing 2 cores; a raw page row is "
             "bench/web_baseline.js on the same page: the frame's largest sprite batch in one instanced draw on a canvas "
             "of its own, and '× its raw page' is the Layer-W page's frame time over it",
             *speed_notes]
    w = table(f"Web 4. A fast run of /play/sprites, ms per tick with its frames (ticks {WORKER_FROM}-{WORKER_TICKS}, "
              f"median of {rounds} rounds)", "where the game runs", "ms per tick", "× on the page")
    w.add_row("on the page", f"{worker['page']:.3f}", "1.00")
    w.add_row("in a game worker (?worker=1)", f"{worker['worker']:.3f}", f"{worker['worker'] / worker['page']:.2f}")
    more = [ratio_table, web_frames.frame_table(frames, WIDTH, HEIGHT, frame_rounds), w]
    return Section("web", t, data, notes, more)
