"""Component: what the Component Model path costs against the core-module path, natively.

Per frame both paths cross into the guest twice (tick, render); a component call also lowers and
lifts its values (the input's bytes in, the command list out: one copy where the core path reads
guest memory in place) and runs ``post_return``. Measured on pong (a ~1 KiB command list) and on
the sprites workload (10k sprites, ~480 KiB). The stock wasmtime-py conversion of that list (one
Python int per byte, what a typed list<record> would cost per field) is timed beside the byte fast
path of ``layerw.runtime.canon``, and beside both ``CanonGame`` (what ``start_game`` runs for a
component of the game's module alone: the canonical ABI done by the host over the module's memory).

Start: from nothing to the first tick, cold (empty compiled-artefact cache) and warm, for the pong
component (C) and for orbs linking its Python physics plugin (componentize-py: a whole CPython).

In Chromium: the same builds published into a scratch store and served by `layerw serve`; the
component build runs from its jco-transpiled form (ComponentGame in layerw/web/component-game.js),
the core build (the same compile's game.wasm) as Game. A sample is a batch of ticks then a batch
of renders (performance.now() is coarse without cross-origin isolation), interleaved by round.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from wasmtime.component import _types

from bench.report import Section, table
from bench.timing import clock, median, ms, us
from layerw.bundle import MODULE_NAME, Bundle
from layerw.runtime import canon
from layerw.runtime.canon_game import CanonGame
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.build import build
from layerw.toolchain.component import build_plugin

ROOT = Path(__file__).resolve().parents[1]
CPU_LIMIT = CpuLimit.EPOCH
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
SERVE = "import sys; from layerw.cli import main; sys.exit(main())"
BATCH = 50  # frames per browser sample
BROWSER_FRAMES = """(n) => {
  const { game, inputs } = window.layerw.client();
  let t0 = performance.now();
  for (let i = 0; i < n; i++) game.tick(inputs);
  const t1 = performance.now();
  for (let i = 0; i < n; i++) game.render();
  return [game.constructor.name, (t1 - t0) / n / 1000, (performance.now() - t1) / n / 1000];
}"""


def _core(build_dir: Path) -> Bundle:
    bundle = Bundle.open(build_dir)
    bundle.config = dataclasses.replace(bundle.config, component=False)
    bundle.module = (build_dir / MODULE_NAME).read_bytes()
    return bundle


def _frame_costs(game: GameHost, frames: int) -> dict[str, float]:
    inputs = InputState()
    for _ in range(10):
        game.tick(inputs)
        game.render()
    tick, render = [], []
    for _ in range(frames):
        t0 = clock()
        game.tick(inputs)
        t1 = clock()
        game.render() if isinstance(game, Game) else bytes(game.render())  # a view in place, else a copy
        t2 = clock()
        tick.append(t1 - t0)
        render.append(t2 - t1)
    return {"tick": median(tick), "render": median(render), "frame": median(tick) + median(render)}


def _stock_render(game: ComponentGame, rounds: int) -> float:
    """render() with wasmtime-py's own per-byte list conversion instead of the fast path."""
    fast = _types.ListType.convert_from_c
    _types.ListType.convert_from_c = canon._from_c  # type: ignore[method-assign]
    try:
        samples = []
        for _ in range(rounds):
            t0 = clock()
            game.render()
            samples.append(clock() - t0)
        return median(samples)
    finally:
        _types.ListType.convert_from_c = fast  # type: ignore[method-assign]


def _start(bundle: Bundle, cache: Path) -> float:
    t0 = clock()
    with Engine(CPU_LIMIT, cache=cache) as engine, ComponentGame(bundle, engine) as game:
        game.tick(InputState())
        return clock() - t0


def _core_build(build_dir: Path, dest: Path) -> Path:
    """The core build of a --component build (its game.wasm), published as NAME-core."""
    dest.mkdir(parents=True)
    shutil.copy(build_dir / MODULE_NAME, dest / MODULE_NAME)
    shutil.copytree(build_dir / "assets", dest / "assets")
    config = Bundle.open(build_dir).config
    core = dataclasses.replace(config, name=f"{config.name}-core", component=False)
    (dest / "layerw.toml").write_text(core.to_toml())
    return dest


def _serve(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
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


def _browser_costs(builds: dict[str, Path], work: Path, rounds: int) -> dict[str, dict[str, dict[str, float]]]:
    """Per game and path ("core", "component"): median tick, render and frame seconds in Chromium."""
    from playwright.sync_api import sync_playwright

    store = LocalStore(work / "store")
    for name, build_dir in builds.items():
        publish(build_dir, store)
        publish(_core_build(build_dir, work / f"{name}-core"), store)
    proc, url = _serve(work / "store")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pages: dict[tuple[str, str], Any] = {}
            for name in builds:
                for path, game in (("core", f"{name}-core"), ("component", name)):
                    page = browser.new_context(viewport={"width": 800, "height": 600}).new_page()
                    page.goto(f"{url}/play/{game}?ticks=1&renderer=webgl2")
                    page.wait_for_function("() => window.layerw && ['stopped', 'failed'].includes(window.layerw.status)")
                    if page.evaluate("window.layerw.status") == "failed":
                        raise RuntimeError(page.evaluate("window.layerw.error"))
                    page.evaluate(BROWSER_FRAMES, 10)  # warm up the JIT
                    pages[name, path] = page
            samples: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in pages}
            for _ in range(rounds):
                for key, page in pages.items():
                    kind, tick, render = page.evaluate(BROWSER_FRAMES, BATCH)
                    assert kind == ("ComponentGame" if key[1] == "component" else "Game"), kind
                    samples[key].append((tick, render))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (name, path), got in samples.items():
        tick, render = median([t for t, _ in got]), median([r for _, r in got])
        out.setdefault(name, {})[path] = {"tick": tick, "render": render, "frame": tick + render}
    return out


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    work = Path(tempfile.mkdtemp(prefix="bench-component-", dir=out_dir))
    try:
        builds = {"pong": build(ROOT / "games" / "pong", work / "pong", component=True).out,
                  "sprites": build(ROOT / "games" / "sprites", work / "sprites", component=True).out}
        orbs = build(ROOT / "games" / "orbs", work / "orbs").out
        build_plugin(ROOT / "games" / "orbs" / "plugins" / "gravity", orbs / "plugins" / "bounce.wasm")
        frames = max(20, rounds)
        data: dict[str, object] = {"frames": frames}
        t = table(f"7. Component vs core module, per frame (median of {frames} frames; 2 calls per frame on both paths)",
                  "game / path", "tick µs", "render µs", "frame µs", "x core")
        with Engine(CPU_LIMIT, cache=work / "modules") as engine:
            for name, build_dir in builds.items():
                with Game(_core(build_dir), engine) as core, ComponentGame(Bundle.open(build_dir), engine) as comp, \
                        CanonGame(Bundle.open(build_dir), engine) as canon:
                    costs = {"core": _frame_costs(core, frames), "component": _frame_costs(comp, frames),
                             "component, canon ABI in the host": _frame_costs(canon, frames)}
                    size = len(comp.render())
                    stock = _stock_render(comp, max(3, frames // 20 if name == "sprites" else frames))
                data[name] = {k: {s: v * 1e6 for s, v in c.items()} for k, c in costs.items()} | {
                    "command_bytes": size, "stock_render_us": stock * 1e6}
                for path, c in costs.items():
                    t.add_row(f"{name} ({size:,} B commands) / {path}", us(c["tick"]), us(c["render"]), us(c["frame"]),
                              f"{c['frame'] / costs['core']['frame']:.1f}")
                t.add_row(f"{name} / component, stock list<u8> lift", "", us(stock), "", "")
        starts: dict[str, dict[str, float]] = {}
        for name, build_dir in (("pong component (C)", builds["pong"]), ("orbs + Python plugin", orbs)):
            bundle = Bundle.open(build_dir)
            warm_cache = work / f"warm-{len(starts)}"
            _start(bundle, warm_cache)
            n = max(2, rounds // 10)
            cold = [_start(bundle, work / f"cold-{len(starts)}-{i}") for i in range(n)]
            warm = [_start(bundle, warm_cache) for _ in range(n)]
            starts[name] = {"cold_ms": median(cold) * 1e3, "warm_ms": median(warm) * 1e3}
            t.add_row(f"start: {name}", "", "", f"cold {ms(median(cold))} ms", f"warm {ms(median(warm))} ms")
        data["start"] = starts
        browser_rounds = max(5, rounds // 10)
        if CHROMIUM.exists():
            costs_web = _browser_costs(builds, work / "web", browser_rounds)
            data["chromium"] = {name: {path: {s: v * 1e6 for s, v in c.items()} for path, c in paths.items()}
                                | {"frames": browser_rounds * BATCH} for name, paths in costs_web.items()}
            for name, paths in costs_web.items():
                for path, c in paths.items():
                    t.add_row(f"{name} / chromium {path}", us(c["tick"]), us(c["render"]), us(c["frame"]),
                              f"{c['frame'] / paths['core']['frame']:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = ["component frame = wasmtime's component runtime (ComponentGame): lower the input (list<u8>), lift the "
             "command list (one copy, through one C API value per byte) and post_return on each call; "
             "the core path writes the input into guest memory and views the command list in place",
             "canon ABI in the host = CanonGame, what start_game runs for a component of the game's module alone: "
             "that module on core wasmtime, the input lowered through its cabi_realloc, the command list lifted as a view",
             "stock lift = wasmtime-py's per-element conversion: what a typed list<record> would cost per field, "
             "hence list<u8> in the world",
             f"chromium rows: V8, medians of {max(5, rounds // 10)} rounds of {BATCH} ticks then {BATCH} renders; "
             "the component is jco's transpiled glue (its per-call task bookkeeping, the input copied in, the "
             "command list copied out by memory.buffer.slice), the core path writes the input and views the list in place"]
    if not CHROMIUM.exists():
        notes.append("chromium rows: none, /usr/bin/chromium is missing (make setup installs it)")
    return Section("component", t, data, notes)
