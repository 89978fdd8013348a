"""WASM-4's own hostile carts (tests/hostile/wasm4, ISC): out-of-bounds blits, tracef with wild
pointers, integer overflow. Each runs ticks on the real host: bounded behaviour, never a crash,
never a read outside the cart's 64 KiB; the host stays healthy for the next call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import wasmtime

from layerw.cart import CartBundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.wasm4.cartgame import CartGame

HOSTILE = Path(__file__).resolve().parent / "wasm4"
TRACEF = {  # what each tracef cart prints: its wild argument becomes a marker, never a crash
    "tracef_double.wat": "<?>",  # a double that would reach past the end of memory
    "tracef_fmt.wat": "xxx",  # an unterminated format at the end of memory stops there
    "tracef_str.wat": "xxx",  # a %s string running off the end of memory stops there
    "tracef_strptr.wat": "<?>",  # the %s pointer itself lies past the end
}


def load(tmp_path: Path, engine: Engine, name: str) -> CartGame:
    path = tmp_path / f"{Path(name).stem}.wasm"
    path.write_bytes(wasmtime.wat2wasm((HOSTILE / name).read_text()))
    game = start_game(CartBundle(path), engine)
    assert isinstance(game, CartGame)
    return game


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTILE.glob("*.wat")))
def test_hostile_carts_run_bounded(name: str, tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with load(tmp_path, engine, name) as game:
        started = time.thread_time()  # the CPU the ticks took: bounded by the cart's CPU limit, whatever the machine's load
        for _ in range(5):
            game.tick(InputState(1))
        assert time.thread_time() - started < 2.0
        assert game.tick_count == 5 and len(game.state_hash()) == 64
        assert game.take_new_textures()[0][1].shape == (160, 160, 4)
        if name in TRACEF:
            assert list(game.traces) == [TRACEF[name]] * 5
        if "overflow" not in name and name.startswith("blit"):
            # the sprite's rows past the end of memory are not drawn, and the host says so (once per call, bounded)
            assert any("past the end of memory" in r.getMessage() for r in caplog.records)


def test_bad_argument_warnings_are_bounded(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with load(tmp_path, engine, "blit_1bpp.wat") as game:
        for _ in range(100):
            game.tick(InputState(1))
    warnings = [r for r in caplog.records if "past the end of memory" in r.getMessage()]
    assert len(warnings) == 16 and "further warnings are not logged" in warnings[-1].getMessage()


def test_overflowing_blit_sizes_draw_only_the_screen(tmp_path: Path, engine: Engine) -> None:
    with load(tmp_path, engine, "blit_2bpp_overflow.wat") as game:
        game.tick(InputState(1))
        drawn = game.cart.framebuffer.indices()
        assert drawn[:, 8:].max() == 0  # 8 pixels wide, clipped at the bottom of the screen: nothing beyond
