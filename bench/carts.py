"""Carts: the frame cost of a busy WASM-4 cart natively (wasmtime) and in Chromium (V8), both
drawing with the drawing module (web/wasm4fb.wasm, wasm to wasm), beside an empty cart (the host's own cost per frame).

A frame is what a host does per 60 Hz tick for a cart: write the input registers, clear the
framebuffer, call ``update`` (which draws through the env functions), mix its tone() calls, then
turn the framebuffer into the frame's RGBA texture (take_new_textures / takeNewTextures); the
renderer's upload and draw are not included (bench/render.py, bench/web_frames.py time those).
The busy cart draws every frame what a crowded cart might: 256 16x16 2bpp blits with every flip
and rotation, 64 rects, ovals and lines each, 8 lines of text, and one tone. Both carts are
published into a scratch store served by a real `layerw serve`; each page stops at tick 1, then
ticks its game back to back; the state hashes after the same ticks must agree with the native host's.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import wasmtime

from bench.report import Section, table
from bench.timing import median, timed
from bench.web import ARGS, CHROMIUM, _serve
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.toolchain.cart import build_cart

FRAME_MS = 1000 / 60
IMPORTS = """
  (import "env" "memory" (memory 1))
  (import "env" "blit" (func $blit (param i32 i32 i32 i32 i32 i32)))
  (import "env" "rect" (func $rect (param i32 i32 i32 i32)))
  (import "env" "oval" (func $oval (param i32 i32 i32 i32)))
  (import "env" "line" (func $line (param i32 i32 i32 i32)))
  (import "env" "text" (func $text (param i32 i32 i32)))
  (import "env" "tone" (func $tone (param i32 i32 i32 i32)))"""
SPRITE = "\\1b\\e4\\4e\\b1" * 16  # 16x16 pixels at 2 bits each, as WAT string escapes
# the frame counter lives at 0x3000; the sprite at 0x2000, the text at 0x2100
BUSY = f"""(module {IMPORTS}
  (data (i32.const 0x2000) "{SPRITE}")
  (data (i32.const 0x2100) "busy cart 0123456789\\00")
  (func (export "update") (local $i i32) (local $f i32)
    (local.set $f (i32.add (i32.load (i32.const 0x3000)) (i32.const 1)))
    (i32.store (i32.const 0x3000) (local.get $f))
    (i32.store16 (i32.const 0x14) (i32.const 0x4321))
    (local.set $i (i32.const 0))
    (loop $blits
      (call $blit (i32.const 0x2000)
        (i32.sub (i32.rem_u (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $f)) (i32.const 176)) (i32.const 8))
        (i32.sub (i32.rem_u (i32.mul (local.get $i) (i32.const 13)) (i32.const 176)) (i32.const 8))
        (i32.const 16) (i32.const 16) (i32.or (i32.const 1) (i32.shl (i32.and (local.get $i) (i32.const 7)) (i32.const 1))))
      (br_if $blits (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))
    (i32.store16 (i32.const 0x14) (i32.const 0x0032))
    (local.set $i (i32.const 0))
    (loop $shapes
      (call $rect (i32.rem_u (i32.mul (local.get $i) (i32.const 3)) (i32.const 160))
        (i32.rem_u (i32.add (i32.mul (local.get $i) (i32.const 5)) (local.get $f)) (i32.const 160)) (i32.const 12) (i32.const 9))
      (call $oval (i32.rem_u (i32.mul (local.get $i) (i32.const 11)) (i32.const 160))
        (i32.rem_u (i32.mul (local.get $i) (i32.const 7)) (i32.const 160)) (i32.const 14) (i32.const 10))
      (call $line (local.get $f) (local.get $i) (i32.sub (i32.const 159) (local.get $i)) (i32.const 159))
      (br_if $shapes (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (local.set $i (i32.const 0))
    (loop $texts
      (call $text (i32.const 0x2100) (i32.const 0) (i32.mul (local.get $i) (i32.const 18)))
      (br_if $texts (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
    (call $tone (i32.add (i32.const 220) (i32.rem_u (local.get $f) (i32.const 200))) (i32.const 6) (i32.const 50)
      (i32.and (local.get $f) (i32.const 3)))))"""
EMPTY = f'(module {IMPORTS} (func (export "update")))'
CARTS = {"busy-cart": BUSY, "empty-cart": EMPTY}
TICK_LOOP = """(n) => {
  const client = window.layerw.client(), game = client.game;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { game.tick(client.inputs); game.takeNewTextures(); }
  return (performance.now() - t0) / n;
}"""


def build_carts(out_dir: Path) -> dict[str, Path]:
    """The bench carts assembled and built as cart build directories."""
    builds = {}
    for name, wat in CARTS.items():
        cart = out_dir / f"{name}.wasm"
        cart.write_bytes(wasmtime.wat2wasm(wat))
        builds[name] = build_cart(cart, out_dir / f"{name}-build", name=name)
    return builds


class NativeCart:
    """A cart on the native host, ticked with its frame texture made each tick."""

    def __init__(self, build: Path, engine: Engine) -> None:
        game = start_game(Bundle.open(build), engine)
        assert isinstance(game, CartGame)
        self.game = game
        self.inputs = InputState(1)

    def frame(self) -> None:
        self.game.tick(self.inputs)
        self.game.take_new_textures()

    def frames(self, count: int) -> None:
        for _ in range(count):
            self.frame()

    def ms_per_frame(self, frames: int) -> float:
        return timed(lambda: self.frames(frames)) / frames * 1000

    def close(self) -> None:
        self.game.close()


def measure(out_dir: Path, rounds: int, frames: int) -> dict[str, Any]:
    """ms per frame of each cart natively and in Chromium (median of interleaved rounds), and whether
    the hashes agree after the same ticks."""
    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="bench-carts-", dir=out_dir))
    proc = None
    try:
        builds = build_carts(scratch)
        store = LocalStore(scratch / "store")
        for build in builds.values():
            publish(build, store)
        proc, url = _serve(store.root)
        samples: dict[str, dict[str, list[float]]] = {name: {"native": [], "chromium": []} for name in CARTS}
        same: dict[str, bool] = {}
        with sync_playwright() as p, Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            natives = {name: NativeCart(build, engine) for name, build in builds.items()}
            try:
                pages = {}
                for name in CARTS:
                    page = browser.new_page()
                    page.goto(f"{url}/play/{name}?ticks=1&sound=0&renderer=webgl2")
                    page.wait_for_function("() => window.layerw && ['stopped', 'failed'].includes(window.layerw.status)")
                    if page.evaluate("window.layerw.status") == "failed":
                        raise RuntimeError(f"{name} failed in Chromium: {page.evaluate('window.layerw.error')}")
                    natives[name].frame()  # both at tick 1
                    pages[name] = page
                for name in CARTS:  # warm-up: let V8 tier the hot code up
                    natives[name].ms_per_frame(frames)
                    pages[name].evaluate(TICK_LOOP, frames)
                for _ in range(rounds):
                    for name in CARTS:
                        samples[name]["native"].append(natives[name].ms_per_frame(frames))
                        samples[name]["chromium"].append(float(pages[name].evaluate(TICK_LOOP, frames)))
                for name in CARTS:
                    same[name] = pages[name].evaluate("window.layerw.stateHash()") == natives[name].game.state_hash()
            finally:
                for native in natives.values():
                    native.close()
                browser.close()
        return {name: {"ms": {host: median(s) for host, s in by.items()}, "hashes_match": same[name],
                       "rounds": rounds, "frames": frames} for name, by in samples.items()}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    results = measure(out_dir, rounds, frames=60)
    t = table(f"Carts: ms per 60 Hz frame (tick + frame texture; median of {rounds} interleaved rounds of 60 frames)",
              "cart", "native", "Chromium", "Chromium / native", "native, of a frame", "hashes")
    for name, r in results.items():
        native, chromium = r["ms"]["native"], r["ms"]["chromium"]
        t.add_row(name, f"{native:.3f}", f"{chromium:.3f}", f"{chromium / native:.2f}x", f"{native / FRAME_MS * 100:.1f} %",
                  "same" if r["hashes_match"] else "DIFFER")
    notes = ["busy-cart: 256 16x16 2bpp blits (every flip and rotation), 64 rects, ovals and lines, 8 text lines and one "
             "tone a frame; empty-cart: the host's own cost (input registers, clear, the RGBA texture); the "
             "renderer's upload and draw are timed elsewhere (render, web); Chromium is SwiftShader-headless, "
             "figures are indicative on a shared machine"]
    return Section("carts", t, results, notes)
