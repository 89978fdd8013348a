"""A join waits for its STATE to be encoded off the loop, but not forever: a room that takes a new
snapshot faster than one encodes (a loaded machine, frequent snapshots) still lets the join in."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from layerw.runtime.engine import Engine
from layerw.session import host as host_module
from layerw.session.host import Limits, RoomHost
from layerw.session.saved import Saved
from tests.session.wire import Connection, wat_game


def test_a_join_is_not_held_by_snapshot_encodings_it_keeps_losing_to(tmp_path: Path, engine: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = wat_game(tmp_path)
    # snapshots every 6 ticks at 50x speed (one every 2 ms) while each encoding for a join takes 50 ms
    host = RoomHost(lambda _: bundle, engine, Limits(speed=50.0), {"hash_every": 6, "snapshot_every": 6})
    slow_prepare = Saved.prepare
    calls: list[int] = []

    def prepare(self: Saved, base: Saved | None) -> None:
        calls.append(self.tick)
        time.sleep(0.05)
        slow_prepare(self, base)

    async def story() -> float:
        first = Connection().open(host, "wat", "r", "10.0.0.1")
        await first.welcome()
        monkeypatch.setattr(Saved, "prepare", prepare)
        t0 = time.monotonic()
        second = Connection().open(host, "wat", "r", "10.0.0.2")
        await second.welcome()
        waited = time.monotonic() - t0
        for c in (first, second):
            c.put(None)
        await asyncio.gather(first.ended(), second.ended())
        await host.close()
        return waited

    waited = asyncio.run(story())
    assert len(calls) <= host_module.PREPARE_TRIES, calls
    assert waited < 2.0, f"the join waited {waited:.2f} s"
