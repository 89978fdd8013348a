"""RawKept: the kept snapshots a host's rooms hold raw (unencoded), oldest first, within a byte budget.

A room keeps its snapshots raw until a join or heal needs one encoded (``RoomRunner.prepare``): a room
nobody joins never pays for compression (it cost every room of the rooms bench a zlib pass per
snapshot). What they hold raw is bounded server-wide, not per room: past ``budget`` the oldest are
encoded on the host's encoder thread and then held at their compressed size, so a flood of rooms
cannot hold four raw copies of its memory each.
"""

from __future__ import annotations

import weakref
from collections import deque

from layerw.session.saved import Saved


class RawKept:
    """Raw kept snapshots in the order rooms took them, with the bytes they count. The count is an
    upper bound of what is still held raw: a snapshot a room let go, or one a join encoded, counts
    until it is reached here (and is then let go without work). Rooms go on taking snapshots while
    one is encoded: what they hold raw passes the budget by at most what they took meanwhile."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0
        self._queue: deque[tuple[weakref.ref[Saved], int]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, saved: Saved) -> None:
        """A room took ``saved``: count it while it is raw."""
        if not saved.encoded:
            size = saved.size
            self._queue.append((weakref.ref(saved), size))
            self.held += size

    def over(self) -> Saved | None:
        """The oldest snapshot to encode to come back within the budget; None once within it."""
        while self.held > self.budget and self._queue:
            ref, size = self._queue.popleft()
            self.held -= size
            saved = ref()
            if saved is not None and not saved.encoded:
                return saved
        return None
