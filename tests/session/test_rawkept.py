"""RawKept: the oldest raw kept snapshots are encoded first, and only past the budget."""

from __future__ import annotations

from layerw.runtime.snapshot import Snapshot
from layerw.session.rawkept import RawKept
from layerw.session.saved import Saved


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
