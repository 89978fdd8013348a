"""Tracing: what OpenTelemetry tracing costs a frame at 10k sprites — off (the default) and on.

Off, ``Game.tick``/``Game.render`` read one module flag and make one extra Python call before
the work (``_tick``/``_render``); that is the whole cost. It is measured three ways: the frame as
shipped against the frame through the un-hooked bodies (interleaved rounds, medians), and the hooks
alone with the work stubbed out (many calls, so nanoseconds resolve). On, each tick and render is a
span, batched to an exporter that drops it (the SDK's cost without a collector's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import Section, table
from bench.timing import clock, median, us
from bench.workload import SPRITE_COUNT, open_game
from layerw.observability import tracing
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState

HOOK_CALLS = 200_000


class _Drop:
    """A span exporter that keeps nothing (the SpanExporter interface, duck-typed)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def run(out_dir: Path, sprites_build: Path, frames: int) -> Section:
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        game = open_game(sprites_build, engine)
        try:
            return _measure(game, frames)
        finally:
            game.close()


def _frames(game: Game, inputs: InputState, n: int, hooked: bool) -> list[float]:
    out = []
    for _ in range(n):
        t0 = clock()
        if hooked:
            game.tick(inputs)
            game.render()
        else:
            game._tick(inputs, ())
            game._render()
        out.append(clock() - t0)
    return out


def _hooks_alone(game: Game, inputs: InputState) -> tuple[float, float]:
    """Seconds per (tick + render) through the hooks, and straight to the stubs, work stubbed out."""
    game._tick = lambda inputs, events: None  # type: ignore[method-assign]
    game._render = lambda: memoryview(b"")  # type: ignore[method-assign]
    try:
        t0 = clock()
        for _ in range(HOOK_CALLS):
            game.tick(inputs)
            game.render()
        t1 = clock()
        for _ in range(HOOK_CALLS):
            game._tick(inputs, ())
            game._render()
        t2 = clock()
    finally:
        del game._tick, game._render
    return (t1 - t0) / HOOK_CALLS, (t2 - t1) / HOOK_CALLS


def _measure(game: Game, frames: int) -> Section:
    assert not tracing.enabled, "tracing must be off for the baseline (unset OTEL_EXPORTER_OTLP_ENDPOINT)"
    inputs = InputState()
    _frames(game, inputs, 30, True)  # warm-up
    rounds = 10
    shipped: list[float] = []
    bare: list[float] = []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        shipped += _frames(game, inputs, max(1, frames // rounds), True)
        bare += _frames(game, inputs, max(1, frames // rounds), False)
    hooked, direct = _hooks_alone(game, inputs)
    tracing.configure(_Drop(), batch=True)
    try:
        _frames(game, inputs, 30, True)
        on = _frames(game, inputs, frames, True)
    finally:
        tracing.shutdown()
    m_shipped, m_bare, m_on = median(shipped), median(bare), median(on)
    hook = hooked - direct
    data = {"frames": frames, "us": {"off": m_shipped * 1e6, "no_hooks": m_bare * 1e6, "on": m_on * 1e6},
            "hooks_off_ns_per_frame": hook * 1e9, "hooks_off_share": hook / m_bare if m_bare else 0.0,
            "on_extra_us_per_frame": (m_on - m_bare) * 1e6}
    t = table(f"Tracing cost per frame (tick + render) at {SPRITE_COUNT // 1000}k sprites (median of {frames} frames)",
              "path", "µs per frame", "vs no hooks")
    t.add_row("no hooks (the bodies called directly)", us(m_bare), "")
    t.add_row("tracing off: as shipped (the default)", us(m_shipped), f"{(m_shipped - m_bare) * 1e6:+.2f} µs")
    t.add_row("  of which the hooks, timed alone", f"{hook * 1e9:.0f} ns", f"{hook / m_bare * 100:.3f} %")
    t.add_row("tracing on: a span per tick and per render", us(m_on), f"{(m_on - m_bare) * 1e6:+.1f} µs")
    notes = [f"off, a frame pays one flag read and one extra call per tick and per render: {hook * 1e9:.0f} ns "
             f"({hook / m_bare * 100:.3f} % of the frame); the shipped-vs-bare medians differ by noise alone",
             "on, spans are batched to an exporter that drops them: the SDK's own cost, no network"]
    return Section("tracing", t, data, notes)
