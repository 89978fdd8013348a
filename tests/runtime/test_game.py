"""A real game built by the toolchain: determinism, render purity, snapshots, WASI and assets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import LayerWError, SnapshotError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.snapshot import Snapshot
from layerw.toolchain.scaffold import scaffold

HOST_GAME = r"""
#include "layerw.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static int data_handle, image_handle, data_size = -1, ready_tick = -1, image_w, image_h;
static unsigned counter, random_value;
static long long clock_seconds;
void lw_game_init(uint64_t seed) {
    printf("hello from init %u\n", (unsigned)seed);
    data_handle = lw_asset("data.txt");          /* streamed: ready through an event */
    image_handle = lw_asset("dot.png");           /* preloaded: ready now */
    int size = lw_image_size(image_handle);
    image_w = size >> 16; image_h = size & 0xFFFF;
    srand((unsigned)seed);
    random_value = (unsigned)rand();
}
void lw_game_tick(const lw_input *in) {
    counter += 1 + lw_key_down(&in->players[0], LW_KEY_SPACE);
    clock_seconds = (long long)time(NULL);
    for (uint32_t i = 0; i < in->event_count; i++) {
        if (in->events[i].kind == LW_EVENT_ASSET_READY && (int)in->events[i].a == data_handle) {
            char buf[64];
            data_size = lw_asset_size(data_handle);
            int n = lw_asset_read(data_handle, 0, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            ready_tick = (int)in->tick;
            char msg[128];
            int len = snprintf(msg, sizeof msg, "ready at %d size %d: %s img %dx%d",
                               ready_tick, data_size, buf, image_w, image_h);
            lw_log(1, msg, len);
        }
    }
}
void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(1, 2, 3));
    for (unsigned i = 0; i < 3; i++) lw_rect(f, (float)i, (float)counter, 4, 4, 0, 0, LW_RGB(255, 0, 0));
    lw_sprite(f, (uint32_t)image_handle, 0, 0, 8, 8, 0, 0, 8, 8, 0, 0xFFFFFFFFu, 0);
}
"""


@pytest.fixture(scope="module")
def host_game(tmp_path_factory: pytest.TempPathFactory, built: Callable[[Path], Path]) -> Bundle:
    from PIL import Image

    src = tmp_path_factory.mktemp("src") / "hostgame"
    scaffold(src)
    (src / "main.c").write_text(HOST_GAME)
    (src / "assets" / "data.txt").write_text("level one")
    Image.new("RGBA", (5, 7), (255, 255, 255, 255)).save(src / "assets" / "dot.png")
    toml = (src / "layerw.toml").read_text().replace("preload = []", 'preload = ["dot.png"]')
    (src / "layerw.toml").write_text(toml)
    return Bundle.open(built(src))


def run(game: Game, ticks: int, state: InputState | None = None, render_every: int = 0) -> str:
    state = state or InputState()
    for i in range(ticks):
        game.tick(state)
        if render_every and i % render_every == 0:
            game.render()
    return game.state_hash()


def test_same_seed_same_hash_different_seed_differs(host_game: Bundle, engine: Engine) -> None:
    with Game(host_game, engine, seed=1) as a, Game(host_game, engine, seed=1) as b, Game(host_game, engine, seed=2) as c:
        assert run(a, 120) == run(b, 120) != run(c, 120)


def test_inputs_change_state(host_game: Bundle, engine: Engine) -> None:
    pressed = InputState()
    pressed.key(0, "Space", True)
    with Game(host_game, engine) as a, Game(host_game, engine) as b:
        assert run(a, 30) != run(b, 30, pressed)


def test_hash_does_not_depend_on_render_rate(host_game: Bundle, engine: Engine) -> None:
    with Game(host_game, engine) as never, Game(host_game, engine) as always, Game(host_game, engine) as sometimes:
        assert run(never, 90) == run(always, 90, render_every=1) == run(sometimes, 90, render_every=7)
        before = always.state_hash()
        for _ in range(3):
            always.render()
        assert always.state_hash() == before


def test_render_is_a_zero_copy_command_list(host_game: Bundle, engine: Engine) -> None:
    with Game(host_game, engine) as game:
        run(game, 5)
        view = game.render()
        assert isinstance(view, memoryview)
        header = np.frombuffer(view, dtype=abi.HEADER.dtype, count=1)[0]
        assert (header["op"], header["count"]) == (abi.OPS[0].code, 1)
        rects_at = abi.HEADER.size + abi.CLEAR.size
        rects = np.frombuffer(view, dtype=abi.HEADER.dtype, count=1, offset=rects_at)[0]
        assert (rects["op"], rects["count"]) == (abi.OP_BY_CODE[4].code, 3)  # three pushes, one batch
        recs = np.frombuffer(view, dtype=abi.RECT.dtype, count=3, offset=rects_at + abi.HEADER.size)
        assert recs["y"].tolist() == [5.0, 5.0, 5.0] and recs["x"].tolist() == [0.0, 1.0, 2.0]


def test_snapshot_restore_replay_is_byte_identical(host_game: Bundle, engine: Engine) -> None:
    rec = Recording()
    rec.changes[10].append({"tick": 10, "player": 0, "down": ["Space"]})
    rec.changes[40].append({"tick": 40, "player": 0, "up": ["Space"]})
    with Game(host_game, engine, seed=9) as game:
        state = InputState()
        for _ in range(20):
            rec.apply(state, game.tick_count)
            game.tick(state)
        snap = Snapshot.from_bytes(game.snapshot().to_bytes())
        saved_state = state.record.copy()
        for _ in range(60):
            rec.apply(state, game.tick_count)
            game.tick(state)
        expected, expected_mem = game.state_hash(), bytes(game._view()[game.state_begin:])
        game.restore(snap)
        state.record[...] = saved_state
        for _ in range(60):
            rec.apply(state, game.tick_count)
            game.tick(state)
        assert game.state_hash() == expected
        assert bytes(game._view()[game.state_begin:]) == expected_mem


def test_snapshot_into_a_fresh_game(host_game: Bundle, engine: Engine) -> None:
    with Game(host_game, engine, seed=3) as a, Game(host_game, engine, seed=3) as b:
        run(a, 50)
        b.restore(a.snapshot())
        assert b.tick_count == 50
        assert run(a, 25) == run(b, 25)


def test_bad_snapshots_are_rejected(host_game: Bundle, engine: Engine, tmp_path: Path) -> None:
    with Game(host_game, engine) as game:
        data = game.snapshot().to_bytes()
        with pytest.raises(SnapshotError):
            Snapshot.from_bytes(b"garbage")
        with pytest.raises(SnapshotError):
            Snapshot.from_bytes(data[:-10])
        from tests.wat import bundle, contract_wat
        other = Game(bundle(tmp_path / "other", contract_wat()), engine)
        with pytest.raises(SnapshotError, match="another module"):
            other.restore(game.snapshot())


def test_wasi_stdio_is_logged_and_libc_is_deterministic(host_game: Bundle, engine: Engine,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="layerw.game")
    with Game(host_game, engine, seed=77) as game:
        run(game, 3)
    messages = [r.getMessage() for r in caplog.records]
    assert "[hostgame] hello from init 77" in messages
    assert "[hostgame] ready at 1 size 9: level one img 5x7" in messages


def test_streamed_asset_becomes_ready_at_a_stamped_tick(host_game: Bundle, engine: Engine) -> None:
    with Game(host_game, engine) as game:
        data = game.assets.get(1)
        assert data is not None and data.name == "data.txt" and not data.ready
        game.tick(InputState())  # tick 0: not yet
        assert not data.ready
        game.tick(InputState())  # tick 1: the ready event is delivered
        assert data.ready
        image = game.assets.get(2)
        assert image is not None and image.ready and image.image is not None and image.image.shape == (7, 5, 4)


def test_snapshot_delta_carries_only_changed_pages(host_game: Bundle, engine: Engine) -> None:
    from layerw.runtime.snapshot import apply_delta, delta

    with Game(host_game, engine) as game:
        run(game, 10)
        base = game.snapshot()
        run(game, 30)
        new = game.snapshot()
        data = delta(base, new)
        assert len(data) < len(new.to_bytes())
        rebuilt = apply_delta(base, data)
        assert rebuilt == new
        with pytest.raises(SnapshotError, match="made against tick 10"):
            apply_delta(new, data)
        with pytest.raises(SnapshotError):
            apply_delta(base, data[:-5])


@pytest.mark.parametrize("init", ["unreachable", "(i32.const 0) (return)", ""],
                         ids=["trap at start", "bad lw_io at start", "never closed"])
def test_a_game_that_failed_to_start_or_was_never_closed_is_freed(init: str, tmp_path: Path, engine: Engine) -> None:
    """wasmtime-py holds host functions in a process-wide table until their store goes, and they
    call back into the game: a failed start must close its store, and nothing may hold the game
    strongly, or every such game (with its linear memory) would stay for the life of the process."""
    import gc
    import weakref

    from tests.hostile.modules import imports
    from tests.wat import bundle, contract_wat

    wat = contract_wat(imports=imports("log", "asset_request", "fd_write", "clock_time_get"), init=init)
    b = bundle(tmp_path / "freed", wat, name="freed")
    alive: list[weakref.ref[Game]] = []
    for _ in range(3):
        try:
            alive.append(weakref.ref(Game(b, engine)))  # started, then dropped without close()
        except LayerWError:
            pass
    gc.collect()
    assert not alive or all(r() is None for r in alive)
    assert not [o for o in gc.get_objects() if isinstance(o, Game) and o.name == "freed"]
