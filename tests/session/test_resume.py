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
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.session import protocol as p
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.directory import RedisDirectory
from layerw.session.replica import Replica
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.conftest import GAMES
from tests.server_thread import free_port
from tests.session.redis_server import redis_server
from tests.session.test_directory import LAYERW, get_json, process, wait_serving
from tests.session.test_room import player_bytes

TICKS = 420
KILL_AT = 200  # the client's tick when the server is killed
CHECKPOINT_EVERY_S = 0.2
LOSS_GOAL_TICKS = 60  # one second of play at pong's 60 Hz
CLAIM_TTL_S = 2.0  # how long a dead server's claim holds its rooms (30 s by default)


class JournalReplica(Replica):
    """A replica that keeps the timeline it ends on: the first WELCOME, every frame it applied (cut
    back when a STATE replaces its state) and its state hash at every hash tick."""

    WINDOW = 0  # on confirmed frames: its journal is the room's timeline

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        super().__init__(bundle, engine, window=self.WINDOW)
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


class Player:
    """A native player in a thread, journaling its timeline, rejoining by itself (patiently: a
    killed server's claim may take a while to lapse)."""

    def __init__(self, bundle: Bundle, engine: Engine, address: str, journal: type[JournalReplica] = JournalReplica,
                 source: str | None = None, prediction: Prediction | None = None) -> None:
        self.bundle, self.engine = bundle, engine
        self.client = OnlineClient(bundle, engine, retry_delays_s=(0.2, 0.5, 1, 1, 2, 2, 4, 4, 8), source=source,
                                   prediction=prediction or Prediction())
        self.journal = self.client.replica = journal(bundle, engine)
        self.outcome: list[Outcome | BaseException] = []
        self.thread = threading.Thread(target=self._play, args=(address,), daemon=True)
        self.thread.start()

    def _play(self, address: str) -> None:
        try:
            self.outcome.append(asyncio.run(self.client.play(RoomAddress.parse(address), ticks=TICKS,
                                                             on_frame=lambda r, local: steer(r, local))))
        except BaseException as e:  # noqa: BLE001 - the test inspects what the player saw
            self.outcome.append(e)

    def reach(self, tick: int) -> None:
        deadline = time.monotonic() + 60
        while self.journal.tick < tick and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert self.journal.tick >= tick, f"the player reached only tick {self.journal.tick}: {self.outcome}"

    def check_resumed(self, seen_at_kill: int) -> None:
        """The player finished, rejoined its seat once the room was resumed, lost at most the goal,
        and its hash chain is an uninterrupted run's: the room's first state, then every frame of the
        timeline the player ended on, with no snapshot of the resumed room in between."""
        self.thread.join(120)
        assert not self.thread.is_alive(), "the player hung"
        result, client, journal = self.outcome[0], self.client, self.journal
        assert isinstance(result, Outcome), result
        assert client.rejoins >= 1 and journal.first is not None and journal.rejoined is not None
        resumed_at = journal.rejoined.state.tick + len(journal.rejoined.state.frames)
        lost = seen_at_kill - resumed_at  # below 0 when the checkpoint held ticks the player had not yet seen
        assert lost <= LOSS_GOAL_TICKS, f"{lost} ticks of play lost (goal <= {LOSS_GOAL_TICKS})"
        assert journal.rejoined.seat == journal.first.seat == 0  # the same seat, by its token
        assert client.heals == 0  # the room never saw the player's hashes disagree after it resumed
        reference = JournalReplica(self.bundle, self.engine)
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


def serve_command(store: LocalStore, port: int, *more: str) -> list[str]:
    return [*LAYERW, "serve", "--store", str(store.root), "--host", "127.0.0.1", "--port", str(port),
            "--checkpoint-every", str(CHECKPOINT_EVERY_S), *more]


def published(built: Callable[[Path], Path], tmp_path: Path) -> tuple[Bundle, LocalStore, dict[str, str]]:
    build = built(GAMES / "pong")
    store = LocalStore(tmp_path / "store")
    publish(build, store)
    return Bundle.open(build), store, {**os.environ, "LAYERW_CACHE_DIR": str(tmp_path / "cache")}


def test_a_room_resumes_after_its_server_is_killed(built: Callable[[Path], Path], engine: Engine, tmp_path: Path) -> None:
    """The same server, killed and started again."""
    bundle, store, env = published(built, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(serve_command(store, port), tmp_path / "serve-1.log", env) as first:
        wait_serving(url, first, tmp_path / "serve-1.log")
        player = Player(bundle, engine, f"{url}/play/pong?room=r")
        player.reach(KILL_AT)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        seen_at_kill = player.journal.highest
    with process(serve_command(store, port), tmp_path / "serve-2.log", env) as second:
        wait_serving(url, second, tmp_path / "serve-2.log")
        player.check_resumed(seen_at_kill)
    assert "resumed at tick" in (tmp_path / "serve-2.log").read_text()


def test_another_server_behind_redis_resumes_a_killed_servers_room(built: Callable[[Path], Path], engine: Engine,
                                                                  tmp_path: Path) -> None:
    """Two servers share a Redis directory and a store; the player enters through B, the room
    lives on A. A is killed: once its claim lapses, B claims the room and resumes it from A's
    checkpoint, and the player, rejoining through B, goes on with the same hash chain."""
    bundle, store, env = published(built, tmp_path)
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with redis_server(tmp_path / "redis") as redis, ExitStack() as stack:
        servers = [stack.enter_context(process(serve_command(store, port, "--public-url", url, "--rooms", redis.url,
                                                             "--claim-ttl", str(CLAIM_TTL_S)), tmp_path / f"serve-{i}.log", env))
                   for i, (port, url) in enumerate(zip(ports, urls, strict=True))]
        for i, (url, server) in enumerate(zip(urls, servers, strict=True)):
            wait_serving(url, server, tmp_path / f"serve-{i}.log")
        owner = RedisDirectory(redis.url, ttl_s=10)  # long enough for A to build the room and keep its claim
        owner.claim("pong/r", urls[0])  # the room lives on A (as if a player had entered there first)
        owner.close()
        player = Player(bundle, engine, f"{urls[1]}/play/pong?room=r")
        player.reach(KILL_AT)
        assert [r["room"] for r in get_json(f"{urls[0]}/rooms")] == ["r"]  # type: ignore[attr-defined]
        os.kill(servers[0].pid, signal.SIGKILL)
        servers[0].wait(10)
        seen_at_kill = player.journal.highest
        player.check_resumed(seen_at_kill)
        assert [r["room"] for r in get_json(f"{urls[1]}/rooms")] == ["r"]  # type: ignore[attr-defined]
    assert "resumed at tick" in (tmp_path / "serve-1.log").read_text()


class PredictingJournal(JournalReplica):
    """A journal of a player that runs ahead of the room (rollback): what it keeps is its confirmed
    timeline — each confirmed frame, and the confirmed state's hash at every hash tick (the one it
    reports to the room), never a predicted state's."""

    WINDOW = 8

    def apply(self, frame: p.Frame) -> bytes | None:
        self.frames[frame.tick] = frame
        report = Replica.apply(self, frame)
        self.highest = max(self.highest, self.confirmed)
        if self.confirmed % self.hash_every == 0:
            self.hashes[self.confirmed] = self.rollback.confirmed_hash()
        return report


def test_a_predicting_players_confirmed_chain_survives_a_kill(built: Callable[[Path], Path], engine: Engine,
                                                             tmp_path: Path) -> None:
    """A player predicting 4 ticks ahead (so its game state is mostly ahead of the room's when the
    server dies): the server is killed with SIGKILL and started again, the player rejoins its seat,
    and its confirmed hash chain is an uninterrupted run's."""
    bundle, store, env = published(built, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(serve_command(store, port), tmp_path / "serve-1.log", env) as first:
        wait_serving(url, first, tmp_path / "serve-1.log")
        player = Player(bundle, engine, f"{url}/play/pong?room=r", PredictingJournal, prediction=Prediction(window=8, lead=4))
        player.reach(KILL_AT)
        deadline = time.monotonic() + 5
        while player.journal.tick <= player.journal.confirmed and time.monotonic() < deadline:
            time.sleep(0.001)
        assert player.journal.tick > player.journal.confirmed  # it runs ahead of the room as it dies
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        seen_at_kill = player.journal.highest
    with process(serve_command(store, port), tmp_path / "serve-2.log", env) as second:
        wait_serving(url, second, tmp_path / "serve-2.log")
        outcome = player.outcome
        player.check_resumed(seen_at_kill)
    result = outcome[0]
    assert isinstance(result, Outcome) and result.predicted > 0  # it predicted all along, and the chain still holds
    assert "resumed at tick" in (tmp_path / "serve-2.log").read_text()
