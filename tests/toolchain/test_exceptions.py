"""C++ with exceptions and RTTI ([build] exceptions, rtti): built by the project's toolchain with its
exception runtime, run by wasmtime with Wasm exception handling; refused plainly where it cannot go."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.errors import CompileError, ConfigError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

THROWS = r'''
#include <stdexcept>
#include <string>
#include <typeinfo>
#include "layerw.h"
struct Shape { virtual ~Shape() {} virtual float area() const = 0; };
struct Square : Shape { float s; explicit Square(float s) : s(s) {} float area() const override { return s * s; } };
struct Guard { int *count; ~Guard() { ++*count; } };  /* destructors run while unwinding */
static int caught, unwound, squares;
static float last;
static float risky(int tick) {
    Guard g{&unwound};
    if (tick % 3 == 2) throw std::out_of_range("tick " + std::to_string(tick));
    return (float)tick;
}
extern "C" void lw_game_init(uint64_t) {}
extern "C" void lw_game_tick(const lw_input *in) {
    try { last = risky((int)in->tick); } catch (const std::exception &e) { caught++; last = -1; }
    Square sq(2);
    Shape *shape = &sq;
    if (dynamic_cast<Square *>(shape) && typeid(*shape) == typeid(Square)) squares++;
}
extern "C" void lw_game_render(lw_frame *f) { lw_rect(f, (float)caught, (float)unwound, (float)squares, last, 0, 0, 1); }
'''


def cpp_game(tmp: Path, source: str, build_section: str) -> Path:
    game = scaffold(tmp / "cpp", language="cpp")
    (game / "main.cpp").write_text(source)
    (game / "layerw.toml").write_text((game / "layerw.toml").read_text() + build_section)
    return game


def test_exceptions_and_rtti_run(tmp_path: Path, engine: Engine) -> None:
    out = build(cpp_game(tmp_path, THROWS, "\n[build]\nexceptions = true\nrtti = true\n"), tmp_path / "out")
    with Game(Bundle.open(out.out), engine) as game:
        for _ in range(9):
            game.tick(InputState())
        x, y, w, h = np.frombuffer(bytes(game.render()), np.float32, 4, 16)  # a copy: the view dies with the game
    assert (x, y, w, h) == (3.0, 9.0, 9.0, -1.0)  # ticks 2, 5, 8 threw and were caught; every Guard ran


def test_without_the_switch_the_compiler_says_so(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="exceptions"):  # clang: "cannot use 'throw' with exceptions disabled"
        build(cpp_game(tmp_path, THROWS, "\n[build]\nrtti = true\n"), tmp_path / "out")


def test_component_builds_refuse_exceptions(tmp_path: Path) -> None:
    game = cpp_game(tmp_path, THROWS, "\n[build]\nexceptions = true\n")
    with pytest.raises(ConfigError, match=r"\[build\] exceptions is not supported in component builds"):
        build(game, tmp_path / "out", component=True)
