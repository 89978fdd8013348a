"""Thousands of ticks through a real server (rooms fast-forwarded): 4 players, rejoin, late join,
a forced desync healed over the wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.tier import Tier
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.client import OnlineClient, Prediction, RoomAddress
from layerw.session.host import Limits
from layerw.session.replica import Replica
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.test_online import script


@pytest.fixture(scope="module")
def fast(built: Callable[[Path], Path]) -> Iterator[tuple[str, object, Bundle]]:
    build = built(GAMES / "pong")
    app = create_app(DirCatalog([build]), limits=Limits(speed=20.0, queue_frames=20_000),
                     room_options={"hash_every": 30, "snapshot_every": 600,
                                   "grace_ticks": 2400})  # 2 s at speed 20: the 0.5 s away below, with room for a loaded machine
    with serving(app) as url:
        yield url, app, Bundle.open(build)


def room_hash(app: object, room: str, tick: int) -> str | None:
    return app.state.host.runners[("pong", room)].room.hashes.get(tick)  # type: ignore[attr-defined,no-any-return]


def test_four_players_for_thousands_of_ticks(fast: tuple[str, object, Bundle], engine: Engine) -> None:
    url, app, bundle = fast
    address = RoomAddress.parse(f"{url}/play/pong?room=four")
    clients = [OnlineClient(bundle, engine) for _ in range(4)]
    keys = ["KeyW", "KeyS", "ArrowUp", "ArrowDown"]

    async def all_four() -> list[object]:
        plays = (c.play(address, ticks=3000, recording=script(k)) for c, k in zip(clients, keys, strict=True))
        return await asyncio.gather(*plays)

    outcomes = asyncio.run(all_four())
    assert len({o.state_hash for o in outcomes}) == 1  # type: ignore[attr-defined]
    assert room_hash(app, "four", 3000) in (None, outcomes[0].state_hash)  # type: ignore[attr-defined]
    assert sorted(o.seat for o in outcomes) == [0, 1, 2, 3]  # type: ignore[attr-defined]
    for c in clients:
        c.close()


def test_leaving_reads_on_until_the_server_answers_the_close(fast: tuple[str, object, Bundle], engine: Engine) -> None:
    """A player that stops reading at its last tick leaves at once, not after websockets' 10 s close
    timeout: the room streams frames until it reads the close, websockets stops reading the socket
    once 16 of them wait unread, and the server's close answer comes behind them. Made certain here:
    the client's loop is busy while the room's frames pile up, and the server is slow to answer."""
    url, app, bundle = fast
    address = RoomAddress.parse(f"{url}/play/pong?room=leaving")
    client = OnlineClient(bundle, engine)
    stopped: list[float] = []

    def last_tick(replica: Replica, _local: object) -> bool | None:
        if replica.tick < 600:
            return None
        time.sleep(0.3)  # a busy client: ~360 frames pile up unread (speed 20)
        server_loop(app).call_soon_threadsafe(time.sleep, 0.5)  # a busy server: it reads the close after this
        stopped.append(time.monotonic())
        return False

    outcome = asyncio.run(client.play(address, ticks=10_000, on_frame=last_tick))
    left_in = time.monotonic() - stopped[0]
    client.close()
    assert outcome.tick == 600  # type: ignore[attr-defined]
    assert left_in < 5.0  # the server answers after 0.5 s; websockets' close_timeout is 10 s


def server_loop(app: object) -> asyncio.AbstractEventLoop:
    """The server's event loop (its rooms' clocks run on it)."""
    clock = next(iter(app.state.host.clocks.values()))  # type: ignore[attr-defined]
    return clock.task.get_loop()  # type: ignore[no-any-return]


def test_rejoin_late_join_and_forced_desync(fast: tuple[str, object, Bundle], engine: Engine) -> None:
    url, app, bundle = fast
    address = RoomAddress.parse(f"{url}/play/pong?room=mixed")
    # on confirmed frames (window 0): the corruption below must land in confirmed state, where a
    # predicting client's next rollback would otherwise restore over it before any hash saw it
    steady, leaver, late = (OnlineClient(bundle, engine, prediction=Prediction(window=0), tier=Tier.WASMTIME) for _ in range(3))

    def corrupt_once(replica: Replica, _local: object) -> None:
        if replica.tick == 1000:  # flip a byte of game state: the next hash report differs
            game = replica.game
            at = game.state_begin + 64
            game.memory.write(game.store, bytes([game.memory.read(game.store, at, at + 1)[0] ^ 0x5A]), at)

    async def story() -> tuple[object, object, object]:
        anchor = asyncio.create_task(steady.play(address, ticks=END, recording=script("KeyW")))
        first = await leaver.play(address, ticks=1500, recording=script("ArrowUp"), on_frame=corrupt_once)
        seat = first.seat
        await asyncio.sleep(0.5)  # gone for a while (the room keeps ticking, the seat is kept)
        rejoined = asyncio.create_task(leaver.play(address, ticks=END))
        while room_tick(app) < 5000:
            await asyncio.sleep(0.02)
        newcomer = await late.play(address, ticks=END)  # joins at ~5000, catches up, plays on
        return await anchor, (seat, await rejoined), newcomer

    a, (seat, back), c = asyncio.run(story())
    assert back.seat == seat  # type: ignore[attr-defined]
    assert back.heals >= 1  # type: ignore[attr-defined]  # the forced desync was healed by a resent state
    assert a.tick == back.tick == c.tick == END  # type: ignore[attr-defined]
    assert a.state_hash == back.state_hash == c.state_hash  # type: ignore[attr-defined]
    for cl in (steady, leaver, late):
        cl.close()


END = 9000


def room_tick(app: object) -> int:
    return app.state.host.runners[("pong", "mixed")].room.tick  # type: ignore[attr-defined,no-any-return]
