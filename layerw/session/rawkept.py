"""RawKept: the kept snapshots a host's rooms hold raw (unencoded), oldest first, within a byte budget.

A room keeps its snapshots raw until a join or heal needs one encoded (``RoomRunner.prepare``): a room
nobody joins never pays for compression (it cost every room of the rooms bench a zlib pass per
snapshot). What they hold raw is bounded server-wide, not per room: past ``budget`` the oldest are
encoded on the host's encoder thread and then held at their compressed size, so a flood of rooms
cannot hold four raw copies of its memory each. The budget is for what open rooms hold: a snapshot
leaves the count when a closed room lets it go (``drop``) or once it is freed.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict, deque
from collections.abc import Iterable

from layerw.session.saved import Saved


class RawKept:
    """Raw kept snapshots in the order rooms took them, with the bytes they count. The count is an
    upper bound of what is still held raw: a snapshot a join encoded counts until it is reached here
    (and is then let go without work); one that is freed (its room took newer ones) leaves the count
    when this object is next used, one of a closed room at its close. Rooms go on taking snapshots
    while one is encoded: what they hold raw passes the budget by at most what they took meanwhile.
    Used from one thread (the host's loop); snapshots may be freed on any."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._held = 0
        # keyed by weak reference: a live snapshot's finds its entry, a freed one's is the entry's own
        self._queue: OrderedDict[weakref.ref[Saved], int] = OrderedDict()
        self._freed: deque[weakref.ref[Saved]] = deque()  # entries whose snapshot was freed (by any thread)

    @property
    def held(self) -> int:
        """Bytes counted raw."""
        self._reap()
        return self._held

    def __len__(self) -> int:
        self._reap()
        return len(self._queue)

    def add(self, saved: Saved) -> None:
        """A room took ``saved``: count it while it is raw."""
        if not saved.encoded:
            self._reap()
            self._forget(weakref.ref(saved))  # counted once, as the newest
            size = saved.size
            self._queue[weakref.ref(saved, self._freed.append)] = size
            self._held += size

    def over(self) -> Saved | None:
        """The oldest snapshot to encode to come back within the budget; None once within it."""
        self._reap()
        while self._held > self.budget and self._queue:
            ref, size = self._queue.popitem(last=False)
            self._held -= size
            saved = ref()
            if saved is not None and not saved.encoded:
                return saved
        return None

    def drop(self, gone: Iterable[Saved]) -> None:
        """A room closed holding ``gone``: they leave the count now, not when the budget is next passed."""
        self._reap()
        for saved in gone:
            self._forget(weakref.ref(saved))

    def _reap(self) -> None:
        """Take the freed snapshots out of the count."""
        while True:
            try:
                ref = self._freed.popleft()
            except IndexError:
                return
            self._forget(ref)

    def _forget(self, ref: weakref.ref[Saved]) -> None:
        size = self._queue.pop(ref, None)
        if size is not None:
            self._held -= size
