"""A desync says where to look: the room logs the first differing tick of a seat (and the last tick it
agreed), and whether lw_render changes the game's state, probed without moving the room's state."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.devchecks import render_changes_state
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.replica import Replica
from layerw.session.room import Room
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold
from tests.session.test_room import connect

DRAWS_STATE = r'''
#include "layerw.h"
static int x, renders;
void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) { (void)in; x++; }
void lw_game_render(lw_frame *f) { renders++; lw_rect(f, (float)x, 0, 2, 2, 0, 0, LW_RGB(1, 2, 3)); }
'''
CLEAN = DRAWS_STATE.replace("renders++; ", "")


def game(tmp: Path, name: str, source: str) -> Bundle:
    src = scaffold(tmp / name)
    (src / "main.c").write_text(source)
    return Bundle.open(build(src, tmp / f"{name}-out").out)


@pytest.fixture(scope="module")
def games(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bundle]:
    tmp = tmp_path_factory.mktemp("desync")
    return {"draws-state": game(tmp, "draws", DRAWS_STATE), "clean": game(tmp, "clean", CLEAN)}


def play(room: Room, client: Replica, ticks: int, *, draw: bool) -> list[bool]:
    """Frames to a client that renders each one (as a client in a window does); the room's checks."""
    verdicts = []
    for _ in range(ticks):
        frame = p.decode_server(room.step())
        assert isinstance(frame, p.Frame)
        msg = client.apply(frame)
        if draw:
            client.game.render()
        if msg is not None:
            before = room.game.state_hash()
            verdicts.append(room.check(client.seat, p.decode_client(msg)))  # type: ignore[arg-type]
            assert room.game.state_hash() == before  # the render probe leaves the room's state as it was
    return verdicts


@contextmanager
def room_and_client(bundle: Bundle, engine: Engine, replica: Replica | None = None) -> Iterator[tuple[Room, Replica]]:
    """A room hashing every 10 ticks, and one seated client (``replica`` if given)."""
    room = Room("r", bundle, engine, hash_every=10)
    try:
        yield room, connect(room, bundle, engine, replica=replica)
    finally:
        room.close()


def test_a_render_that_changes_state_is_named(games: dict[str, Bundle], engine: Engine,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with room_and_client(games["draws-state"], engine) as (room, client):
        with caplog.at_level(logging.WARNING, logger="layerw.room"):
            verdicts = play(room, client, 12, draw=False) + play(room, client, 23, draw=True)
        assert verdicts == [True, False, False]  # in step until the client starts drawing frames
        lines = [r for r in caplog.records if "desync" in r.getMessage()]
        assert len(lines) == 1
        text = lines[0].getMessage()
        assert "seat 0 differs first at tick 20 (it agreed at tick 10, so the states parted in ticks 11..20)" in text
        assert "lw_render changes the game state" in text and "layerw run --dev" in text
        assert lines[0].first_differing_tick == 20 and lines[0].render_changes_state is True  # type: ignore[attr-defined]


def test_a_clean_render_points_elsewhere(games: dict[str, Bundle], engine: Engine,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with room_and_client(games["clean"], engine) as (room, client):
        assert all(play(room, client, 15, draw=True))
        with caplog.at_level(logging.WARNING, logger="layerw.room"):
            room.step()
            room.check(client.seat, p.Hash(max(room.hashes), bytes(32)))  # a client whose state went its own way
        text = " ".join(r.getMessage() for r in caplog.records)
        assert "differs first at tick 10" in text and "lw_render left the state alone" in text
        assert render_changes_state(room.game) is False


def test_a_healed_client_says_whether_render_changes_state(games: dict[str, Bundle], engine: Engine,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    from layerw.session.client import OnlineClient

    for name, changes in (("draws-state", True), ("clean", False)):
        client = OnlineClient(games[name], engine)
        with room_and_client(games[name], engine, client.replica) as (room, _):
            play(room, client.replica, 25, draw=True)
            before = client.replica.game.state_hash()
            with caplog.at_level(logging.WARNING, logger="layerw.session"):
                client._diagnose(client.replica)  # what play() does when the first healing STATE arrives
            assert client.first_heal == (25, changes)
            assert client.replica.game.state_hash() == before
            line = caplog.records[-1]
            assert "desync: the room's state replaces this client's at tick 25" in line.getMessage()
            assert ("lw_render changes the game state" in line.getMessage()) is changes
            assert line.render_changes_state is changes  # type: ignore[attr-defined]
