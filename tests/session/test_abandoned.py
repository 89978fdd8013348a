"""Abandoned checkpoints: a room whose checkpoint is older than the configured age is never resumed
(it starts over, and a returning player is told: RoomLost), and its objects are collected by
``gc_rooms`` (what `layerw gc` and a starting `layerw serve` run) while recent rooms' stay."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.errors import RoomLost
from layerw.runtime.engine import Engine
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session import protocol as p
from layerw.session.checkpoint import room_prefix
from layerw.session.checkpointer import Checkpoints
from layerw.session.room import Room
from layerw.store.gc import gc_rooms
from layerw.store.local import LocalStore
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.test_checkpoint import OPTIONS, drained, play


def checkpointed(store: LocalStore, pong: Bundle, engine: Engine, room_id: str) -> bytes:
    """A room played 40 ticks and checkpointed (its process then dies); returns its player's token."""
    checkpoints = Checkpoints(store, every_s=0.001, durable=False)

    async def story() -> bytes:
        room = Room(f"pong/{room_id}", pong, engine, **OPTIONS)
        token = room.join(p.Hello(p.PLAYER, bytes(p.TOKEN_SIZE), p.NO_BASE)).token
        writer = checkpoints.writer("pong", room_id, room)
        await play(room, writer, 40, {})
        await drained(checkpoints)
        room.close()
        return token

    token = asyncio.run(story())
    checkpoints.close()
    return token


def age(store: LocalStore, room_id: str, seconds: float) -> None:
    """Make every object of the room look ``seconds`` old (as if nobody came back since)."""
    then = time.time() - seconds
    for obj in store.list(room_prefix("pong", room_id)):
        os.utime(store.root / obj.key, (then, then))


def test_an_abandoned_checkpoint_is_never_resumed(built: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    pong = Bundle.open(built(GAMES / "pong"))
    store = LocalStore(tmp_path / "store")
    token = checkpointed(store, pong, engine, "old")
    with Checkpoints(store, max_age_s=3600) as keeping:
        resumed = keeping.open("pong", "old", pong, engine, OPTIONS)
        assert resumed.tick == 40 and resumed.started_over is None  # young enough: resumed
        resumed.close()
    time.sleep(0.05)
    with Checkpoints(store, max_age_s=0.01) as strict:
        fresh = strict.open("pong", "old", pong, engine, OPTIONS)
    assert fresh.tick == 0 and fresh.started_over is not None and "abandoned" in fresh.started_over
    with pytest.raises(RoomLost):
        fresh.join(p.Hello(p.PLAYER, token, p.NO_BASE))  # the returning player is told, not seated anew
    fresh.close()


def test_abandoned_checkpoints_are_collected_and_recent_ones_kept(built: Callable[[Path], Path], engine: Engine,
                                                                 tmp_path: Path) -> None:
    pong = Bundle.open(built(GAMES / "pong"))
    store = LocalStore(tmp_path / "store")
    for room_id in ("old", "recent"):
        checkpointed(store, pong, engine, room_id)
    age(store, "old", 7200)
    dry = gc_rooms(store, max_age_s=3600, dry_run=True)
    assert (dry.rooms, dry.kept) == (1, 1) and any(store.list(room_prefix("pong", "old")))
    r = gc_rooms(store, max_age_s=3600)
    assert (r.rooms, r.kept) == (1, 1) and r.deleted >= 2 and r.deleted_bytes > 0  # the head and its snapshot
    assert not any(store.list(room_prefix("pong", "old")))
    assert any(store.list(room_prefix("pong", "recent")))

    checkpointed(store, pong, engine, "gone")
    age(store, "gone", 7200)
    app = create_app(DirCatalog([built(GAMES / "pong")]), store=store, checkpoints=Checkpoints(store, max_age_s=3600))
    with serving(app):  # a server collects abandoned rooms as it starts
        deadline = time.monotonic() + 10
        while any(store.list(room_prefix("pong", "gone"))) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not any(store.list(room_prefix("pong", "gone"))) and any(store.list(room_prefix("pong", "recent")))
