"""Rollback: a client's game run ahead of the room's confirmed frames, repaired when a guess was wrong.

The client simulates ticks the room has not confirmed yet (at most ``window`` of them): remote
players repeat their last confirmed input, and the local player's own input applies at the tick it
was sent for. Before each predicted tick it keeps the state (a snapshot) and the inputs it guessed.
When the room's frame for the oldest predicted tick arrives, equal inputs and no events (the usual
case) cost nothing; otherwise the game restores that tick's snapshot, applies the confirmed frame
and resimulates to the present, with the predictions made again from what is now known.

What leaves the client is always of confirmed ticks: ``confirmed_hash`` and ``confirmed_snapshot``
read the snapshot kept before the first unconfirmed tick, never the predicted present. Resimulated
ticks are never heard: ``on_samples`` gets each tick's sound once, when it is first simulated, and a
sound a rollback took back (started in a predicted tick, not again) fades out over 5 ms.
The browser client mirrors this class (one design, two languages).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from layerw import abi
from layerw.errors import ProtocolError, SessionError
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot
from layerw.session import protocol as p
from layerw.session.room import apply_frame
from layerw.wire import MAX_AHEAD

OWN_KEPT = 8 * MAX_AHEAD  # own inputs the room has not shown yet, at most

DEFAULT_WINDOW = 8  # predicted ticks at most (GGPO's default, 133 ms at 60 Hz)
MAX_WINDOW = 60  # a larger window would resimulate a second of game on one misprediction


@dataclass(frozen=True)
class Predicted:
    """One predicted tick: the state before it, the players' inputs guessed for it, and the state's
    hash when ``tick`` is a hash tick (kept so a confirmed tick's hash needs no resimulation)."""

    tick: int
    before: Snapshot
    players: bytes  # the lw_player array, as guessed
    state_hash: str | None


class Rollback:
    """Prediction and rollback over one game host; ``held`` is the room's input record as of the
    first unconfirmed tick (confirmed frames update it), ``seat`` the local player (``p.NO_SEAT``: none)."""

    def __init__(self, game: GameHost, held: InputState, *, seat: int = p.NO_SEAT, window: int = DEFAULT_WINDOW,
                 hash_every: int = 0, on_samples: Callable[[bytes], None] | None = None) -> None:
        if not 0 <= window <= MAX_WINDOW:
            raise SessionError(f"a prediction window is 0..{MAX_WINDOW} ticks, not {window}")
        self.game = game
        self.held = held
        self.seat = seat
        self.window = window
        self.hash_every = hash_every
        self.on_samples = on_samples  # where each tick's sound goes the first time it is simulated
        self.ring: deque[Predicted] = deque()  # one per tick in [confirmed, present), oldest first
        self.own: deque[tuple[int, bytes]] = deque()  # own inputs sent (target tick, lw_player), not yet confirmed
        self.scratch = InputState()
        self.confirmed = game.tick_count  # the first tick whose frame has not arrived
        self.predicted = 0  # ticks simulated ahead of the room, in all
        self.rollbacks = 0  # mispredictions repaired
        self.resimulated = 0  # ticks simulated again by those repairs

    @property
    def present(self) -> int:
        """The tick the game (and the screen) is at."""
        return self.game.tick_count

    @property
    def ahead(self) -> int:
        return self.present - self.confirmed

    def reset(self) -> None:
        """The game was given a confirmed state (a join or a heal): nothing is predicted any more."""
        self.ring.clear()
        self.confirmed = self.game.tick_count

    def local(self, target: int, player: bytes) -> None:
        """The local player's devices changed; the room was asked to apply ``player`` at ``target``."""
        if self.seat != p.NO_SEAT:
            self.own.append((target, player))

    # --- ahead of the room ------------------------------------------------------------------------

    def predict(self) -> bool:
        """Simulate the next tick ahead of the room; False when the window is full."""
        if self.ahead >= self.window:
            return False
        self._simulate_ahead()
        self.predicted += 1
        self._heard()
        return True

    def _simulate_ahead(self) -> None:
        tick = self.present
        players = self._guess(tick)
        due = self.hash_every and tick % self.hash_every == 0
        self.ring.append(Predicted(tick, self.game.snapshot(), players, self.game.state_hash() if due else None))
        self.scratch.record[...] = self.held.record
        self.scratch.record["players"] = np.frombuffer(players, dtype=abi.PLAYER.dtype)
        self.game.tick(self.scratch)

    def _guess(self, tick: int) -> bytes:
        """Every player's input for ``tick``: the held ones, the local player's as last sent for it."""
        players = self.held.record["players"].copy()
        mine = [player for target, player in self.own if target <= tick]
        if mine:
            players[self.seat] = np.frombuffer(mine[-1], dtype=abi.PLAYER.dtype)[0]
        return players.tobytes()

    # --- the room's word --------------------------------------------------------------------------

    def confirm(self, frame: p.Frame) -> None:
        """The room's frame for the first unconfirmed tick: tick with it (not ahead), accept the
        guess (it was right), or roll back to that tick and resimulate to the present."""
        if frame.tick != self.confirmed:
            raise ProtocolError(f"frame for tick {frame.tick} arrived when tick {self.confirmed} was due")
        self._forget_own(frame)
        if not self.ring:
            apply_frame(self.game, self.held, frame)
            self.confirmed += 1
            self._heard()
            return
        guess = self.ring.popleft()
        for seat, player in frame.changes:
            self.held.record["players"][seat] = np.frombuffer(player, dtype=abi.PLAYER.dtype)[0]
        self.confirmed += 1
        if not frame.events and self.held.record["players"].tobytes() == guess.players:
            return
        present = self.present  # every tick up to here has been heard: what is simulated again is not
        self.game.restore(guess.before)
        apply_frame(self.game, self.held, frame)
        later = list(self.ring)
        self.ring.clear()
        for _ in later:
            self._simulate_ahead()
        if self.present != present:
            raise ProtocolError(f"resimulation reached tick {self.present}, not {present}")  # a bug, never the peer's
        if self.on_samples is not None:
            self.game.resimulated()  # never heard; what the rollback took back fades out
        self.rollbacks += 1
        self.resimulated += 1 + len(later)

    def _forget_own(self, frame: p.Frame) -> None:
        """Own inputs the room applied in ``frame`` (and older ones it overwrote) are held now."""
        for seat, player in frame.changes:
            if seat == self.seat and any(_as_applied(sent) == player for _, sent in self.own):
                while self.own and _as_applied(self.own.popleft()[1]) != player:
                    pass
        # Nothing else is dropped: within a connection the room applies every input, in the order sent
        # (a late one at its own tick, when it runs far ahead of this client), so the frames show each
        # in turn; dropping old ones as "lost" made the prediction show keys the player had released.
        while len(self.own) > OWN_KEPT:  # memory's bound only (one input a tick at most)
            self.own.popleft()

    def confirmed_snapshot(self) -> Snapshot:
        """The state at the first unconfirmed tick (all frames before it confirmed)."""
        return self.ring[0].before if self.ring else self.game.snapshot()

    def confirmed_hash(self) -> str:
        """The state hash at the first unconfirmed tick, which must be a hash tick when the game is ahead."""
        if not self.ring:
            return self.game.state_hash()
        kept = self.ring[0].state_hash
        if kept is None:
            raise ProtocolError(f"no hash kept for tick {self.confirmed}: hash_every is {self.hash_every}")
        return kept

    def _heard(self) -> None:
        if self.on_samples is not None:
            self.on_samples(self.game.take_samples())


def _as_applied(player: bytes) -> bytes:
    """``player`` as the room applies it: connected, whatever the client said (``Room.submit``)."""
    record = np.frombuffer(player, dtype=abi.PLAYER.dtype).copy()
    record["connected"] = 1
    return record.tobytes()
