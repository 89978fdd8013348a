"""The host's Clocks: rooms of one tick rate step on shared beats, spread over the period's phases;
one room's failure ends only that room."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from layerw.errors import GameCrashed
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import CLOSE_INTERNAL, PHASES, Clock, RoomHost
from tests.session.wire import Connection, room_host, wat_game


async def _fail_one_room(host: RoomHost, error: Exception) -> tuple[tuple[int, str], int, int]:
    """Rooms a and b tick together; a's next step raises ``error``. Returns how a's player was
    closed, b's tick when that happened, and b's tick a while later."""
    a, b = Connection().open(host, "wat", "a"), Connection().open(host, "wat", "b")
    await asyncio.gather(a.welcome(), b.welcome())
    assert sorted(len(c.runners) for c in host.clocks.values()) == [0, 0, 1, 1]  # two phases of one rate
    room_a, room_b = host.runners[("wat", "a")].room, host.runners[("wat", "b")].room
    while room_a.tick < 10:
        await b.next(p.Frame)

    def broken() -> bytes:
        raise error

    room_a.step = broken  # type: ignore[method-assign]
    closed = await a.ended()
    at = room_b.tick
    while room_b.tick < at + 60:
        await b.next(p.Frame)
    later = room_b.tick
    assert ("wat", "a") not in host.runners and ("wat", "b") in host.runners
    b.put(None)
    await b.ended()
    await host.close()
    return closed, at, later


@pytest.mark.parametrize("error, reason", [
    (GameCrashed("wat at tick 10: trapped: unreachable", game="wat", tick=10, trap_code="unreachable"), "the game stopped"),
    (RuntimeError("a bug in the host"), "the room failed"),
])
def test_a_failing_room_ends_alone(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture,
                                   error: Exception, reason: str) -> None:
    host = room_host(wat_game(tmp_path), engine)
    with caplog.at_level(logging.ERROR, logger="layerw.session"):
        (code, text), at, later = asyncio.run(_fail_one_room(host, error))
    assert code == CLOSE_INTERNAL and reason in text
    assert later >= at + 60  # the other room kept its beat
    assert any("room wat/a" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_rooms_share_beats_spread_over_the_period_and_close_with_the_host(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[list[Clock], list[int]]:
        players = [Connection().open(host, "wat", f"r{i}") for i in range(9)]
        await asyncio.gather(*(c.welcome() for c in players))
        clocks = list(host.clocks.values())
        sizes = sorted(len(c.runners) for c in clocks)
        await host.close()
        return clocks, sizes

    clocks, sizes = asyncio.run(story())
    assert sizes == [2, 2, 2, 3]  # each new room joins the emptiest phase
    period = clocks[0].period
    beats = sorted(c.next_beat(1000.0) for c in clocks)
    assert all(b - a == pytest.approx(period / PHASES) for a, b in zip(beats, beats[1:], strict=False))
    assert all(c.task is not None and c.task.done() for c in clocks)
    assert host.runners == {} and host.clocks == {}
