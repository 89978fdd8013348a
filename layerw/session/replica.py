"""Replica: a client's copy of a room's game: confirmed frames, and predicted ticks ahead of them.

It starts from the room's STATE (a snapshot, or a page delta against a snapshot this replica took
itself, plus the frames since), fast-forwards through those frames, then applies each broadcast
frame as it arrives. A player's replica may also run up to ``window`` ticks ahead of the frames
(``predict``; its ``Rollback`` repairs a wrong guess), and the screen shows that present; its hash
reports and its own snapshots are always of confirmed ticks. It keeps those snapshots at the room's
snapshot ticks, so a rejoin can ask for only the pages that changed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError
from layerw.runtime.engine import Engine
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.snapshot import Snapshot, apply_delta
from layerw.runtime.start import start_game
from layerw.runtime.tier import Tier
from layerw.session import protocol as p
from layerw.session.rollback import DEFAULT_WINDOW, Rollback
from layerw.wire import KEPT_SNAPSHOTS

REPORTED = 64  # hash reports a replica remembers (tick, hex digest): its recent confirmed hash chain


class Replica:
    def __init__(self, bundle: Bundle, engine: Engine, *, window: int = DEFAULT_WINDOW,
                 on_samples: Callable[[bytes], None] | None = None, tier: Tier = Tier.AUTO) -> None:
        # A replica mixes sound only for someone who listens (``on_samples``: `layerw join --sound`):
        # mixing costs every tick, and a replica fast-forwards thousands of them. ``tier``: the default
        # or one asked for; a replica's state hashes are the same on every tier.
        self.game: GameHost = start_game(bundle, engine, audio=on_samples is not None, tier=tier)
        self.inputs = InputState()
        self.saved: deque[Snapshot] = deque(maxlen=KEPT_SNAPSHOTS)
        self.seat = p.NO_SEAT
        self.token = bytes(p.TOKEN_SIZE)
        self.input_delay = 0
        self.hash_every = 0
        self.snapshot_every = 0
        self.window = window  # ticks a player's replica may predict (a spectator's stays on confirmed frames)
        self.on_samples = on_samples
        self.rollback = Rollback(self.game, self.inputs, window=0)
        self.reported: deque[tuple[int, str]] = deque(maxlen=REPORTED)
        self.welcomed = False  # a room welcomed it before: the next WELCOME is a rejoin

    @property
    def tick(self) -> int:
        """The tick the game (and the screen) is at: the confirmed tick, or ahead of it when predicting."""
        return self.game.tick_count

    @property
    def confirmed(self) -> int:
        """The first tick whose frame has not arrived."""
        return self.rollback.confirmed

    @property
    def base_tick(self) -> int:
        """The newest snapshot this replica holds, for a rejoin HELLO."""
        return self.saved[-1].tick if self.saved else p.NO_BASE

    def welcome(self, msg: p.Welcome) -> None:
        self.seat, self.token = msg.seat, msg.token
        self.input_delay, self.hash_every, self.snapshot_every = msg.input_delay, msg.hash_every, msg.snapshot_every
        window = 0 if msg.seat == p.NO_SEAT else self.window
        self.game.play_as(None if msg.seat == p.NO_SEAT else msg.seat)  # a cart's NETPLAY: its own player
        self.rollback = Rollback(self.game, self.inputs, seat=msg.seat, window=window, hash_every=msg.hash_every,
                                 on_samples=self.on_samples)
        self.load(msg.state)
        self.welcomed = True

    def load(self, state: p.State) -> None:
        """Replace the game state with the room's, then fast-forward through its frames (unheard). A
        replica welcomed before (a rejoin after a lost connection) loads as a heal does: what it was
        playing fades into the room's sound, no click; a first join has nothing playing to fade."""
        self._load(state, present=self.tick if self.welcomed else None)

    def heal(self, state: p.State) -> None:
        """The room's state replaces this one (a desync): load it, then predict again, unheard, up to
        the tick the screen had reached, so no tick is heard twice; the next samples heard fade in
        from what was playing before (a 5 ms ramp, as after a rollback, not a click)."""
        self._load(state, present=self.tick)

    def _load(self, state: p.State, present: int | None) -> None:
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
        self.rollback.reset()
        listener, self.rollback.on_samples = self.rollback.on_samples, None  # catching up is not heard
        try:
            for frame in state.frames:
                self.apply(p.decode_frame(frame))
            while present is not None and self.tick < present and self.rollback.predict():
                pass  # heard before the heal: heard again it would be a repeat
        finally:
            self.rollback.on_samples = listener
        self.game.skip_samples(fade=present is not None)

    def apply(self, frame: p.Frame) -> bytes | None:
        """Confirm a frame (tick with it, or check the prediction made for it); returns a HASH
        message of the newly confirmed tick when one is due."""
        self.rollback.confirm(frame)
        confirmed = self.rollback.confirmed
        if self.snapshot_every and confirmed % self.snapshot_every == 0:
            self.saved.append(self.rollback.confirmed_snapshot())
        if self.hash_every and confirmed % self.hash_every == 0:
            digest = self.rollback.confirmed_hash()
            self.reported.append((confirmed, digest))
            return p.hash_message(confirmed, bytes.fromhex(digest))
        return None

    def predict(self) -> bool:
        """Simulate the next tick ahead of the confirmed frames; False when the window is full."""
        return self.rollback.predict()

    def input_for(self, player: bytes) -> bytes:
        """An INPUT message carrying this player's devices for the tick they should apply to (the
        next tick the game simulates, plus the room's input delay); the prediction applies it there too."""
        target = self.tick + self.input_delay
        self.rollback.local(target, player)
        return p.input_message(target, player)

    def close(self) -> None:
        self.game.close()
