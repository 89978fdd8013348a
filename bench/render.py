"""Render: WgpuRenderer.draw of the sprites game's frame vs the minimal wgpu baseline.

Both draw the same 10k sprites (the game's command list; the baseline gets its sprite records
as one array) with the same texture at 640x360, and each frame is timed until the queue reports
the work done, so the time is real even on a software adapter (lavapipe). Rounds interleave the
two. The last frames are read back and compared as a check that both drew the same scene.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.baseline import QuadBaseline, waiter
from bench.report import Section, table
from bench.timing import clock, median, ms, ratio
from bench.workload import SPRITE_COUNT, open_game
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState

WARMUP = 5


def frame_waiter(renderer: Any) -> Callable[[], object]:
    """Waits for the renderer's submitted work: on its device when it exposes one, else by
    reading the frame back (which waits too, and copies 0.9 MB more)."""
    device = getattr(renderer, "device", None)
    return waiter(device) if device is not None else renderer.read_pixels


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    from layerw.gfx.commands import parse
    from layerw.gfx.renderer import WgpuRenderer

    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        game = open_game(sprites_build, engine)
        try:
            inputs = InputState()
            for _ in range(59):  # one second in: sprites spread out, animation frames mixed
                game.tick(inputs)
            view = game.render()
            frame = parse(view)
            textures = {h: texture_image(game, h) for h in game.assets.newly_ready}
            sprite_batch = max(frame.batches, key=lambda b: b.count)
            sprites = np.ascontiguousarray(frame.instances[sprite_batch.first:sprite_batch.first + sprite_batch.count])
            clear = frame.clear if frame.clear is not None else 0xFF000000
            clear_rgba = tuple(((clear >> s) & 255) / 255 for s in (0, 8, 16, 24))
            width, height = game.config.width, game.config.height
            renderer = WgpuRenderer(width, height)
            baseline = QuadBaseline(width, height, textures[sprite_batch.texture], len(sprites))
            try:
                for handle, image in textures.items():
                    renderer.set_texture(handle, image)
                wait = frame_waiter(renderer)
                samples: dict[str, list[float]] = {k: [] for k in ("lw_submit", "lw", "base_submit", "base")}
                for i in range(WARMUP + rounds):
                    t0 = clock()
                    renderer.draw(view)
                    t1 = clock()
                    wait()
                    t2 = clock()
                    baseline.draw(sprites, clear_rgba)  # type: ignore[arg-type]
                    t3 = clock()
                    baseline.wait()
                    t4 = clock()
                    if i >= WARMUP:
                        for key, value in zip(samples, (t1 - t0, t2 - t0, t3 - t2, t4 - t2), strict=True):
                            samples[key].append(value)
                differing = pixels_differing(renderer.read_pixels(), baseline.read_pixels())
                adapter = adapter_name(renderer)
            finally:
                baseline.close()
                renderer.close()
        finally:
            game.close()
    m = {k: median(v) for k, v in samples.items()}
    data = {"ms": {k: v * 1e3 for k, v in m.items()}, "ratio": ratio(m["base"], m["lw"]),
            "sprites": len(sprites), "resolution": [width, height], "rounds": rounds,
            "pixels_differing": differing, "adapter": adapter}
    t = table(f"3. Render time per frame at {SPRITE_COUNT // 1000}k sprites, {width}x{height} "
              f"(median of {rounds} frames; {adapter})",
              "renderer", "draw() returns ms", "until GPU done ms", "ratio baseline / this")
    t.add_row("WgpuRenderer.draw(command list)", ms(m["lw_submit"]), ms(m["lw"]), f"{ratio(m['base'], m['lw']):.2f}")
    t.add_row("baseline: 1 pipeline, 1 instanced draw", ms(m["base_submit"]), ms(m["base"]), "1.00")
    notes = ["'draw() returns' = CPU side (WgpuRenderer: parse + upload + encode + submit; baseline: upload + "
             "encode + submit); 'until GPU done' adds the wait for the queue",
             f"check: {differing * 100:.2f}% of pixels differ between the two frames (the HUD is only in WgpuRenderer's)"]
    return Section("render", t, data, notes)


def texture_image(game: Any, handle: int) -> np.ndarray:
    asset = game.assets.get(handle)
    assert asset is not None and asset.image is not None, f"asset {handle} is not a ready image"
    image: np.ndarray = asset.image
    return image


def pixels_differing(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 8))


def adapter_name(renderer: Any) -> str:
    try:
        info = renderer.device.adapter.info
        return str(info.get("device") or info.get("description") or "wgpu")
    except Exception:  # the adapter's description is decoration only
        return "wgpu"
