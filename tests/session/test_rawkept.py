"""RawKept: the oldest raw kept snapshots are encoded first, and only past the budget; a closed
room's snapshots, and freed ones, leave the count at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from layerw.runtime.engine import Engine
from layerw.runtime.snapshot import Snapshot
from layerw.session import protocol as p
from layerw.session.rawkept import RawKept
from layerw.session.saved import Saved
from tests.session.wire import Connection, room_host, wat_game
from tests.waiting import until


def saved(tick: int, size: int) -> Saved:
    return Saved(tick, Snapshot(module_sha256="0" * 64, tick=tick, pages=1, state_begin=0, memory=bytes(size)), b"")


def test_past_the_budget_the_oldest_raw_snapshot_is_encoded_first() -> None:
    kept = RawKept(budget=250)
    first, second, third = saved(1, 100), saved(2, 100), saved(3, 100)
    for s in (first, second):
        kept.add(s)
    assert kept.over() is None and kept.held == 200  # within the budget: nothing to encode
    kept.add(third)
    assert kept.over() is first and kept.held == 200 and kept.over() is None


def test_snapshots_dropped_or_encoded_meanwhile_are_let_go_without_work() -> None:
    kept = RawKept(budget=150)
    gone, joined, last = saved(1, 100), saved(2, 100), saved(3, 100)
    for s in (gone, joined, last):
        kept.add(s)
    del gone  # its room let it go (freed by refcount)
    joined.full()  # a join encoded it
    assert kept.over() is None and kept.held == 100 and len(kept) == 1
    kept.add(joined)  # an encoded snapshot is not counted
    assert kept.held == 100


def test_a_closed_room_s_snapshots_and_freed_ones_leave_the_count_at_once() -> None:
    kept = RawKept(budget=250)
    closed, still_open = [saved(1, 100), saved(2, 100)], saved(3, 100)
    for s in (*closed, still_open):
        kept.add(s)
    kept.drop(closed)  # its room closed: its snapshots, alive until the room is freed, count no more
    assert kept.held == 100 and len(kept) == 1
    newer = saved(4, 100)
    kept.add(newer)
    assert kept.over() is None and kept.held == 200  # within the budget: nothing of the closed room's counts
    let_go = saved(5, 100)
    kept.add(let_go)
    del let_go  # the room took newer ones and freed it: it leaves the count, the open room's stay
    assert kept.held == 200 and len(kept) == 2 and kept.over() is None
    kept.add(newer)  # taken again: counted once
    assert kept.held == 200 and len(kept) == 2


def test_a_room_host_counts_no_snapshot_of_a_closed_room(tmp_path: Path, engine: Engine) -> None:
    """A room that closes leaves the host's raw count at its close, even while something still
    holds it, well within the budget (which the host would otherwise reach only after other rooms'
    snapshots filled the closed room's share)."""
    host = room_host(wat_game(tmp_path), engine, empty_room_s=0.05)

    async def story() -> tuple[int, int, tuple[int, int]]:
        player = Connection().open(host, "wat", "r")
        await player.welcome()
        run = host.runners[("wat", "r")]
        while run.room.tick < 3 * run.room.snapshot_every:  # snapshots taken, older ones let go
            await player.next(p.Frame)
        raw, counted = sum(s.size for s in run.room.saved if not s.encoded), host.raw_kept.held
        room = run.room  # held here past its close: its snapshots outlive the close, and must not count
        del run
        player.put(None)
        await player.ended()
        await until(lambda: ("wat", "r") not in host.runners, "the empty room closes")
        left = host.raw_kept.held, len(host.raw_kept)  # as soon as it is closed
        assert room.saved  # still alive
        del room
        await host.close()
        return raw, counted, left

    raw, counted, left = asyncio.run(story())
    assert counted >= raw > 0 and counted < host.raw_kept.budget  # the open room's raw snapshots counted
    assert left == (0, 0)
