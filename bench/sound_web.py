"""Sound in Chromium and from the store (the `sound` section's further tables): the mixer's cost per
60 Hz tick in Chromium (the same web/mixer.wasm, one call per tick), the time from asking for
streamed music to its first frames (asteroids' 3 MB music.ogg, cold and warm, in Chromium and
natively), and output latency (the native speaker on miniaudio's NULL device, the page's
AudioWorklet speaker). Asteroids is published into a scratch store served by a real `layerw serve`.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import miniaudio
import numpy as np

from bench.gil_load import GilLoad
from bench.timing import median
from bench.web import ARGS, CHROMIUM, _serve
from bench.workload import ROOT
from layerw import abi
from layerw.bundle import Bundle
from layerw.play.speaker import Speaker
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store.bundle import StoreBundle
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.build import build

LOAD_THREADS = 4  # Python threads spinning beside the native speaker in its loaded run (GilLoad)
PLAYER_MOVES = [{"tick": 5, "down": ["ArrowLeft"]}, {"tick": 40, "up": ["ArrowLeft"]}]  # asteroids asks for its music
MIXER_COST = """async ([voices, sound, ticks]) => {
  const { Mixer } = await import("/web/mixer.js");
  const module = await Mixer.compile();
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const time = (mixer, start) => {
    mixer.mix(start);
    const t0 = performance.now();
    for (let i = 0; i < ticks; i++) mixer.mix(new Uint8Array(0));
    return (performance.now() - t0) / ticks;
  };
  const busy = new Mixer(module, 60), idle = new Mixer(module, 60);
  busy.addSound(1, bytes(sound));
  const out = {busy: [], idle: []};
  for (let round = 0; round < 5; round++) {
    out.busy.push(time(busy, bytes(voices)));
    out.idle.push(time(idle, new Uint8Array(0)));
  }
  out.voices = busy.counters().voices_on;
  return out;
}"""
MUSIC_FIRST = """async () => {
  while (!(window.layerw && window.layerw.tick >= 8 && window.layerw.client().game.assets.get(3))) {
    if (window.layerw && window.layerw.status === "failed") throw new Error(window.layerw.error);
    await new Promise((r) => setTimeout(r, 5));
  }
  const asset = window.layerw.client().game.assets.get(3);
  await asset.streaming;
  return {firstMs: asset.stream.firstMs, allMs: performance.now() - asset.stream.startedAt, load: {...window.layerw.load}};
}"""


def chromium_mixer(browser: Any, url: str, voices: bytes, sound: np.ndarray, ticks: int) -> dict[str, Any]:
    """Per-tick mixer cost in a page (ms): 32 voices and silent, five interleaved rounds each."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{url}/")
        raw = np.ascontiguousarray(sound, dtype="<i2").tobytes()
        out = page.evaluate(MIXER_COST, [base64.b64encode(voices).decode(), base64.b64encode(raw).decode(), ticks])
        assert out["voices"] == abi.MAX_VOICES
        return {"busy_ms": median(out["busy"]), "idle_ms": median(out["idle"])}
    finally:
        ctx.close()


def music_start(browser: Any, url: str) -> dict[str, Any]:
    """Asking for the music to its first frames, and to all of it, in Chromium: cold, then warm."""
    inputs = quote("data:application/jsonl," + quote("".join(json.dumps(m) + "\n" for m in PLAYER_MOVES)), safe="")
    # page-hosted (worker=0): the asset's stream timings are read from the page's own game
    play = f"{url}/play/asteroids?ticks=60&sound=0&worker=0&inputs={inputs}"
    ctx = browser.new_context()
    try:
        runs = []
        for _ in range(2):
            page = ctx.new_page()
            page.goto(play)
            runs.append(page.evaluate(MUSIC_FIRST))
            page.close()
        return {"cold": runs[0], "warm": runs[1]}
    finally:
        ctx.close()


def native_music_start(url: str, cache: Path) -> dict[str, float]:
    """The native host loads a streamed sound whole on request: the time that request takes."""
    out = {}
    for kind in ("cold", "warm"):
        with StoreBundle(url, "asteroids", cache_dir=cache) as bundle:
            t0 = time.perf_counter()
            bundle.read_asset("music.ogg")
            out[kind] = (time.perf_counter() - t0) * 1000
    return out


def native_latency(build_dir: Path, seconds: float, latency_ms: int = 40, load_threads: int = 0) -> dict[str, Any]:
    """The native speaker (NULL device) fed by asteroids in real time, paced like a window's loop: each
    tick when it falls due (then a sleep to the next), its samples written at once. The latency is
    measured, write by write: from the write to the device's callback taking its first frame, plus the
    device's periods after it. Beside it, which side was late when underruns came: the intervals
    between the game's writes (a tick is due every 16.7 ms) and between the device's callbacks, the
    ticks made of those due, and where the queue's target ended (raised a period per underrun).
    ``load_threads``: Python threads spinning in this process meanwhile (``GilLoad``)."""
    inputs = InputState()
    with Engine(CpuLimit.EPOCH) as engine, Game(Bundle.open(build_dir), engine) as game, \
            Speaker(latency_ms=latency_ms, backends=[miniaudio.Backend.NULL]) as speaker, \
            GilLoad(load_threads, max_s=seconds + 30):
        rate = game.config.tick_rate
        start = time.perf_counter()
        tick = 0
        while time.perf_counter() - start < seconds:
            due = int((time.perf_counter() - start) * rate)
            while tick <= due:
                game.tick(inputs)
                tick += 1
                speaker.write(game.take_samples())
            time.sleep(max(0.0, start + tick / rate - time.perf_counter()))
        due = int((time.perf_counter() - start) * rate) + 1
        thread = speaker.priority.describe() if speaker.priority else "the device's thread never ran"
        return {"latency_ms": speaker.output_latency_ms, "p95_ms": speaker.measured_latency_ms(95) or 0.0,
                "device_ms": float(speaker.device_ms), "silent_frames": float(speaker.frames_missing),
                "underruns": float(speaker.underruns), "dropped": float(speaker.ring.dropped),
                "writes": float(len(speaker.queue_waits_ms())), "ticks": float(tick), "due": float(due),
                "write_gap_p95_ms": speaker.gap_ms("write"), "write_gap_max_ms": speaker.gap_ms("write", 100),
                "callback_gap_p95_ms": speaker.gap_ms("callback"), "callback_gap_max_ms": speaker.gap_ms("callback", 100),
                "target_ms": speaker.ring.target * 1000 / abi.SAMPLE_RATE, "thread": thread}


def page_latency(browser: Any, url: str, seconds: float) -> dict[str, float]:
    """The page's AudioWorklet speaker playing asteroids: its latency now, sampled."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{url}/play/asteroids")
        page.wait_for_function("() => window.layerw && window.layerw.sound && window.layerw.sound.speaker "
                               "&& window.layerw.sound.speaker.stats.consumed > 0")
        lat = page.evaluate("""async (seconds) => { const out = [];
            const until = performance.now() + seconds * 1000;
            while (performance.now() < until) { out.push(window.layerw.sound.speaker.latencyMs);
                                                await new Promise((r) => setTimeout(r, 50)); }
            return {samples: out, stats: window.layerw.sound.speaker.stats}; }""", seconds)
        return {"latency_ms": median(lat["samples"]), "silent_frames": float(lat["stats"]["underruns"]),
                "mode": lat["stats"]["mode"], "dropped": float(lat["stats"]["dropped"])}
    finally:
        ctx.close()


def measure(out_dir: Path, voices: bytes, sound: np.ndarray, ticks: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="bench-sound-", dir=out_dir))
    proc = None
    try:
        asteroids = build(ROOT / "games" / "asteroids", scratch / "build").out
        store = LocalStore(scratch / "store")
        publish(asteroids, store)
        proc, url = _serve(store.root)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                result: dict[str, Any] = {"chromium_mixer": chromium_mixer(browser, url, voices, sound, ticks)}
                result["music_chromium"] = music_start(browser, url)
                result["latency_chromium"] = page_latency(browser, url, 2.0)
            finally:
                browser.close()
        result["music_native"] = native_music_start(url, scratch / "chunk-cache")
        result["latency_native"] = native_latency(asteroids, 2.0)
        result["latency_native_loaded"] = native_latency(asteroids, 2.0, load_threads=LOAD_THREADS)
        return result
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)
