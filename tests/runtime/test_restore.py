"""Restores in place (the live instance rewritten) against restores into a fresh instance (after a
trap, or into a memory larger than the snapshot's): the same memory, hashes, frames and sound, on
every backend that runs the guest in this process, and in a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameCrashed
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.memoryhost import MemoryHost
from layerw.runtime.worker import WorkerGame
from layerw.toolchain.scaffold import scaffold

# Grows memory up to tick 32 (malloc), draws from the host's random stream every tick (getentropy:
# WASI random_get), traps while X is held, and draws whether its frame is GPU-fresh as a rect's x.
GROWING_GAME = r"""
#include "layerw.h"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
static unsigned char *blocks[4];
static unsigned counter;
static uint64_t noise[16];
void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) {
    if (lw_key_down(&in->players[0], LW_KEY_KEYX)) __builtin_trap();
    counter += 1 + lw_key_down(&in->players[0], LW_KEY_SPACE);
    unsigned k = counter / 8;
    if (counter % 8 == 0 && k < 4 && blocks[k] == 0) {
        blocks[k] = malloc(300000);
        memset(blocks[k], (int)counter, 300000);
    }
    getentropy(&noise[counter % 16], sizeof noise[0]);
    for (unsigned i = 0; i < 4; i++)
        if (blocks[i]) blocks[i][(noise[counter % 16] >> (i * 8)) % 300000] ^= (unsigned char)counter;
}
void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(1, 2, 3));
    lw_rect(f, (float)f->gpu_fresh, (float)counter, (float)(noise[counter % 16] & 0xFF), 4, 0, 0, LW_RGB(255, 0, 0));
}
"""
TICKS = 40


@pytest.fixture(scope="module")
def growing(tmp_path_factory: pytest.TempPathFactory, built: Callable[[Path], Path]) -> Bundle:
    src = tmp_path_factory.mktemp("src") / "growing"
    scaffold(src)
    (src / "main.c").write_text(GROWING_GAME)
    toml = src / "layerw.toml"  # a generous deadline: a loaded machine stalls a call, and deadlines are not tested here
    assert "tick_ms = 100" in toml.read_text()
    toml.write_text(toml.read_text().replace("tick_ms = 100", "tick_ms = 2000"))
    return Bundle.open(built(src))


Start = Callable[[], GameHost]


@pytest.fixture(params=["core", "aot", "worker"])
def start(request: pytest.FixtureRequest, growing: Bundle, engine: Engine) -> Iterator[Start]:
    opened: list[GameHost] = []

    def make() -> GameHost:
        if request.param == "core":
            game: GameHost = Game(growing, engine, seed=5)
        elif request.param == "aot":
            game = AotGame(growing, engine, request.getfixturevalue("aot_compiler"), seed=5)
        else:
            game = WorkerGame(growing, seed=5)
        opened.append(game)
        return game

    yield make
    for game in opened:
        game.close()


def keys(tick: int) -> InputState:
    state = InputState()
    state.key(0, "Space", tick % 5 == 0)
    return state


def play(game: GameHost, ticks: int) -> list[tuple[str, bytes]]:
    """Each tick's state hash and frame, with the inputs ``keys`` gives for the tick."""
    out = []
    for _ in range(ticks):
        game.tick(keys(game.tick_count))
        out.append((game.state_hash(), bytes(game.render())))
    return out


def instance(game: GameHost) -> object:
    """What a fresh instance replaces (None where the host does not show it)."""
    if isinstance(game, AotGame):
        return game._instance
    return game.store if isinstance(game, Game) else None


def memory(game: GameHost) -> bytes:
    """Guest memory but the command buffer's frame area (rewritten by every render), where visible."""
    if not isinstance(game, MemoryHost):
        return b""
    live = game._live_memory()
    assert live is not None
    io = game.io
    return bytes(live[:io.cmd_ptr]) + bytes(live[io.cmd_end - abi.COMMAND_SCRATCH:])


def first_frame_is_gpu_fresh(frame: bytes) -> bool:
    rect = np.frombuffer(frame, dtype=abi.RECT.dtype, count=1, offset=abi.HEADER.size * 2 + abi.CLEAR.size)[0]
    return bool(rect["x"] == 1.0)


def test_in_place_restore_equals_a_fresh_instance(start: Start) -> None:
    source = start()
    play(source, 10)  # before the last growth
    early = source.snapshot()
    play(source, TICKS - 10)
    snap = source.snapshot()
    later = play(source, TICKS)

    in_place = start()
    play(in_place, 2 * TICKS)  # the same memory size as the snapshot's
    before = instance(in_place)
    in_place.restore(snap)

    grown = start()  # smaller than the snapshot: grows in place
    grown_before = instance(grown)
    grown.restore(snap)

    trapped = start()  # after a trap, a fresh instance
    x = InputState()
    x.key(0, "KeyX", True)
    with pytest.raises(GameCrashed):
        trapped.tick(x)
        trapped.wait()
    trapped_before = instance(trapped)
    trapped.restore(snap)

    shrunk = start()  # memory larger than the snapshot's: a fresh instance
    play(shrunk, TICKS)
    shrunk_before = instance(shrunk)
    shrunk.restore(early)

    if before is not None:
        assert instance(in_place) is before and instance(grown) is grown_before
        assert instance(trapped) is not trapped_before and instance(shrunk) is not shrunk_before
    hosts = (in_place, grown, trapped)
    assert {game.tick_count for game in hosts} == {snap.tick}
    assert len({game.state_hash() for game in hosts}) == 1
    assert len({memory(game) for game in hosts}) == 1
    runs = [play(game, TICKS) for game in hosts]
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][1:] == later[1:] and runs[0][0][0] == later[0][0]  # but the first frame: GPU-fresh after a restore
    assert all(first_frame_is_gpu_fresh(run[0][1]) and not first_frame_is_gpu_fresh(run[1][1]) for run in runs)
    assert len({game.audio_hash() for game in hosts}) == 1
    assert play(shrunk, 2 * TICKS - 10)[-TICKS:] == later
    assert first_frame_is_gpu_fresh(later[0][1]) is False


def test_rewinding_many_times_in_place_stays_exact(start: Start) -> None:
    game = start()
    play(game, 20)
    snap = game.snapshot()
    ahead = play(game, 8)
    game.restore(snap)
    expected = play(game, 8)
    assert expected[1:] == ahead[1:] and expected[0][0] == ahead[0][0]
    for _ in range(5):
        game.restore(snap)
        assert play(game, 8) == expected
