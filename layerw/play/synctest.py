"""SyncTest: GGPO's check that a game survives rollback — ``layerw run GAME --headless --synctest N``.

Every tick is simulated once as usual; then the game rolls back ``N`` ticks (restores the snapshot it
took before the tick N ticks ago) and resimulates them with the inputs they had, and the state hash
must equal the first simulation's. A game that keeps state where snapshots cannot see it, or reads
anything but its inputs, fails here with ``NotDeterministic`` naming the tick, before any player
sees it desync. Resimulated ticks are never heard: only the first simulation's samples are kept.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass

import numpy as np

from layerw.errors import GameError, InputError, NotDeterministic
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot

MAX_ROLLBACK = 64  # ticks a SyncTest may roll back: more is no longer a prediction window


@dataclass(frozen=True)
class Simulated:
    """One tick as first simulated: the state before it and the inputs it ran with."""

    before: Snapshot
    inputs: np.ndarray


class SyncTest:
    """Drives ``game`` one tick at a time, rolling back and resimulating ``rollback`` ticks after each."""

    def __init__(self, game: GameHost, rollback: int, *, keep_samples: bool = False) -> None:
        if not 1 <= rollback <= MAX_ROLLBACK:
            raise InputError(f"a SyncTest rolls back 1..{MAX_ROLLBACK} ticks, not {rollback}")
        self.game = game
        self.rollback = rollback
        self.history: deque[Simulated] = deque(maxlen=rollback)
        self.scratch = InputState()
        self.keep_samples = keep_samples  # else the first simulation's samples are dropped too (no one listens)
        self._heard: list[bytes] = []
        self._heard_hash = hashlib.sha256()  # of the first simulation's samples: the run's audio hash
        self.resimulated = 0  # ticks simulated again, in all

    def tick(self, inputs: InputState) -> None:
        """Simulate one tick with ``inputs``, then roll back and check (once ``rollback`` ticks have run)."""
        game = self.game
        self.history.append(Simulated(game.snapshot(), inputs.record.copy()))
        game.tick(inputs)
        first = game.state_hash()
        heard = game.take_samples()  # before the rollback: what the first simulation mixed is what plays
        self._heard_hash.update(heard)
        if self.keep_samples:
            self._heard.append(heard)
        if len(self.history) == self.rollback:
            self._check(first)

    def _check(self, first: str) -> None:
        game = self.game
        end = game.tick_count
        game.restore(self.history[0].before)
        for simulated in self.history:
            self.scratch.record[...] = simulated.inputs
            game.tick(self.scratch)
        game.take_samples()  # resimulated ticks are never heard
        self.resimulated += len(self.history)
        if game.tick_count != end:
            raise GameError(f"{game.name}: resimulation ended at tick {game.tick_count}, not {end}",
                            game=game.name, tick=game.tick_count)
        again = game.state_hash()
        if again != first:
            raise NotDeterministic(
                f"{game.name} is not deterministic under rollback: tick {end} simulated again from tick "
                f"{end - self.rollback} with the same inputs hashes {again[:16]}, the first time {first[:16]}; "
                "it keeps state outside its memory or reads something other than its inputs",
                game=game.name, tick=end, rollback=self.rollback)

    def take_samples(self) -> bytes:
        """The first simulation's samples since the last call (resimulations add none)."""
        out = b"".join(self._heard)
        self._heard.clear()
        return out

    def audio_hash(self) -> str:
        """SHA-256 of the samples heard (the first simulation's): a run without SyncTest hashes the same."""
        return self._heard_hash.hexdigest()
