"""Kept snapshots: encoded once per snapshot tick, in a thread, and held at their encoded size."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from layerw.runtime.engine import Engine
from layerw.runtime.snapshot import Snapshot
from layerw.session import protocol as p
from layerw.session.host import PREPARE_TRIES, Limits, RoomHost
from layerw.session.room import Room
from tests.session.wire import INPUT_TICK, Connection, wat_game

FILL = f"(memory.fill (i32.const 16384) (i32.and {INPUT_TICK} (i32.const 255)) (i32.const 40000))"  # state per tick


def test_a_kept_snapshot_is_held_encoded(tmp_path: Path, engine: Engine) -> None:
    room = Room("r", wat_game(tmp_path, tick=FILL), engine, snapshot_every=10)
    try:
        for _ in range(40):
            room.step()
        raw = room.saved[-1].size
        assert [s.encoded for s in room.saved] == [False] * 4 and raw == room.saved[-1].snapshot.memory_size
        first = room.state_for(p.NO_BASE)
        assert room.state_for(p.NO_BASE).snapshot is first.snapshot  # encoded once, then reused
        assert room.saved[-1].encoded and room.saved[-1].size == len(first.snapshot) < raw / 10
        assert Snapshot.from_bytes(first.snapshot).memory == room.game.snapshot().memory  # nothing ticked since
        rejoin = room.state_for(room.saved[0].tick)
        assert rejoin.kind == p.DELTA and room.state_for(room.saved[0].tick).snapshot is rejoin.snapshot
    finally:
        room.close()


def test_joins_and_heals_between_snapshot_ticks_encode_once_off_the_loop(tmp_path: Path, engine: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[tuple[int, str]] = []  # (tick, thread) of every snapshot encoding
    to_bytes = Snapshot.to_bytes

    def counting(self: Snapshot) -> bytes:
        encoded.append((self.tick, threading.current_thread().name))
        return to_bytes(self)

    monkeypatch.setattr(Snapshot, "to_bytes", counting)
    host = RoomHost(lambda name: wat_game(tmp_path, tick=FILL), engine, Limits(speed=50.0, heal_burst=10),
                    {"hash_every": 10, "snapshot_every": 60_000})  # one snapshot: tick 0

    async def story() -> tuple[int, str]:
        clients = [Connection().open(host, "wat", "r") for _ in range(3)]
        for c in clients:
            await c.welcome()
        run = host.runners[("wat", "r")]
        sent = 0
        for c in clients:
            while run.room.tick <= 10 * (sent + 1):
                await c.next(p.Frame)
            c.put(p.hash_message(max(run.room.hashes), bytes(32)))  # disagrees: healed
            await c.next(p.State)
            sent += 1
        for c in clients:
            c.put(None)
        await asyncio.gather(*(c.ended() for c in clients))
        await host.close()
        return sent, threading.current_thread().name

    heals, loop_thread = asyncio.run(story())
    assert host.metrics.registry.get_sample_value("layerw_heals_total", {"game": "wat"}) == heals == 3
    assert [tick for tick, _ in encoded] == [0]  # 3 joins and 3 heals, one encoding
    assert all(thread != loop_thread for _, thread in encoded)  # never on the event loop


def test_a_room_nobody_joins_never_encodes_its_snapshots(tmp_path: Path, engine: Engine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[int] = []
    to_bytes = Snapshot.to_bytes

    def counting(self: Snapshot) -> bytes:
        encoded.append(self.tick)
        return to_bytes(self)

    monkeypatch.setattr(Snapshot, "to_bytes", counting)
    host = RoomHost(lambda name: wat_game(tmp_path, tick=FILL), engine, Limits(speed=50.0),
                    {"hash_every": 10, "snapshot_every": 10})

    async def story() -> tuple[list[tuple[int, bool]], int]:
        player = Connection().open(host, "wat", "r")
        await player.welcome()  # its join encodes the snapshot it is sent (and the next, if the room took one meanwhile)
        joined = len(encoded)
        run = host.runners[("wat", "r")]
        while run.room.tick < 60:
            await player.next(p.Frame)
        kept = [(s.tick, s.encoded) for s in run.room.saved]
        player.put(None)
        await player.ended()
        await host.close()
        return kept, joined

    kept, joined = asyncio.run(story())
    assert len(encoded) == joined and 1 <= joined <= PREPARE_TRIES + 1  # the join's, none since
    since = [was_encoded for tick, was_encoded in kept if tick > max(encoded)]
    assert since and not any(since)  # the snapshots kept since, all raw


def test_raw_kept_snapshots_of_all_rooms_stay_within_their_budget(tmp_path: Path, engine: Engine) -> None:
    budget = 300_000  # FILL's game holds ~128 KiB of state a snapshot: two rooms x four kept pass it
    host = RoomHost(lambda name: wat_game(tmp_path, tick=FILL), engine, Limits(speed=50.0, raw_snapshot_bytes=budget),
                    {"hash_every": 10, "snapshot_every": 10})

    async def story() -> tuple[int, int]:
        players = [Connection().open(host, "wat", room) for room in ("a", "b")]
        for c in players:
            await c.welcome()
        runs = [host.runners[("wat", room)] for room in ("a", "b")]
        while min(run.room.tick for run in runs) < 100:
            await players[0].next(p.Frame)
        # Rooms go on taking snapshots while one is encoded, so the bound holds whenever the encoder is idle:
        # look then (at 50x speed a snapshot is taken every 3 ms, an encode of one takes about a millisecond).
        deadline = asyncio.get_running_loop().time() + 10
        while host.encoding_kept:
            assert asyncio.get_running_loop().time() < deadline, "the encoder never caught up"
            await asyncio.sleep(0)
        raw = sum(s.size for run in runs for s in run.room.saved if not s.encoded)
        encoded = sum(s.encoded for run in runs for s in run.room.saved)
        for c in players:
            c.put(None)
        await asyncio.gather(*(c.ended() for c in players))
        await host.close()
        return raw, encoded

    raw, encoded = asyncio.run(story())
    assert raw <= budget and encoded > 0
