"""A closed room is freed by reference counting alone: no reference cycle runs through a room, its
runner, its clients, their outboxes or its game. (Servers freeze their start-up heap out of the
garbage collector and allocate little, so a full collection may never come.)"""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from tests.session.wire import Connection, room_host, wat_game


def test_a_closed_room_is_freed_without_the_collector(tmp_path: Path, engine: Engine) -> None:
    host = room_host(wat_game(tmp_path), engine, empty_room_s=0.05)
    alive: dict[str, weakref.ref[object]] = {}

    async def story() -> None:
        anchor = Connection().open(host, "wat", "other")  # another room keeps the host's clocks running
        await anchor.welcome(role=p.SPECTATOR)
        player = Connection().open(host, "wat", "r")
        token = (await player.welcome()).token
        watcher = Connection().open(host, "wat", "r")
        await watcher.welcome(role=p.SPECTATOR)
        run = host.runners[("wat", "r")]
        alive.update(runner=weakref.ref(run), room=weakref.ref(run.room), game=weakref.ref(run.room.game))
        alive.update({f"client {i}": weakref.ref(c) for i, c in enumerate(run.clients)})
        while run.room.tick < 2 * run.room.snapshot_every + 10:  # snapshots taken and encoded
            await player.next(p.Frame)
        player.put(p.hash_message(max(run.room.hashes), bytes(32)))  # a heal
        await player.next(p.State)
        player.put(None)  # leaves; its seat is kept ...
        await player.ended()
        back = Connection().open(host, "wat", "r")  # ... and taken back
        await back.welcome(token=token)
        for c in (back, watcher):
            c.put(None)
        await asyncio.gather(back.ended(), watcher.ended())
        del run
        while ("wat", "r") in host.runners:  # empty: it closes
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # a few more beats of the shared clocks
        assert {name: ref() is None for name, ref in alive.items()} == dict.fromkeys(alive, True)
        gc.collect()
        cyclic.extend(type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("layerw"))
        anchor.put(None)
        await anchor.ended()
        await host.close()

    cyclic: list[str] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection would free goes to gc.garbage instead
    try:
        asyncio.run(story())
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == []  # the room's players came and went, and nothing of Layer-W's was left for the collector
