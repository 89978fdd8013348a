"""ObjectCache: an unchanged game source is not compiled again and still shows its warnings; a
changed header it includes compiles it afresh (real builds with the project's zig)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from layerw.toolchain import zig
from layerw.toolchain.build import build
from layerw.toolchain.compiler import compile_module
from layerw.toolchain.objcache import ObjectCache, read_depfile
from layerw.toolchain.scaffold import scaffold

SOURCE = """#include "layerw.h"
#include "tune.h"
static uint32_t ticks;
static int unused(void) { return 1; }
void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) { (void)in; ticks += STEP; }
void lw_game_render(lw_frame *f) { lw_clear(f, LW_RGB(0, 0, ticks & 255)); }
"""


class ZigSpy:
    """The real ``zig.run``, with the game source's compiles counted."""

    def __init__(self, source: Path) -> None:
        self.source = str(source)
        self.real = zig.run
        self.compiles = 0

    def __call__(self, args: list[str], *rest: Any, **options: Any) -> subprocess.CompletedProcess[str]:
        if "-c" in args and self.source in args:
            self.compiles += 1
        return self.real(args, *rest, **options)


@pytest.fixture
def game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERW_CACHE_DIR", str(tmp_path / "cache"))  # a cache of this test's own
    path = scaffold(tmp_path / "g")
    (path / "main.c").write_text(SOURCE)
    (path / "tune.h").write_text("#define STEP 1\n")
    return path


def test_an_unchanged_source_is_not_compiled_and_keeps_its_warning(game: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spy = ZigSpy(game / "main.c")
    monkeypatch.setattr(zig, "run", spy)
    first = build(game, tmp_path / "b1")
    assert first.compiled == (game / "main.c",) and spy.compiles == 1
    [warning] = first.warnings
    assert "main.c:4:" in warning and "unused function 'unused'" in warning
    second = build(game, tmp_path / "b2")
    assert second.compiled == () and spy.compiles == 1  # zig never saw main.c again
    assert second.warnings == first.warnings  # ... and the warning is shown again
    assert (tmp_path / "b2" / "game.wasm").read_bytes() == (tmp_path / "b1" / "game.wasm").read_bytes()
    (game / "tune.h").write_text("#define STEP 7\n")  # a header the source includes
    third = build(game, tmp_path / "b3")
    assert third.compiled == (game / "main.c",) and spy.compiles == 2
    assert third.warnings == first.warnings
    assert (tmp_path / "b3" / "game.wasm").read_bytes() != (tmp_path / "b1" / "game.wasm").read_bytes()


def test_a_damaged_entry_compiles_again(game: Path, tmp_path: Path) -> None:
    build(game, tmp_path / "b1")
    [entry] = [p for p in (tmp_path / "cache" / "objects").rglob("*") if p.is_file()]
    entry.write_bytes(b"\x05")
    again = build(game, tmp_path / "b2")
    assert again.compiled == (game / "main.c",) and len(again.warnings) == 1
    assert build(game, tmp_path / "b3").compiled == ()  # the entry was written whole again


def test_depfiles_escapes_and_continuations(tmp_path: Path) -> None:
    text = "out.o: a.c /inc/my\\ header.h \\\n  rel/b.h \\\r\n /x/$$y.h\n"
    assert read_depfile(text, tmp_path) == [tmp_path / "a.c", Path("/inc/my header.h"), tmp_path / "rel" / "b.h",
                                            Path("/x/$y.h")]


def test_a_cache_that_cannot_be_written_only_costs_a_compile(game: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    cache = ObjectCache(blocked / "objects")
    for i in range(2):
        made = compile_module([game / "main.c"], tmp_path / f"m{i}.wasm", cache=cache)
        assert made.compiled == (game / "main.c",) and "unused function" in made.warnings[0]
    assert cache.misses == 2 and "it compiles again next time" in caplog.text
