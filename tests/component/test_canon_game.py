"""CanonGame: a game component run as its own core module with the canonical ABI in the host gives
what the core build and wasmtime's component runtime give: frames, hashes, saves and typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameError, GameTimedOut, InvalidModule
from layerw.runtime.canon_game import CanonGame
from layerw.runtime.component_game import ComponentGame
from layerw.runtime.componentcore import core_modules, game_core
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.saves import Saves, Slot
from layerw.toolchain.build import build
from tests.component.test_component_game import core_bundle
from tests.component.test_saves import SAVER, _run

# at its third tick, seed 1 traps, seed 2 never returns, seed 3 names an asset outside its memory and
# seed 4 logs bytes that are not UTF-8 (a string the canonical ABI cannot lift)
FAULTY = r"""
#include "layerw.h"
static uint64_t mode;
static uint32_t ticks;
void lw_game_init(uint64_t seed) { mode = seed; }
void lw_game_tick(const lw_input *in) {
    (void)in;
    if (++ticks == 3 && mode == 1) __builtin_trap();
    while (ticks == 3 && mode == 2) { __asm__ volatile(""); }
    if (ticks == 3 && mode == 3) lw_asset_request((const char *)(uintptr_t)0xFFFFFF00u, 64);
    if (ticks == 3 && mode == 4) lw_log(1, "\xff\xfe", 2);
}
void lw_game_render(lw_frame *f) { lw_clear(f, 0xff000000u | ticks); }
"""


def game_dir(root: Path, name: str, source: str) -> Path:
    src = root / f"{name}-src"
    src.mkdir()
    (src / "layerw.toml").write_text(f'[game]\nname = "{name}"\n')
    (src / f"{name}.c").write_text(source)
    return build(src, root / name, component=True).out


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return game_dir(tmp_path_factory.mktemp("faulty"), "faulty", FAULTY)


@pytest.fixture(scope="module")
def saver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return game_dir(tmp_path_factory.mktemp("saver"), "saver", SAVER)


def test_start_game_runs_the_games_module_alone_here_and_plugins_on_wasmtimes_runtime(
        pong_both: Path, orbs: Path, engine: Engine) -> None:
    with start_game(Bundle.open(pong_both), engine) as game:
        assert type(game) is CanonGame and isinstance(game, ComponentGame)
    assert not CanonGame.fits(Bundle.open(orbs), engine)
    assert game_core(Bundle.open(orbs).module, engine.compile) is None  # it imports layerw:physics/step
    with pytest.raises(InvalidModule, match="run it as a ComponentGame"):
        CanonGame(Bundle.open(orbs), engine)


def test_same_frames_hashes_and_snapshots_as_the_core_build_and_wasmtimes_runtime(pong_both: Path, engine: Engine) -> None:
    inputs = InputState(2)
    with Game(core_bundle(pong_both), engine, seed=7) as core, \
            ComponentGame(Bundle.open(pong_both), engine, seed=7) as comp, \
            CanonGame(Bundle.open(pong_both), engine, seed=7) as canon:
        for tick in range(240):
            inputs.key(0, "KeyW", tick % 50 < 20)
            inputs.key(1, "ArrowDown", tick % 70 < 30)
            for game in (core, comp, canon):
                game.tick(inputs)
            if tick % 10 == 0:
                frame = bytes(core.render())
                assert bytes(comp.render()) == frame and bytes(canon.render()) == frame, f"frame differs at tick {tick}"
                assert canon.state_hash() == comp.state_hash() == core.state_hash(), f"state differs at tick {tick}"
        assert canon.snapshot().memory == core.snapshot().memory


def test_snapshot_restore_continues_exactly(pong_both: Path, engine: Engine) -> None:
    with CanonGame(Bundle.open(pong_both), engine, seed=3) as game:
        for _ in range(30):
            game.tick(InputState())
        snap = game.snapshot()
        for _ in range(30):
            game.tick(InputState())
        expected = game.state_hash()
        game.restore(snap)
        for _ in range(30):
            game.tick(InputState())
        assert game.tick_count == 60 and game.state_hash() == expected


def test_saves_reach_the_same_slots_as_wasmtimes_runtime(saver: Path, engine: Engine, tmp_path: Path) -> None:
    """save-read's option<list<u8>> is lowered through the game's cabi_realloc, as wasmtime does."""
    hashes: dict[str, list[str]] = {}
    for backend in (ComponentGame, CanonGame):
        saves = Saves(tmp_path / backend.__name__)
        runs = []
        for n in range(2):
            with backend(Bundle.open(saver), engine, saves=saves) as game:
                runs.append(_run(game))
            assert saves.read("best") == (Slot(1, b"first run") if n == 0 else Slot(2, b"second run"))
        hashes[backend.__name__] = runs
    assert hashes["CanonGame"] == hashes["ComponentGame"]


@pytest.mark.parametrize("seed, error", [(1, GameCrashed), (2, GameTimedOut), (3, GameCrashed), (4, GameCrashed)])
def test_traps_runaways_and_unliftable_arguments_are_the_same_typed_errors(faulty: Path, engine: Engine, seed: int,
                                                             error: type[Exception]) -> None:
    for backend in (ComponentGame, CanonGame):
        with backend(Bundle.open(faulty), engine, seed=seed) as game:
            game.tick(InputState())
            game.tick(InputState())
            with pytest.raises(error) as info:
                game.tick(InputState())
            assert (info.value.game, info.value.tick) == ("faulty", 2), backend  # type: ignore[attr-defined]
            if seed == 1:
                assert info.value.trap_code == "unreachable", backend  # type: ignore[attr-defined]
            with pytest.raises(GameError, match="already failed"):
                game.render()


def test_a_list_outside_memory_traps_as_a_lift_does(pong_both: Path, engine: Engine) -> None:
    with CanonGame(Bundle.open(pong_both), engine) as game:
        size = len(game._view())
        assert bytes(game._lifted(size - 4, 4, "list")) == bytes(game._view()[size - 4:])
        for ptr, n in ((size - 4, 8), (-1, 2), (0, size + 1)):
            with pytest.raises(wasmtime.Trap, match="out of bounds"):
                game._lifted(ptr, n, "list")


def test_only_a_component_of_the_games_module_alone_is_taken_apart(pong_both: Path, engine: Engine) -> None:
    component = Bundle.open(pong_both).module
    modules = core_modules(component)
    assert modules is not None and len(modules) >= 1
    assert game_core(component, engine.compile) is not None
    core = (pong_both / "game.wasm").read_bytes()
    for other in (core, b"", component[:8], component[:len(component) // 2], b"\0asm\x0d\x00\x01\x00\x01\xff\xff\xff\xff\x0f"):
        assert game_core(other, engine.compile) is None
