"""A component's lw_io gets every check a core module's gets (one function, iolayout.check_io)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from layerw.bundle import MODULE_NAME, Bundle
from layerw.errors import InvalidModule
from layerw.runtime import iolayout
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

# lw_game_init runs after the runtime filled lw__io: the seed picks which field lies.
LIAR = r"""
#include "layerw.h"
extern lw_io lw__io;
void lw_game_init(uint64_t seed) {
    if (seed == 1) lw__io.cmd_capacity = 0xFFFFFFF0u;          /* commands far outside memory */
    if (seed == 2) lw__io.input_ptr = 0xFFFFFF00u;             /* input block past memory */
    if (seed == 3) lw__io.cmd_capacity = 2;                    /* no room for the scratch tail */
    if (seed == 4) lw__io.state_begin = lw__io.cmd_ptr + 16;   /* state starts after the commands */
}
void lw_game_tick(const lw_input *in) { (void)in; }
void lw_game_render(lw_frame *f) { (void)f; }
"""
LIES = {1: "commands", 2: "input", 3: "commands", 4: "state from"}


@pytest.fixture(scope="module")
def liar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "liar"
    scaffold(src)
    (src / "main.c").write_text(LIAR)
    return build(src, tmp_path_factory.mktemp("liar") / "build", component=True).out


def core(build_dir: Path) -> Bundle:
    bundle = Bundle.open(build_dir)
    bundle.config = dataclasses.replace(bundle.config, component=False)
    bundle.module = (build_dir / MODULE_NAME).read_bytes()
    return bundle


@pytest.mark.parametrize("seed", sorted(LIES))
def test_a_component_whose_lw_io_lies_is_refused_like_its_core_build(liar: Path, engine: Engine, seed: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    check = iolayout.check_io

    def counted(game: str, io: dict[str, int], memory_size: int) -> iolayout.IoLayout:
        calls.append(game)
        return check(game, io, memory_size)

    monkeypatch.setattr("layerw.runtime.memoryhost.check_io", counted)
    with pytest.raises(InvalidModule, match="lw_io describes blocks outside memory or out of order") as comp:
        ComponentGame(Bundle.open(liar), engine, seed=seed)
    with pytest.raises(InvalidModule, match="lw_io describes blocks outside memory or out of order") as mod:
        Game(core(liar), engine, seed=seed)
    assert LIES[seed] in str(comp.value)
    assert str(comp.value) == str(mod.value)  # the same check, the same memory size: the same words
    assert calls == ["liar", "liar"]


def test_the_honest_seed_starts_on_both_backends(liar: Path, engine: Engine) -> None:
    with ComponentGame(Bundle.open(liar), engine) as comp, Game(core(liar), engine) as mod:
        host: GameHost = comp  # the component backend is a GameHost too (mypy and runtime_checkable)
        assert isinstance(host, GameHost)
        assert comp.state_hash() == mod.state_hash()
        assert (comp.cmd_ptr, comp.cmd_capacity, comp.state_begin) == (mod.cmd_ptr, mod.cmd_capacity, mod.state_begin)
