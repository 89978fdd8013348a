"""SaveSync: a native game's save slots kept in step with the player's slots on a server.

``layerw run --online-saves URL`` plays from the local save directory as ever (a crash mid-play
loses nothing committed there) and syncs around the play: before the game starts the server's
slots are pulled into the directory (the server holds what the player saved last, from any device
or browser), and when it ends every slot the play wrote is pushed (and one it deleted, deleted).
A slot changed on two devices at once keeps the last push. The player is the key in
``--player-key`` (``online_saves.PlayerKey``).
"""

from __future__ import annotations

import logging
from types import TracebackType

from layerw.play.online_saves import OnlineSaves
from layerw.saves import Saves, Slot

log = logging.getLogger("layerw.play")


class SaveSync:
    def __init__(self, local: Saves, online: OnlineSaves) -> None:
        self.local, self.online = local, online
        self.pulled: dict[str, Slot] = {}  # each slot as the play started with it

    def pull(self) -> list[str]:
        """Copy the server's slots into the local directory; returns the names copied."""
        copied = []
        for name in self.online.names():
            slot = self.online.read(name)
            if slot is None:
                continue
            if self.local.read(name) != slot:
                self.local.write(name, slot.data, slot.version)
                copied.append(name)
        self.pulled = {name: slot for name in self.local.names() if (slot := self.local.read(name)) is not None}
        log.info("pulled %d save slots from %s", len(copied), self.online.game)
        return copied

    def push(self) -> list[str]:
        """Send every slot the play wrote or deleted to the server; returns the names sent."""
        sent = []
        now = {name: slot for name in self.local.names() if (slot := self.local.read(name)) is not None}
        for name, slot in now.items():
            if self.pulled.get(name) != slot:
                self.online.write(name, slot.data, slot.version)
                sent.append(name)
        for name in self.pulled.keys() - now.keys():
            self.online.delete(name)
            sent.append(name)
        self.pulled = now
        log.info("pushed %d save slots of %s", len(sent), self.online.game)
        return sent

    def close(self) -> None:
        self.online.close()

    def __enter__(self) -> SaveSync:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
