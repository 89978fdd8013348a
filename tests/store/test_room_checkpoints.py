"""Room checkpoints on both store backends (a local directory and SeaweedFS's S3): written across
several kept snapshots (full ones and deltas, older chains swept), bounded in objects, resumed to
the same state, and deleted when the room ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.checkpoint import Checkpoint, head_key, room_prefix
from layerw.session.checkpointer import Checkpoints
from layerw.session.room import Room
from layerw.store.store import Store
from tests.conftest import GAMES
from tests.session.test_checkpoint import OPTIONS, drained, play


def test_checkpoints_on_each_backend(store: Store, built: Callable[[Path], Path], engine: Engine) -> None:
    pong = Bundle.open(built(GAMES / "pong"))
    checkpoints = Checkpoints(store, every_s=0.001, full_every=2)
    reference: dict[int, str] = {}
    seen: list[int] = []  # objects under the room's prefix after each stretch of play

    async def story() -> int:
        room = Room("pong/s3", pong, engine, **OPTIONS)
        room.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE))
        writer = checkpoints.writer("pong", "s3", room)
        for _ in range(6):  # 6 x 30 ticks: 9 kept snapshots, so chains of 2 are replaced and swept
            await play(room, writer, 30, reference)
            await drained(checkpoints)
            seen.append(sum(1 for _ in store.list(room_prefix("pong", "s3"))))
        writer.stop(ended=False)  # as a stopping server: one last checkpoint, at the room's tick
        await drained(checkpoints)
        room.close()
        return writer.durable_tick

    durable = asyncio.run(story())
    assert durable == 180 and max(seen) <= 1 + 2, (durable, seen)  # the head and at most full_every snapshots
    chain = Checkpoint.decode(store.get(head_key("pong", "s3"))).chain
    assert [link.kind for link in chain] in (["full"], ["full", "delta"]) and chain[-1].tick == 180, chain
    resumed = checkpoints.open("pong", "s3", pong, engine, {})
    assert resumed.tick == durable and resumed.game.state_hash() == reference[durable]
    resumed.close()

    async def end() -> None:
        writer = checkpoints.writer("pong", "s3", room := Room("pong/s3", pong, engine, **OPTIONS))
        writer.stop(ended=True)
        room.close()
        await drained(checkpoints)

    asyncio.run(end())
    assert list(store.list(room_prefix("pong", "s3"))) == []
    checkpoints.close()
