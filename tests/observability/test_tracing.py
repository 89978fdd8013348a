"""Tracing: off by default and free; when on, spans for each stage reach the configured exporter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from layerw.cli import _parser
from layerw.config import GameConfig
from layerw.errors import GameCrashed
from layerw.observability import tracing
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store.bundle import StoreBundle
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.session.wire import INPUT_TICK, Connection, room_host, wat_game
from tests.wat import contract_wat


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def names(exporter: InMemorySpanExporter) -> list[str]:
    return [s.name for s in exporter.get_finished_spans()]


def test_off_by_default_at_no_cost() -> None:
    assert tracing.enabled is False
    assert tracing.span("tick", game="x") is tracing.span("render")  # one shared no-op context, no span built

    def fn() -> int:
        return 1

    assert tracing.carry(fn) is fn


def test_a_game_traces_compile_instantiate_tick_and_render(spans: InMemorySpanExporter, tmp_path: Path,
                                                          engine: Engine) -> None:
    with Game(wat_game(tmp_path), engine) as game:
        inputs = InputState()
        for _ in range(3):
            game.tick(inputs)
        game.render()
    assert names(spans) == ["compile", "instantiate", "tick", "tick", "tick", "render"]
    ticks = [s for s in spans.get_finished_spans() if s.name == "tick"]
    assert [s.attributes["layerw.tick"] for s in ticks] == [0, 1, 2]  # type: ignore[index]
    assert {s.attributes["layerw.game"] for s in ticks} == {"wat"}  # type: ignore[index]


def test_a_trap_marks_its_tick_span_failed(spans: InMemorySpanExporter, tmp_path: Path, engine: Engine) -> None:
    with Game(wat_game(tmp_path, tick=f"(if (i32.eq {INPUT_TICK} (i32.const 1)) (then unreachable))"), engine) as game:
        game.tick(InputState())
        with pytest.raises(GameCrashed):
            game.tick(InputState())
    failed = spans.get_finished_spans()[-1]
    assert failed.name == "tick" and failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]


def build_with_assets(root: Path) -> Path:
    """A WAT game with two preload assets, so loading fetches several chunks on a thread pool."""
    build = root / "build"
    (build / "assets").mkdir(parents=True)
    import wasmtime

    (build / "game.wasm").write_bytes(wasmtime.wat2wasm(contract_wat()))
    for name in ("a.bin", "b.bin"):
        (build / "assets" / name).write_bytes(name.encode() * 1000)
    config = GameConfig.from_dict({"game": {"name": "traced", "version": "1.0.0"},
                                   "assets": {"preload": ["a.bin", "b.bin"]}})
    (build / "layerw.toml").write_text(config.to_toml())
    return build


def test_publish_load_and_chunk_fetch_spans_nest(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish(build_with_assets(tmp_path), store)
    assert names(spans) == ["publish"]
    published = spans.get_finished_spans()[0].attributes
    assert published is not None and published["layerw.game"] == "traced" and published["layerw.bytes"] > 0
    spans.clear()
    with StoreBundle(store.url, "traced", cache_dir=tmp_path / "cache"):
        pass
    finished = spans.get_finished_spans()
    [load] = [s for s in finished if s.name == "load"]
    fetches = [s for s in finished if s.name == "chunk fetch"]
    assert len(fetches) == 3  # the module and two assets, each one chunk
    assert all(s.parent is not None and s.parent.span_id == load.context.span_id for s in fetches)
    assert load.attributes is not None and load.attributes["layerw.game"] == "traced"


def test_a_join_is_a_span(spans: InMemorySpanExporter, tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> None:
        c = Connection().open(host, "wat", "lobby")
        await c.welcome()
        c.put(None)
        await c.ended()
        await host.close()

    asyncio.run(story())
    [join] = [s for s in spans.get_finished_spans() if s.name == "join"]
    assert join.attributes is not None
    assert (join.attributes["layerw.game"], join.attributes["layerw.room"], join.attributes["layerw.role"]) == ("wat", "lobby", 0)


def test_turned_on_by_the_otlp_endpoint_variable_or_trace_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*tracing.ENDPOINT_VARS, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    try:
        assert tracing.configure_from_env() is False
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing is exported: no spans
        assert tracing.configure_from_env() is True
        processor: Any = tracing._provider._active_span_processor._span_processors[0]
        assert type(processor).__name__ == "BatchSpanProcessor"
        assert type(processor._batch_processor._exporter).__name__ == "OTLPSpanExporter"
        tracing.shutdown()
        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
        assert tracing.configure_from_env() is False
    finally:
        tracing.shutdown()
    assert tracing.enabled is False
    assert _parser().parse_args(["serve", "--trace"]).trace is True
    assert _parser().parse_args(["run", "x"]).trace is False
