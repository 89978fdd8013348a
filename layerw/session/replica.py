"""Replica: a client's copy of a room's game, advanced only by confirmed frames.

It starts from the room's STATE (a snapshot, or a page delta against a snapshot this replica took
itself, plus the frames since), fast-forwards through those frames, then applies each broadcast
frame as it arrives. It keeps its own snapshots at the room's snapshot ticks, so a rejoin can ask
for only the pages that changed.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError
from layerw.runtime.engine import Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot, apply_delta
from layerw.runtime.start import start_game
from layerw.session import protocol as p
from layerw.session.room import apply_frame
from layerw.wire import KEPT_SNAPSHOTS


class Replica:
    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        # No native room front-end plays sound yet (`layerw join` has no speaker), so the replica
        # mixes none: mixing cost every confirmed tick, and a replica fast-forwards thousands of them.
        self.game: GameHost = start_game(bundle, engine, audio=False)
        self.inputs = InputState()
        self.saved: deque[Snapshot] = deque(maxlen=KEPT_SNAPSHOTS)
        self.seat = p.NO_SEAT
        self.token = bytes(p.TOKEN_SIZE)
        self.input_delay = 0
        self.hash_every = 0
        self.snapshot_every = 0

    @property
    def tick(self) -> int:
        return self.game.tick_count

    @property
    def base_tick(self) -> int:
        """The newest snapshot this replica holds, for a rejoin HELLO."""
        return self.saved[-1].tick if self.saved else p.NO_BASE

    def welcome(self, msg: p.Welcome) -> None:
        self.seat, self.token = msg.seat, msg.token
        self.input_delay, self.hash_every, self.snapshot_every = msg.input_delay, msg.hash_every, msg.snapshot_every
        self.load(msg.state)

    def load(self, state: p.State) -> None:
        """Replace the game state with the room's, then fast-forward through its frames."""
        if state.kind == p.DELTA:
            base = next((s for s in self.saved if s.tick == state.base_tick), None)
            if base is None:
                raise ProtocolError(f"delta against tick {state.base_tick}, a snapshot this client does not hold")
            snap = apply_delta(base, state.snapshot)
        else:
            snap = Snapshot.from_bytes(state.snapshot)
        if snap.tick != state.tick:
            raise ProtocolError(f"STATE says tick {state.tick} but its snapshot is of tick {snap.tick}")
        self.game.restore(snap)
        self.inputs.record[...] = np.frombuffer(state.inputs, dtype=abi.INPUT.dtype)[0]
        self.saved.clear()
        self.saved.append(snap)
        for frame in state.frames:
            self.apply(p.decode_frame(frame))

    def apply(self, frame: p.Frame) -> bytes | None:
        """Tick with a confirmed frame; returns a HASH message when one is due."""
        apply_frame(self.game, self.inputs, frame)
        if self.snapshot_every and self.tick % self.snapshot_every == 0:
            self.saved.append(self.game.snapshot())
        if self.hash_every and self.tick % self.hash_every == 0:
            return p.hash_message(self.tick, bytes.fromhex(self.game.state_hash()))
        return None

    def input_for(self, player: bytes) -> bytes:
        """An INPUT message carrying this player's devices for the tick they should apply to."""
        return p.input_message(self.tick + self.input_delay, player)

    def close(self) -> None:
        self.game.close()
