"""A room's first desync probes whether lw_render changes the game state on a thread, on a second
instance of the game: while a slow probe runs, every room (its own too) keeps ticking, and the desync
is logged with the verdict once the probe has one."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.saved import Saved
from tests.session.wire import Connection, room_host, wat_game

WAIT_S = 10.0


async def until(event: threading.Event) -> None:
    """Wait, bounded and off the loop, for a thread's ``event``."""
    assert await asyncio.to_thread(event.wait, WAIT_S), "timed out"


def test_a_slow_render_probe_holds_up_no_room(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    host = room_host(wat_game(tmp_path), engine)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    async def story() -> None:
        desynced = Connection().open(host, "wat", "a", "10.0.0.1")
        other = Connection().open(host, "wat", "b", "10.0.0.2")
        await desynced.welcome()
        await other.welcome()
        a, b = host.runners[("wat", "a")].room, host.runners[("wat", "b")].room
        probe = a.render_probe.run

        def slow(bundle: Bundle, engine: Engine, saved: Saved) -> bool:  # a large game's: it ends when the test says so
            started.set()
            release.wait(WAIT_S)
            try:
                return probe(bundle, engine, saved)
            finally:
                finished.set()

        a.render_probe.run = slow
        while not a.hashes:
            await asyncio.sleep(0.01)
        desynced.put(p.hash_message(max(a.hashes), bytes(32)))  # a state that went its own way
        await until(started)
        ticks = a.tick, b.tick
        async with asyncio.timeout(WAIT_S):  # both rooms tick on while the probe is held
            while a.tick < ticks[0] + 60 or b.tick < ticks[1] + 60:
                await asyncio.sleep(0.01)
        assert not finished.is_set()  # (a probe on the loop would have held it until its wait ran out)
        assert not [r for r in caplog.records if "desync" in r.getMessage()]  # the line waits for the verdict
        release.set()
        async with asyncio.timeout(WAIT_S):
            while not [r for r in caplog.records if "desync" in r.getMessage()]:
                await asyncio.sleep(0.01)
        for c in (desynced, other):
            c.put(None)
        await asyncio.gather(desynced.ended(), other.ended())
        await host.close()

    with caplog.at_level(logging.WARNING, logger="layerw.room"):
        asyncio.run(story())
    line, = [r for r in caplog.records if "desync" in r.getMessage()]
    assert "seat 0 differs first" in line.getMessage() and "lw_render left the state alone" in line.getMessage()
    assert line.render_changes_state is False  # type: ignore[attr-defined]
