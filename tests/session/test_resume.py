"""A room outlives its server: `layerw serve` killed with SIGKILL mid-game, started again, resumes the
room from its checkpoint when the player (who rejoins by itself) comes back, and the state-hash chain
the player ends with is the one an uninterrupted run of the same frames gives."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.session import protocol as p
from layerw.session.client import OnlineClient, Outcome, RoomAddress
from layerw.session.replica import Replica
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.conftest import GAMES
from tests.server_thread import free_port
from tests.session.test_directory import LAYERW, process, wait_serving
from tests.session.test_room import player_bytes

TICKS = 420
KILL_AT = 200  # the client's tick when the server is killed
CHECKPOINT_EVERY_S = 0.2
LOSS_GOAL_TICKS = 60  # one second of play at pong's 60 Hz


class JournalReplica(Replica):
    """A replica that keeps the timeline it ends on: the first WELCOME, every frame it applied (cut
    back when a STATE replaces its state) and its state hash at every hash tick."""

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        super().__init__(bundle, engine)
        self.first: p.Welcome | None = None
        self.rejoined: p.Welcome | None = None  # the WELCOME after the server came back
        self.frames: dict[int, p.Frame] = {}
        self.hashes: dict[int, str] = {}
        self.highest = 0  # the highest tick reached

    def welcome(self, msg: p.Welcome) -> None:
        if self.first is None:
            self.first = msg
        else:
            self.rejoined = msg
        super().welcome(msg)

    def load(self, state: p.State) -> None:
        self.frames = {t: f for t, f in self.frames.items() if t < state.tick}
        self.hashes = {t: h for t, h in self.hashes.items() if t <= state.tick}
        super().load(state)

    def apply(self, frame: p.Frame) -> bytes | None:
        self.frames[frame.tick] = frame
        report = super().apply(frame)
        self.highest = max(self.highest, self.tick)
        if self.tick % self.hash_every == 0:
            self.hashes[self.tick] = self.game.state_hash()
        return report


def steer(replica: Replica, local: InputState) -> None:
    """The player's devices: up, down, still, in turns of 50 ticks (so the log holds input changes)."""
    keys = (("KeyW", "ArrowUp"), ("KeyS",), ())[(replica.tick // 50) % 3]
    local.record["players"][0] = np.frombuffer(player_bytes(*keys), dtype=abi.PLAYER.dtype)[0]


def test_a_room_resumes_after_its_server_is_killed(built: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    build = built(GAMES / "pong")
    bundle = Bundle.open(build)
    store = LocalStore(tmp_path / "store")
    publish(build, store)
    env = {**os.environ, "LAYERW_CACHE_DIR": str(tmp_path / "cache")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [*LAYERW, "serve", "--store", str(store.root), "--host", "127.0.0.1", "--port", str(port),
             "--checkpoint-every", str(CHECKPOINT_EVERY_S)]
    client = OnlineClient(bundle, engine, retry_delays_s=(0.2, 0.5, 1, 1, 2, 2, 4, 4, 8))
    journal = client.replica = JournalReplica(bundle, engine)
    outcome: list[Outcome | BaseException] = []

    def player() -> None:
        try:
            outcome.append(asyncio.run(client.play(RoomAddress.parse(f"{url}/play/pong?room=r"), ticks=TICKS,
                                                   on_frame=lambda r, local: steer(r, local))))
        except BaseException as e:  # noqa: BLE001 - the test inspects what the player saw
            outcome.append(e)

    with process(serve, tmp_path / "serve-1.log", env) as first:
        wait_serving(url, first, tmp_path / "serve-1.log")
        thread = threading.Thread(target=player, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while journal.tick < KILL_AT and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert journal.tick >= KILL_AT, f"the player reached only tick {journal.tick}: {outcome}"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        seen_at_kill = journal.highest
    with process(serve, tmp_path / "serve-2.log", env) as second:
        wait_serving(url, second, tmp_path / "serve-2.log")
        thread.join(120)
        log = (tmp_path / "serve-2.log").read_text()
    assert not thread.is_alive(), "the player hung"
    result = outcome[0]
    assert isinstance(result, Outcome), result
    assert client.rejoins >= 1 and "resumed at tick" in log, log
    assert journal.first is not None and journal.rejoined is not None
    resumed_at = journal.rejoined.state.tick + len(journal.rejoined.state.frames)
    lost = seen_at_kill - resumed_at  # below 0 when the checkpoint held ticks the player had not yet seen
    assert lost <= LOSS_GOAL_TICKS, f"{lost} ticks of play lost (goal <= {LOSS_GOAL_TICKS})"
    assert journal.rejoined.seat == journal.first.seat == 0  # the same seat, by its token
    assert client.heals == 0  # the room never saw the player's hashes disagree after it resumed

    # The reference: the room's first state, then every frame of the timeline the player ended on,
    # with no snapshot from the resumed room in between; it hashes as the player did.
    reference = JournalReplica(bundle, engine)
    try:
        reference.welcome(journal.first)
        for tick in range(reference.tick, TICKS):
            reference.apply(journal.frames[tick])
        assert result.tick == TICKS and result.state_hash == reference.game.state_hash()
        assert journal.hashes == reference.hashes
        assert min(journal.hashes) < resumed_at < max(journal.hashes) == TICKS  # the chain spans the resume
    finally:
        reference.close()
        client.close()
