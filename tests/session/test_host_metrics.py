"""What RoomHost counts: ticks and their lateness, joins, heals, and traps by code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.host import CLOSE_INTERNAL, RoomHost
from tests.session.wire import INPUT_TICK, Connection, room_host, wat_game


def sample(host: RoomHost, name: str, **labels: str) -> float:
    return host.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("body, code", [
    ("unreachable", "unreachable"),
    ("(loop $spin (br $spin))", "timeout"),  # past the CPU deadline: epoch interruption
    ("(drop (i32.load (i32.const 0x7fffffff)))", "memory_out_of_bounds"),
])
def test_a_trap_is_counted_by_code_and_ends_the_room(tmp_path: Path, engine: Engine, body: str, code: str) -> None:
    host = room_host(wat_game(tmp_path, tick=f"(if (i32.eq {INPUT_TICK} (i32.const 20)) (then {body}))"), engine)

    async def story() -> tuple[int, str]:
        player = Connection().open(host, "wat", "r")
        await player.welcome()
        closed = await player.ended()
        await host.close()
        return closed

    closed_with, reason = asyncio.run(story())
    assert closed_with == CLOSE_INTERNAL and "the game stopped" in reason
    assert sample(host, "layerw_traps_total", game="wat", code=code) == 1
    assert sample(host, "layerw_tick_duration_seconds_count", game="wat") == 20  # the ticks before it


def test_joins_heals_and_tick_timings_are_counted(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> None:
        a = Connection().open(host, "wat", "r")
        await a.welcome()
        watcher = Connection().open(host, "wat", "r")
        await watcher.welcome(role=p.SPECTATOR)
        room = host.runners[("wat", "r")].room
        while room.tick < 30:
            await a.next(p.Frame)
        [reading] = host.readings()
        assert (reading.game, reading.room, reading.players, reading.spectators) == ("wat", "r", 1, 1)
        a.put(p.hash_message(20, bytes(32)))  # a hash the room disagrees with: the state is sent again
        await a.next(p.State)
        for c in (a, watcher):
            c.put(None)
        await asyncio.gather(a.ended(), watcher.ended())
        await host.close()

    asyncio.run(story())
    assert sample(host, "layerw_joins_total", game="wat", outcome="player") == 1
    assert sample(host, "layerw_joins_total", game="wat", outcome="spectator") == 1
    assert sample(host, "layerw_heals_total", game="wat") == 1
    assert sample(host, "layerw_tick_duration_seconds_count", game="wat") >= 30
    assert sample(host, "layerw_tick_lateness_seconds_count", game="wat") >= 30
    assert sample(host, "layerw_tick_duration_seconds_sum", game="wat") > 0
    assert host.readings() == []  # the room closed with the host


def test_lateness_is_how_late_a_tick_starts(tmp_path: Path, engine: Engine) -> None:
    """Lateness is measured when a tick starts (the loop's wake-up included), so a stalled event
    loop shows in the room's p99, however long the stall (a clock far behind skips beats, it does
    not hide how late the first one started)."""
    opened = time.monotonic()
    host = room_host(wat_game(tmp_path), engine)

    async def story() -> tuple[float, float]:
        a = Connection().open(host, "wat", "r")
        await a.welcome()
        run = host.runners[("wat", "r")]
        while run.room.tick < 20:
            await a.next(p.Frame)
        woke = sum(1 for late in run.jitter_ms[-15:] if late > 0)  # a timer never fires early
        assert woke >= 10, f"only {woke} of 15 ticks measured any lateness: the wake-up is not counted"
        mark = len(run.jitter_ms)
        time.sleep(0.12)  # blocks the loop: the room cannot tick meanwhile
        start = run.room.tick
        while run.room.tick < start + 3:
            await a.next(p.Frame)
        stalled = max(run.jitter_ms[mark:])
        p99 = run.jitter_p99_ms(window=len(run.jitter_ms) - mark)
        a.put(None)
        await a.ended()
        await host.close()
        return stalled, p99

    stalled, p99 = asyncio.run(story())
    # the tick due within a period of the stall's start began after its 120 ms (and a loaded
    # machine only adds to that); no tick can be later than the room is old
    assert 90 <= stalled <= (time.monotonic() - opened) * 1e3, f"a tick after a 120 ms stall started {stalled:.1f} ms late"
    assert p99 == stalled
