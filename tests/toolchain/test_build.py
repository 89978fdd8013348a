"""The toolchain: real builds by zig, contract checks at build time, diagnostics, scaffolding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import CompileError, ConfigError, ContractError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold


def new_game(tmp_path: Path, source: str | None = None, lang: str = "c") -> Path:
    game = scaffold(tmp_path / "g", language=lang)
    if source is not None:
        (game / ("main.cpp" if lang == "cpp" else "main.c")).write_text(source)
    return game


def test_scaffold_builds_and_runs(tmp_path: Path, engine: Engine) -> None:
    out = build(new_game(tmp_path), tmp_path / "out")
    # the stripped module players get, and beside it what crash reports and debuggers read
    assert {p.name for p in out.out.iterdir()} == {"game.wasm", "layerw.toml", "assets", "game.symbols.json", "game.debug.wasm"}
    with Game(Bundle.open(out.out), engine) as game:
        for _ in range(10):
            game.tick(InputState())
        assert len(game.render()) > 0


def test_cpp_game_builds_and_runs(tmp_path: Path, engine: Engine) -> None:
    src = r'''
#include "layerw.h"
template <typename T> struct Vec2 { T x, y; Vec2 operator+(Vec2 o) const { return {x + o.x, y + o.y}; } };
static Vec2<float> pos{1, 2};
extern "C" void lw_game_init(uint64_t) {}
extern "C" void lw_game_tick(const lw_input *) { pos = pos + Vec2<float>{1, 1}; }
extern "C" void lw_game_render(lw_frame *f) { lw_rect(f, pos.x, pos.y, 2, 2, 0, 0, LW_RGB(1, 2, 3)); }
'''
    out = build(new_game(tmp_path, src, lang="cpp"), tmp_path / "out")
    with Game(Bundle.open(out.out), engine) as game:
        game.tick(InputState())
        assert len(game.render()) == 16 + 32


def test_compile_error_names_file_and_line(tmp_path: Path) -> None:
    game = new_game(tmp_path, '#include "layerw.h"\nvoid lw_game_init(uint64_t s) {\n  int x = ;\n}\n')
    with pytest.raises(CompileError, match=r"main\.c:3:\d+: error"):
        build(game, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_forgotten_entry_point_is_named(tmp_path: Path) -> None:
    src = '#include "layerw.h"\nvoid lw_game_init(uint64_t s) { (void)s; }\nvoid lw_game_tick(const lw_input *i) { (void)i; }\n'
    with pytest.raises(CompileError, match="lw_game_render"):
        build(new_game(tmp_path, src), tmp_path / "out")


def test_file_io_is_rejected_at_build_time(tmp_path: Path) -> None:
    src = r'''
#include "layerw.h"
#include <stdio.h>
void lw_game_init(uint64_t s) { (void)s; FILE *f = fopen("/etc/passwd", "r"); if (f) fclose(f); }
void lw_game_tick(const lw_input *i) { (void)i; }
void lw_game_render(lw_frame *f) { (void)f; }
'''
    with pytest.raises(ContractError, match="unknown import 'wasi_snapshot_preview1.path_open'"):
        build(new_game(tmp_path, src), tmp_path / "out")


def test_unknown_host_function_is_rejected_at_build_time(tmp_path: Path) -> None:
    src = r'''
#include "layerw.h"
__attribute__((import_module("layerw"), import_name("teleport"))) void teleport(int);
void lw_game_init(uint64_t s) { teleport((int)s); }
void lw_game_tick(const lw_input *i) { (void)i; }
void lw_game_render(lw_frame *f) { (void)f; }
'''
    with pytest.raises(ContractError, match="unknown import 'layerw.teleport'"):
        build(new_game(tmp_path, src), tmp_path / "out")


def test_preload_of_a_missing_asset_is_a_config_error(tmp_path: Path) -> None:
    game = new_game(tmp_path)
    toml = game / "layerw.toml"
    toml.write_text(toml.read_text().replace("preload = []", 'preload = ["nope.png"]'))
    with pytest.raises(ConfigError, match="nope.png"):
        build(game, tmp_path / "out")


def test_scaffold_refuses_to_overwrite(tmp_path: Path) -> None:
    new_game(tmp_path)
    with pytest.raises(ConfigError, match="not empty"):
        scaffold(tmp_path / "g")


def test_build_section_passes_cflags_and_defines_to_zig(tmp_path: Path, engine: Engine) -> None:
    src = r'''
#include "layerw.h"
#if !defined(LEVELS) || LEVELS != 12 || !defined(HUD) || STEP != 3
#error "[build] defines and cflags did not reach the compiler"
#endif
static int x;
void lw_game_init(uint64_t s) { (void)s; }
void lw_game_tick(const lw_input *i) { (void)i; x += STEP; }
void lw_game_render(lw_frame *f) { lw_rect(f, (float)x, 0, 2, 2, 0, 0, LW_RGB(1, 2, 3)); }
'''
    game = new_game(tmp_path, src)
    toml = game / "layerw.toml"
    toml.write_text(toml.read_text() + '\n[build]\ndefines = ["LEVELS=12", "HUD"]\ncflags = ["-DSTEP=3", "-Werror"]\n')
    out = build(game, tmp_path / "out")
    assert out.config.cflags == ("-DSTEP=3", "-Werror")
    with Game(Bundle.open(out.out), engine) as game_:
        game_.tick(InputState())
    # -Werror from [build] cflags turns a warning into a failed build
    (game / "main.c").write_text(src.replace("static int x;", "static int x; static int unused(void) { return 1; }"))
    with pytest.raises(CompileError, match="unused"):
        build(game, tmp_path / "out2")


def test_a_successful_build_keeps_the_compilers_warnings(tmp_path: Path) -> None:
    """Warnings reach the developer when the build succeeds too (`layerw build` prints them, `layerw dev`
    reports them); a clean build has none."""
    assert build(new_game(tmp_path), tmp_path / "clean").warnings == ()
    src = (tmp_path / "g" / "main.c").read_text().replace("static uint32_t color;",
                                                           "static uint32_t color;\nstatic int unused(void) { return 1; }")
    (tmp_path / "g" / "main.c").write_text(src)
    line = src.splitlines().index("static int unused(void) { return 1; }") + 1
    warnings = build(tmp_path / "g", tmp_path / "warned").warnings
    assert len(warnings) == 1 and f"main.c:{line}:" in warnings[0] and "warning: unused function 'unused'" in warnings[0]
    proc = subprocess.run([sys.executable, "-m", "layerw.cli", "build", str(tmp_path / "g"), "-o", str(tmp_path / "cli")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr  # the console writes to stderr
    assert f"main.c:{line}:" in said and "unused function 'unused'" in said
    assert "with compiler warnings (above)" in " ".join(said.split())
