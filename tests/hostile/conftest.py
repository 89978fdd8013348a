"""Fixtures for hostile cases: the healthy game that ticks beside them, and a renderer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from layerw.errors import RenderError
from layerw.gfx.renderer import WgpuRenderer
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from tests.hostile.harness import COUNTER, Pacer
from tests.wat import bundle, contract_wat


@pytest.fixture(scope="package")
def pacer(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Pacer]:
    count = f"(i32.store (i32.const {COUNTER}) (i32.add (i32.load (i32.const {COUNTER})) (i32.const 1)))"
    healthy = bundle(tmp_path_factory.mktemp("healthy"), contract_wat(tick=count), name="healthy")
    p = Pacer(Game(healthy, engine))
    yield p
    p.close()


@pytest.fixture(scope="package")
def renderer() -> Iterator[WgpuRenderer]:
    """An offscreen renderer for hostile frames (skipped where no wgpu adapter exists)."""
    try:
        r = WgpuRenderer(64, 48)
    except RenderError as e:
        pytest.skip(str(e))
    with r:
        yield r
