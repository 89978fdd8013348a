"""Web: the browser client against `layerw serve` — first frame cold vs warm, module deltas, and
ticks/s of the same module in Chromium (V8) vs native wasmtime.

The sprites game is published into a scratch store and served by a real `layerw serve` process;
Debian Chromium (SwiftShader, the flags of tests/web) opens /play/sprites. Cold: a fresh browser
profile (empty HTTP cache and Cache Storage). Warm: a second visit in the same profile, where only
the manifest is revalidated (304) and every chunk comes from Cache Storage. Bytes are what the page
saw on the wire (Resource Timing transferSize: page, scripts, manifest, chunks). The delta row
publishes a rebuilt sprites (one constant changed) and visits again. Ticks/s runs lw_tick in a loop
inside the page (no rendering) and in wasmtime (the default epoch bound), interleaved by round.
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

from bench.report import Section, table
from bench.timing import clock, median
from bench.workload import SPRITES_DIR
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.build import build

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
TICKS = 300  # ticks per ticks/s sample
DECODER_BYTES = 264_000  # layerw/web/store-source.js DECODER_BYTES
SERVE = "import sys; from layerw.cli import main; sys.exit(main())"
FIRST_FRAME = """async () => {
  const settled = () => window.layerw && (window.layerw.firstFrameMs || window.layerw.status === 'failed');
  while (!settled()) await new Promise((r) => setTimeout(r, 5));
  if (window.layerw.status === 'failed') throw new Error(window.layerw.error);
  const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return {ms: window.layerw.firstFrameMs, bytes: all.reduce((n, e) => n + e.transferSize, 0), load: {...window.layerw.load}};
}"""
TICK_LOOP = """(n) => {
  const c = window.layerw.client();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) c.game.tick(c.inputs);
  return (performance.now() - t0) / 1000;
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


def _native_ticks(build_dir: Path, engine: Engine) -> float:
    with Game(Bundle.open(build_dir), engine) as game:
        inputs = InputState()
        game.tick(inputs)
        t0 = clock()
        for _ in range(TICKS):
            game.tick(inputs)
        return clock() - t0


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
        chromium_s: list[float] = []
        native_s: list[float] = []
        with sync_playwright() as p, Engine(CpuLimit.EPOCH) as engine:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(rounds):
                ctx = browser.new_context(viewport={"width": 800, "height": 600})
                cold.append(_visit(ctx, play))
                warm.append(_visit(ctx, play))
                page = ctx.new_page()
                page.goto(play)
                page.wait_for_function("() => window.layerw && window.layerw.status === 'stopped'")
                page.evaluate(TICK_LOOP, 30)  # warm up V8's tiers
                chromium_s.append(float(page.evaluate(TICK_LOOP, TICKS)))
                native_s.append(_native_ticks(sprites_build, engine))
                ctx.close()
            # a new version: the browser that ran v1 fetches only the delta
            ctx = browser.new_context(viewport={"width": 800, "height": 600})
            _visit(ctx, play)
            v2 = publish(v2_build, store)
            delta = _visit(ctx, f"{play}&delta=always")
            ctx.close()
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
    chromium_tps, native_tps = TICKS / median(chromium_s), TICKS / median(native_s)
    v2_stored = sum(c.stored_size for c in v2.manifest.module.chunks)
    data: dict[str, Any] = {
        "rounds": rounds, "module_bytes": module.size, "module_stored_bytes": module_stored,
        "cold": {"first_frame_ms": med(cold, "ms"), "bytes": med(cold, "bytes"),
                 "chunks_fetched": cold[0]["load"]["chunksFetched"], "chunk_bytes": cold[0]["load"]["bytesFetched"]},
        "warm": {"first_frame_ms": med(warm, "ms"), "bytes": med(warm, "bytes"),
                 "chunks_fetched": max(w["load"]["chunksFetched"] for w in warm)},
        "delta": {"first_frame_ms": delta["ms"], "bytes": delta["bytes"], "module_from": delta["load"]["moduleFrom"],
                  "delta_bytes": delta["load"]["deltaBytes"], "module_stored_bytes": v2_stored,
                  "saved_bytes": delta["load"]["deltaSaved"]},
        "ticks_per_s": {"chromium": chromium_tps, "native_wasmtime": native_tps,
                        "chromium_over_native": chromium_tps / native_tps},
    }
    t = table(f"Web: sprites from `layerw serve` in Chromium (SwiftShader), median of {rounds} rounds",
              "what", "first frame ms", "bytes on the wire", "chunks fetched", "note")
    t.add_row("cold (new profile)", f"{data['cold']['first_frame_ms']:.0f}", f"{data['cold']['bytes']:,.0f}",
              str(data["cold"]["chunks_fetched"]), f"module {module.size:,} B, {module_stored:,} B as zstd")
    t.add_row("warm (second visit)", f"{data['warm']['first_frame_ms']:.0f}", f"{data['warm']['bytes']:,.0f}",
              str(data["warm"]["chunks_fetched"]), "chunks from Cache Storage, manifest 304")
    t.add_row("new version (delta)", f"{delta['ms']:.0f}", f"{delta['bytes']:,.0f}",
              str(delta["load"]["chunksFetched"]),
              f"delta {data['delta']['delta_bytes']:,} B instead of {v2_stored:,} B ({delta['load']['moduleFrom']})")
    t.add_row(f"ticks/s, {TICKS} ticks of 10k sprites", "", "", "",
              f"Chromium {chromium_tps:,.0f} vs wasmtime {native_tps:,.0f}: {chromium_tps / native_tps:.2f}x")
    notes = ["first frame = navigation start to the first animation frame after boot (page, scripts, manifest, "
             "chunks, compile, preload assets, first tick and draw); bytes = Resource Timing transferSize, "
             "304s count their headers",
             f"the delta row includes the zstd decoder's first download (~{DECODER_BYTES // 1000} kB, then HTTP-cached); "
             "by default (?delta=auto) a browser takes a delta only when it saves more than that",
             "ticks/s: lw_tick in a loop, no rendering; Chromium's V8 vs wasmtime with the epoch bound"]
    return Section("web", t, data, notes)
