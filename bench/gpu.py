"""GPU stream: host CPU per frame replaying a game's GPU commands vs a raw wgpu program doing the same,
and the frame time of the GPU sample (games/cubes) on this machine's adapter; then the same in
Chromium's WebGPU (SwiftShader) against a raw WebGPU program (bench/gpu_web.py).

The workload is N draws of one triangle, each after its own SET_BIND_GROUP (one of 16 groups, so
no two neighbouring draws batch): the worst case for a per-command replay. Layer-W's side is
``WgpuRenderer.draw`` of the command list (parse, check, replay, submit; a frame with nothing
2D skips the 2D pass, natively and in the browser); the
raw program records the same pass with the same resources straight on wgpu. Both run in this
process on one device, rounds interleaved; the CPU time is until ``draw`` returns, then both wait
for the queue so neither's GPU work spills into the other's time. Each side's CPU time on the
calling thread is taken too: on a loaded machine it is the steadier measure of the host's work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench import gpu_web
from bench.baseline import waiter
from bench.report import Section, table
from bench.timing import clock, median, ms, ratio, thread_clock
from bench.workload import ROOT

WARMUP = 3
DRAWS = (1000, 10000)
GROUPS = 16
W, H = 320, 240
WGSL = """
@group(0) @binding(0) var<uniform> offset: vec4f;
@vertex fn vs(@location(0) p: vec2f) -> @builtin(position) vec4f { return vec4f(p * 0.05 + offset.xy, 0.5, 1.0); }
@fragment fn fs() -> @location(0) vec4f { return vec4f(1.0, 0.5, 0.2, 1.0); }
"""
TRIANGLE = np.array([[-1, -1], [1, -1], [0, 1]], np.float32)


def offsets() -> np.ndarray:
    out = np.zeros((GROUPS, 64), np.float32)  # one 256-byte slot per group
    out[:, 0] = np.linspace(-0.9, 0.9, GROUPS)
    out[:, 1] = np.linspace(0.9, -0.9, GROUPS)
    return out


def stream(draws: int, shift: int = 0) -> bytes:
    """The frame a game would write: declarations (first frame only) are made separately. Draw i binds
    group 1 + (i + shift) % GROUPS: another ``shift`` is the same work from other bind groups."""
    from layerw import abi
    from layerw.gfx.gpuwriter import GpuWriter

    w = GpuWriter()
    w.begin_pass([(abi.GPU_FRAME, "clear", "store", (0.0, 0.0, 0.0, 1.0))])
    w.set_pipeline(1)
    w.set_vertex_buffer(0, 1)
    for i in range(draws):
        w.set_bind_group(0, 1 + (i + shift) % GROUPS)
        w.draw(3)
    w.end_pass()
    return w.getvalue()


def declarations() -> bytes:
    from layerw import abi
    from layerw.gfx.gpuwriter import GpuWriter

    u = abi.GPU_BUFFER_USAGE
    w = GpuWriter()
    w.gpu_reset()
    w.shader(1, WGSL)
    w.buffer(1, TRIANGLE.nbytes, u["VERTEX"] | u["COPY_DST"])
    w.write_buffer(1, 0, TRIANGLE.tobytes())
    w.buffer(2, offsets().nbytes, u["UNIFORM"] | u["COPY_DST"])
    w.write_buffer(2, 0, offsets().tobytes())
    w.pipeline(1, 1, "vs", "fs", buffers=[(8, "vertex", [(0, 0, "float32x2")])])
    for g in range(GROUPS):
        w.bind_group(1 + g, [(0, abi.GPU_KINDS["BUFFER"], 2, 256 * g, 16)], pipeline=1, group=0)
    return w.getvalue()


class RawProgram:
    """The same resources and pass, on wgpu directly."""

    def __init__(self, device: Any) -> None:
        import wgpu

        self.device = device
        self.target = device.create_texture(size=(W, H, 1), format="rgba8unorm",
                                            usage=wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.COPY_SRC)
        self.view = self.target.create_view()
        module = device.create_shader_module(code=WGSL)
        self.vertices = device.create_buffer_with_data(data=TRIANGLE.tobytes(), usage=wgpu.BufferUsage.VERTEX)
        self.uniforms = device.create_buffer_with_data(data=offsets().tobytes(), usage=wgpu.BufferUsage.UNIFORM)
        self.pipeline = device.create_render_pipeline(
            layout=wgpu.AutoLayoutMode.auto,
            vertex={"module": module, "entry_point": "vs", "buffers": [
                {"array_stride": 8, "step_mode": "vertex", "attributes": [
                    {"shader_location": 0, "offset": 0, "format": "float32x2"}]}]},
            primitive={"topology": "triangle-list"},
            fragment={"module": module, "entry_point": "fs", "targets": [{"format": "rgba8unorm"}]})
        layout = self.pipeline.get_bind_group_layout(0)
        self.groups = [device.create_bind_group(layout=layout, entries=[
            {"binding": 0, "resource": {"buffer": self.uniforms, "offset": 256 * g, "size": 16}}])
            for g in range(GROUPS)]

    def draw(self, draws: int) -> None:
        encoder = self.device.create_command_encoder()
        rp = encoder.begin_render_pass(color_attachments=[{
            "view": self.view, "load_op": "clear", "store_op": "store", "clear_value": (0, 0, 0, 1)}])
        rp.set_pipeline(self.pipeline)
        rp.set_vertex_buffer(0, self.vertices)
        groups = self.groups
        for i in range(draws):
            rp.set_bind_group(0, groups[i % GROUPS])
            rp.draw(3)
        rp.end()
        self.device.queue.submit([encoder.finish()])

    def close(self) -> None:
        self.target.destroy()
        self.vertices.destroy()
        self.uniforms.destroy()


def cubes_lists(bundle: Any, engine: Any) -> tuple[bytes, bytes]:
    """games/cubes' command lists: its first frame (which declares its GPU resources) and its frame 60 ticks in."""
    from layerw.runtime.game import Game
    from layerw.runtime.inputs import InputState

    with Game(bundle, engine) as game:
        game.tick(InputState())
        first = bytes(game.render())
        for _ in range(59):
            game.tick(InputState())
        return first, bytes(game.render())


def cubes_frames(out_dir: Path, rounds: int) -> dict[str, Any]:
    """games/cubes after 60 ticks: median ms of lw_render + parse/check/replay + 2D until the GPU is
    done (read back), and of the host side alone (until draw returns); and its command lists."""
    from layerw.bundle import Bundle
    from layerw.gfx.renderer import WgpuRenderer
    from layerw.play.gamebuild import build_game
    from layerw.play.runner import Runner
    from layerw.runtime.engine import CpuLimit, Engine
    from layerw.runtime.game import Game

    built, _ = build_game(ROOT / "games" / "cubes", out_dir / "cubes")
    bundle = Bundle.open(built.out)
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine, Game(bundle, engine) as game, \
            WgpuRenderer(bundle.config.width, bundle.config.height) as renderer:
        runner = Runner(game, renderer)
        runner.run_headless(60)
        host, total = [], []
        for i in range(WARMUP + rounds):
            t0 = clock()
            runner.frame()
            t1 = clock()
            renderer.read_pixels()
            t2 = clock()
            if i >= WARMUP:
                host.append(t1 - t0)
                total.append(t2 - t0)
            runner.step()
        return {"host": median(host), "total": median(total), "lists": cubes_lists(bundle, engine), "build": built.out}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    from layerw.gfx.renderer import WgpuRenderer

    renderer = WgpuRenderer(W, H)
    raw = RawProgram(renderer.device)
    wait = waiter(renderer.device)
    results: dict[int, dict[str, float]] = {}
    adapter = str(renderer.device.adapter.info.get("device", "wgpu"))
    try:
        renderer.draw(declarations())
        for draws in DRAWS:
            frame = stream(draws)
            samples: dict[str, list[float]] = {"layerw": [], "raw": [], "layerw_cpu": [], "raw_cpu": []}
            for i in range(WARMUP + rounds):
                t0, c0 = clock(), thread_clock()
                renderer.draw(frame)
                t1, c1 = clock(), thread_clock()
                wait()
                t2, c2 = clock(), thread_clock()
                raw.draw(draws)
                t3, c3 = clock(), thread_clock()
                wait()
                if i >= WARMUP:
                    samples["layerw"].append(t1 - t0)
                    samples["raw"].append(t3 - t2)
                    samples["layerw_cpu"].append(c1 - c0)
                    samples["raw_cpu"].append(c3 - c2)
            results[draws] = {k: median(v) for k, v in samples.items()} | {"bytes": float(len(frame))}
    finally:
        raw.close()
        renderer.close()
    t = table(f"GPU stream: host CPU per frame, N draws each after a bind group switch (median of {rounds})",
              "where", "draws", "stream bytes", "Layer-W draw() ms", "raw ms", "Layer-W / raw",
              "thread CPU ms (Layer-W / raw)")
    for draws, m in results.items():
        t.add_row(f"native wgpu ({adapter})", f"{draws:,}", f"{int(m['bytes']):,}", ms(m["layerw"]), ms(m["raw"]),
                  f"{1 / ratio(m['raw'], m['layerw']):.2f}",
                  f"{ms(m['layerw_cpu'])} / {ms(m['raw_cpu'])} = {m['layerw_cpu'] / m['raw_cpu']:.2f}")
    cubes = cubes_frames(out_dir, rounds)
    notes = ["Layer-W = parse + check + replay of the GPU commands (the draws' blocks as one run of numpy rows), "
             "submit, and the 2D pass where there is 2D to draw; raw = the same pass recorded straight on wgpu-py "
             "(natively) or on the page's GPUDevice (Chromium); both on one device, waited for between rounds",
             "Chromium: both sides draw into an offscreen target and copy it to the canvas's current texture "
             "(both present, one submit per frame); host = JS time from the frame's first command until its "
             f"submit returns, each frame its own task {gpu_web.GAP_MS} ms after the last was done, the two sides' "
             "order alternating by round, "
             f"{gpu_web.ROUND_FACTOR}x the rounds; Layer-W / raw is the ratio of the medians, then the median of "
             "each round's Layer-W frame over its raw frame",
             "Chromium: each size's frames are one list drawn again and again, as a game's scene is from frame to "
             "frame, so the browser's check takes the last frame's verdict (layerw/web/gpumemo.js) and its run of "
             "draws, the last frame's calls, is executed from a render bundle recorded once (layerw/web/gpubundle.js; "
             "the raw program makes its 2 x N calls each frame); 'unlike the last' draws two lists in turn (the same "
             "work from other bind groups), so every frame is checked whole and makes its calls one by one"]
    web: dict[str, Any] = {}
    try:
        raw_setup = {"wgsl": WGSL, "triangle": TRIANGLE.ravel().tolist(), "offsets": offsets().ravel().tolist(),
                     "groups": GROUPS, "width": W, "height": H}
        web = gpu_web.measure(cubes["build"], out_dir, rounds, declarations(), {n: stream(n) for n in DRAWS},
                              (stream(DRAWS[0], 1), stream(DRAWS[0], 2)), cubes["lists"], raw_setup)
    except Exception as e:  # no Chromium or no WebGPU adapter here: the native rows still mean something
        notes.append(f"Chromium: no rows, {type(e).__name__}: {e}")
    for draws in DRAWS if web else ():
        lw, rw = web[f"layerw {draws}"]["host_ms"], web[f"raw {draws}"]["host_ms"]
        t.add_row("Chromium WebGPU (SwiftShader)", f"{draws:,}", f"{int(results[draws]['bytes']):,}", ms(lw / 1e3),
                  ms(rw / 1e3), f"{lw / rw:.2f} (rounds' median {web[f'ratio {draws}']:.2f})", "")
    if web:
        lw, rw = web["layerw changing"]["host_ms"], web["raw changing"]["host_ms"]
        t.add_row("Chromium WebGPU (SwiftShader), each frame's list unlike the last", f"{DRAWS[0]:,}",
                  f"{int(results[DRAWS[0]]['bytes']):,}", ms(lw / 1e3), ms(rw / 1e3),
                  f"{lw / rw:.2f} (rounds' median {web['ratio changing']:.2f})", "")
    sample = table(f"games/cubes (4096 instanced cubes, post pass, HUD) per frame on {adapter} (median of {rounds})",
                   "part", "ms")
    sample.add_row("host: lw_render + parse + check + replay + 2D, until draw returns", ms(cubes["host"]))
    sample.add_row("until the frame is read back (GPU done)", ms(cubes["total"]))
    if web:
        sample.add_row("Chromium WebGPU (SwiftShader), its list: parse + check + replay + 2D, until draw returns",
                       ms(web["cubes"]["host_ms"] / 1e3))
        sample.add_row("Chromium WebGPU (SwiftShader): until onSubmittedWorkDone", ms(web["cubes"]["done_ms"] / 1e3))
    data: dict[str, object] = {str(k): {"layerw_ms": v["layerw"] * 1e3, "raw_ms": v["raw"] * 1e3, "stream_bytes": v["bytes"],
                     "ratio_layerw_over_raw": v["layerw"] / v["raw"], "layerw_cpu_ms": v["layerw_cpu"] * 1e3,
                     "raw_cpu_ms": v["raw_cpu"] * 1e3, "cpu_ratio": v["layerw_cpu"] / v["raw_cpu"]}
                               for k, v in results.items()}
    data["cubes"] = {"host_ms": cubes["host"] * 1e3, "frame_ms": cubes["total"] * 1e3, "adapter": adapter}
    data["chromium"] = web
    return Section("gpu", t, data | {"rounds": rounds}, notes, more=[sample])
