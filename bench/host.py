"""Host: what one frame at 10k sprites costs the Python host, GPU excluded.

A frame is ``game.tick(inputs)`` (input packing, copy into guest memory, the lw_tick call),
``game.render()`` (the lw_render call, a zero-copy view of the command list) and
``layerw.gfx.commands.parse`` of that view (numpy batches ready for upload). Calls into the guest
are counted by wrapping ``wasmtime.Func.__call__``, the only way Python enters wasm; the guest
work alone is timed on the raw exports, so the host's own share shows as the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import wasmtime

from bench.report import Section, table
from bench.timing import clock, median, us
from bench.workload import DEADLINE_MS, SPRITE_COUNT, guest_export, open_game
from layerw.gfx.commands import parse
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.inputs import InputState

FRAME_BUDGET_S = 1 / 60
CPU_LIMIT = CpuLimit.EPOCH  # what an in-process host runs games under


@contextmanager
def counting_guest_calls() -> Iterator[list[str]]:
    """Every Python -> wasm call made inside the block, by export name where known."""
    calls: list[str] = []
    original = wasmtime.Func.__call__

    def counted(self: wasmtime.Func, store: Any, *args: Any) -> Any:
        calls.append(getattr(self, "_bench_name", "?"))
        return original(self, store, *args)

    wasmtime.Func.__call__ = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        wasmtime.Func.__call__ = original  # type: ignore[method-assign]


def run(out_dir: Path, sprites_build: Path, frames: int) -> Section:
    with Engine(CPU_LIMIT, cache=out_dir / "modules") as engine:
        game = open_game(sprites_build, engine)
        try:
            return _measure(game, engine, frames)
        finally:
            game.close()


def _measure(game: Any, engine: Engine, frames: int) -> Section:
    inputs = InputState()
    raw_tick, raw_render = guest_export(game, "lw_tick"), guest_export(game, "lw_render")
    for name in ("lw_tick", "lw_render"):
        guest_export(game, name)._bench_name = name
    for _ in range(30):  # warm-up
        game.tick(inputs)
        parse(game.render())
    with counting_guest_calls() as calls:
        game.tick(inputs)
        view = game.render()
    frame = parse(view)
    sprites = sum(b.count for b in frame.batches if b.texture > 0)

    tick, render, parsing, guest_tick, guest_render = [], [], [], [], []
    for _ in range(frames):
        t0 = clock()
        game.tick(inputs)
        t1 = clock()
        view = game.render()
        t2 = clock()
        parse(view)
        t3 = clock()
        engine.arm(game.store, DEADLINE_MS)
        raw_tick(game.store)
        t4 = clock()
        raw_render(game.store)
        t5 = clock()
        tick.append(t1 - t0)
        render.append(t2 - t1)
        parsing.append(t3 - t2)
        guest_tick.append(t4 - t3)
        guest_render.append(t5 - t4)

    m = {k: median(v) for k, v in (("tick", tick), ("render", render), ("parse", parsing),
                                   ("guest_tick", guest_tick), ("guest_render", guest_render))}
    total = m["tick"] + m["render"] + m["parse"]
    data = {
        "cpu_limit": CPU_LIMIT.value, "frames": frames, "sprites_in_command_list": sprites,
        "command_list_bytes": len(view), "guest_calls_per_frame": len(calls), "guest_calls": calls,
        "us": {k: v * 1e6 for k, v in m.items()} | {"total": total * 1e6},
        "share_of_60hz_frame": total / FRAME_BUDGET_S,
    }
    t = table(f"2. Host cost per frame at {SPRITE_COUNT // 1000}k sprites, GPU excluded "
              f"(median of {frames} frames, CpuLimit.{CPU_LIMIT.name})",
              "step", "µs per frame", "of which guest", "host share")
    t.add_row(f"calls into the guest ({', '.join(calls)})", str(len(calls)), "", "")
    t.add_row("game.tick(inputs)", us(m["tick"]), us(m["guest_tick"]), us(m["tick"] - m["guest_tick"]))
    t.add_row("game.render() -> memoryview", us(m["render"]), us(m["guest_render"]), us(m["render"] - m["guest_render"]))
    t.add_row(f"commands.parse ({len(view) // 1024} KiB)", us(m["parse"]), "", us(m["parse"]))
    host = total - m["guest_tick"] - m["guest_render"]
    t.add_row("total host time per frame", us(total), us(total - host), us(host), style="bold")
    notes = [f"{total / FRAME_BUDGET_S * 100:.1f}% of a 60 Hz frame (16.7 ms); {sprites} sprites parsed per frame; "
             "'guest' = the raw lw_tick / lw_render exports timed alone in the same frames"]
    return Section("host", t, data, notes)
