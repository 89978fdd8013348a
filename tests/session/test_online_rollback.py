"""Prediction over real WebSockets: two native players ahead of a uvicorn server's room on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.host import Limits
from layerw.session.replica import Replica
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.test_online import script

TICKS = 900


@pytest.fixture(scope="module")
def server(built: Callable[[Path], Path]) -> Iterator[tuple[str, object, Bundle]]:
    build = built(GAMES / "pong")
    app = create_app(DirCatalog([build]), limits=Limits(speed=4.0, messages_per_second=100, burst=100),
                     room_options={"hash_every": 30, "input_delay": 0})
    with serving(app) as url:
        yield url, app, Bundle.open(build)


class OwnInput:
    """A frame hook: after each predicted tick, did the tick carry this player's latest input?"""

    def __init__(self) -> None:
        self.checked = 0
        self.missed = 0
        self.chain: dict[int, str] = {}  # every confirmed hash the client reported

    def __call__(self, replica: Replica, local: InputState) -> None:
        self.chain.update(replica.reported)
        ring = replica.rollback.ring
        if replica.seat == 255 or not ring or ring[-1].tick != replica.tick - 1:
            return
        guess = np.frombuffer(ring[-1].players, dtype=abi.PLAYER.dtype)[replica.seat]
        self.checked += 1
        self.missed += guess.tobytes() != local.record["players"][0].tobytes()


def test_two_predicting_players_see_their_input_at_once_and_never_desync(
        server: tuple[str, object, Bundle], engine: Engine) -> None:
    url, app, bundle = server
    address = RoomAddress.parse(f"{url}/play/pong?room=ahead")
    clients = [OnlineClient(bundle, engine, prediction=Prediction(window=8, lead=4)) for _ in range(2)]
    hooks = [OwnInput(), OwnInput()]

    async def both() -> list[Outcome]:
        return await asyncio.gather(*(c.play(address, ticks=TICKS, recording=script(k), on_frame=h)
                                      for c, k, h in zip(clients, ["KeyW", "ArrowDown"], hooks, strict=True)))

    a, b = asyncio.run(both())
    room = app.state.host.runners[("pong", "ahead")].room  # type: ignore[attr-defined]
    assert a.tick == b.tick == TICKS and a.state_hash == b.state_hash
    assert room.hashes.get(TICKS, a.state_hash) == a.state_hash
    assert a.heals == b.heals == 0 and room.desyncs.until == -1  # the room never saw a hash it disagreed with
    for outcome, hook in zip((a, b), hooks, strict=True):
        assert outcome.predicted > TICKS // 2 and outcome.rollbacks > 5  # the other player's keys were guessed wrong
        assert hook.checked > TICKS // 2 and hook.missed == 0  # own input on the very next tick, every time
    shared = hooks[0].chain.keys() & hooks[1].chain.keys()
    assert len(shared) >= 10 and all(hooks[0].chain[t] == hooks[1].chain[t] for t in shared)
    for c in clients:
        c.close()


def test_a_spectator_follows_confirmed_frames_beside_predicting_players(
        server: tuple[str, object, Bundle], engine: Engine) -> None:
    url, _app, bundle = server
    address = RoomAddress.parse(f"{url}/play/pong?room=watched")
    player = OnlineClient(bundle, engine, prediction=Prediction(window=8, lead=3))
    watcher = OnlineClient(bundle, engine)

    async def both() -> list[Outcome]:
        return await asyncio.gather(player.play(address, ticks=300, recording=script("KeyW")),
                                    watcher.play(address, ticks=300, spectate=True))

    played, watched = asyncio.run(both())
    assert played.state_hash == watched.state_hash and watched.predicted == 0 and played.predicted > 0
    for c in (player, watcher):
        c.close()
