"""Profile: ``layerw run --profile N out.json``, a Chrome trace of N frames with guest function names.

The trace is the Trace Event Format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing
open. It is made in two passes over the same seed and inputs (the game is deterministic, so both
see the same states):

1. **Timed**: each frame as nested spans, ``frame`` ⊃ ``tick`` (the guest's lw_tick), ``sound``
   (mixing the tick's sound block), ``render`` (lw_render) and ``present`` (the renderer's draw
   on the GPU, offscreen), measured with ``perf_counter`` on the engine the run asked for.
2. **Sampled**: guest functions under ``tick`` and ``render``. wasmtime offers no way to read a
   running guest's stack from outside (its profilers write perf maps or jitdump files, which these
   viewers do not open), but a trap carries the whole backtrace. So a second instance runs on a
   fuel-metered engine (``FuelProbe``): per call it measures the fuel the call burns (about one
   unit per wasm instruction), then re-runs the call ``samples`` times from a snapshot, each time
   with fuel for only a fraction k/samples of it; the out-of-fuel trap's frames, named from the
   build's symbols, are the stack at that point. Samples are placed evenly in the timed call's
   span and merged into nested slices: widths are shares of instructions, scaled to the measured
   time (exact in instruction count, approximate in time). A component gets the timed spans only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import wasmtime

from layerw.bundle import Bundle
from layerw.errors import GameTimedOut
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier

if TYPE_CHECKING:
    from layerw.gfx.renderer import WgpuRenderer
    from layerw.runtime.gamehost import GameHost

SAMPLES = 16  # stack samples per guest call
FULL_FUEL = 1 << 62  # the measuring run's budget: never runs out
PID, TID = 1, 1


class FuelProbe(Engine):
    """A fuel-metered engine whose next call gets exactly ``fuel`` units (then traps out of fuel)."""

    def __init__(self) -> None:
        super().__init__(CpuLimit.FUEL)
        self.fuel = FULL_FUEL

    def arm(self, store: wasmtime.Store, deadline_ms: int) -> None:
        store.set_fuel(self.fuel)


@dataclass(frozen=True)
class Sample:
    """One stack, outermost first, as (function, "file:line") pairs."""

    stack: tuple[tuple[str, str], ...]


class Sampler:
    """Stacks of a game's calls, by fuel: ``tick(inputs)`` and ``render()`` each return
    ``samples`` stacks in instruction order and leave the game as one plain call would."""

    def __init__(self, bundle: Bundle, seed: int, samples: int = SAMPLES) -> None:
        self.engine = FuelProbe()
        game = start_game(bundle, self.engine, seed=seed, audio=False, tier=Tier.WASMTIME)  # fuel traps carry its stacks
        assert isinstance(game, Game), "components are not sampled (see profile)"
        self.game = game
        self.samples = samples

    def _sample(self, run: Callable[[], object]) -> list[Sample]:
        snap = self.game.snapshot()
        self.engine.fuel = FULL_FUEL
        run()
        burned = FULL_FUEL - self.game.store.get_fuel()
        out: list[Sample] = []
        for k in range(self.samples):
            self.game.restore(snap)
            self.engine.fuel = max(1, burned * (2 * k + 1) // (2 * self.samples))
            try:
                run()
            except GameTimedOut as e:  # out of fuel: the stack at that instruction
                out.append(Sample(tuple((str(f["function"]), f"{f['file']}:{f['line']}" if f["file"] else "")
                                        for f in reversed(e.frames))))
            else:
                out.append(Sample(()))  # the call ended first (fuel rounding): no stack
        self.game.restore(snap)
        self.engine.fuel = FULL_FUEL
        run()
        return out

    def tick(self, inputs: InputState) -> list[Sample]:
        return self._sample(lambda: self.game.tick(inputs))

    def render(self) -> list[Sample]:
        return self._sample(self.game.render)

    def close(self) -> None:
        self.game.close()
        self.engine.close()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Trace:
    """Trace Event Format events (microseconds), written as one JSON object."""

    def __init__(self, game: str) -> None:
        self.events: list[dict[str, Any]] = [
            {"name": "process_name", "ph": "M", "pid": PID, "args": {"name": f"layerw {game}"}},
            {"name": "thread_name", "ph": "M", "pid": PID, "tid": TID, "args": {"name": "frames"}},
        ]
        self.origin = time.perf_counter()

    def now(self) -> float:
        return (time.perf_counter() - self.origin) * 1e6

    def span(self, name: str, start: float, end: float, category: str = "frame", **args: Any) -> None:
        self.events.append({"name": name, "cat": category, "ph": "X", "ts": round(start, 3),
                            "dur": round(max(end - start, 0.001), 3), "pid": PID, "tid": TID, "args": args})

    def samples(self, samples: list[Sample], start: float, end: float) -> None:
        """Stacks placed evenly in [start, end), consecutive equal frames merged, depth by depth."""
        slot = (end - start) / max(len(samples), 1)
        self._runs(samples, 0, 0, len(samples), start, slot)

    def _runs(self, samples: list[Sample], depth: int, lo: int, hi: int, start: float, slot: float) -> None:
        i = lo
        while i < hi:
            stack = samples[i].stack
            if len(stack) <= depth:
                i += 1
                continue
            j = i + 1
            while j < hi and len(samples[j].stack) > depth and samples[j].stack[depth][0] == stack[depth][0]:
                j += 1
            function, where = stack[depth]
            self.span(function, start + i * slot, start + j * slot, "guest", source=where, samples=j - i)
            self._runs(samples, depth + 1, i, j, start, slot)
            i = j

    def write(self, path: Path, other: dict[str, Any]) -> None:
        path.write_text(json.dumps({"traceEvents": self.events, "displayTimeUnit": "ms", "otherData": other}))


def profile(game: GameHost, bundle: Bundle, renderer: WgpuRenderer, frames: int, out: Path, *, seed: int = 0,
            players: int = 1, recording: Recording | None = None, samples: int = SAMPLES) -> int:
    """Run ``frames`` frames of ``game`` (just started with ``seed``) and write their trace to
    ``out``; returns the number of guest stacks sampled. The sampling pass runs after the timed
    one, so it disturbs none of its measurements."""
    trace = Trace(bundle.config.name)
    calls: list[tuple[float, float, float, float]] = []  # per frame: tick and render spans
    inputs = InputState(players)
    for _ in range(frames):
        if recording is not None:
            recording.apply(inputs, game.tick_count)
        tick = game.tick_count
        t0 = trace.now()
        game.tick(inputs)
        t1 = trace.now()
        game.take_samples()
        t2 = trace.now()
        for handle, image in game.take_new_textures():
            renderer.set_texture(handle, image)
        commands = game.render()
        t3 = trace.now()
        renderer.draw(commands)
        renderer.finish()
        t4 = trace.now()
        trace.span("frame", t0, t4, tick=tick)
        trace.span("tick", t0, t1, tick=tick)
        trace.span("sound", t1, t2)
        trace.span("render", t2, t3)
        trace.span("present", t3, t4)
        calls.append((t0, t1, t2, t3))
    taken = 0
    if bundle.config.component:  # its guest runs behind the component's canonical ABI: no fuel probe here
        note = "none: a component's calls are not sampled"
    else:
        sampler = Sampler(bundle, seed, samples)
        note = (f"fuel: {samples} stacks per guest call, placed by instruction count within the call's measured time; "
                "wasmtime checks fuel at calls and loop back-edges, so a stack is taken at the next such point "
                "(none when the call ends first)")
        with sampler:
            inputs = InputState(players)
            for t0, t1, t2, t3 in calls:
                if recording is not None:
                    recording.apply(inputs, sampler.game.tick_count)
                ticked, rendered = sampler.tick(inputs), sampler.render()
                trace.samples(ticked, t0, t1)
                trace.samples(rendered, t2, t3)
                taken += sum(1 for s in (*ticked, *rendered) if s.stack)
    trace.write(out, {"game": bundle.config.name, "frames": frames, "seed": seed, "sampling": note})
    return taken
