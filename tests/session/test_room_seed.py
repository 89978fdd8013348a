"""A server's rooms each seed their game with a seed of their own; a fixed one is an option."""

from __future__ import annotations

import asyncio

import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session.host import RoomHost
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold

SEEDED = r'''
#include "layerw.h"
static lw_rng rng;
static uint32_t value;
void lw_game_init(uint64_t seed) { lw_rng_seed(&rng, seed, 0); }
void lw_game_tick(const lw_input *in) { (void)in; value = lw_rng_next(&rng); }
void lw_game_render(lw_frame *f) { lw_rect(f, (float)(value % 300u), 0, 2, 2, 0, 0, LW_RGB(1, 2, 3)); }
'''


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    tmp = tmp_path_factory.mktemp("seed")
    game = scaffold(tmp / "seeded")
    (game / "main.c").write_text(SEEDED)
    return Bundle.open(build(game, tmp / "out").out)


@pytest.mark.parametrize("options, same", [({}, False), ({"seed": 5}, True)], ids=["per-room", "fixed"])
def test_each_room_gets_its_own_seed(seeded: Bundle, engine: Engine, options: dict[str, int], same: bool) -> None:
    host = RoomHost(lambda _: seeded, engine, room_options=options)
    try:
        rooms = [host._new_room("seeded", name) for name in ("a", "b")]
        try:
            assert (rooms[0].seed == rooms[1].seed) is same
            assert (rooms[0].game.state_hash() == rooms[1].game.state_hash()) is same
            if same:
                assert rooms[0].seed == 5
        finally:
            for room in rooms:
                room.close()
    finally:
        asyncio.run(host.close())
