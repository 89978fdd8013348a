"""Nothing blocks the room loop: while a room is built from a slow store, and while the room
directory (a real redis-server, stopped with SIGSTOP) stalls a join, the rooms already open keep
their beat: they tick on through each second's wait, which a loop held for it would stop (their
lateness is the capacity bench's figure, its p99 held to a 5 ms goal there: a loaded machine
misses it with nothing blocking, and skips beats). Each wait lasts until the open rooms have
ticked MIN_TICKS times during it, however slowly a loaded machine ticks them: a loop held by the
wait could never tick them, so no assertion races the clock."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import uvicorn
import websockets

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.server import run
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session import protocol as p
from layerw.session.directory import Directory, Grant, RedisDirectory
from layerw.session.host import CLOSE_TRY_AGAIN, RoomHost
from tests.server_thread import free_port, serving
from tests.session.redis_server import redis_server
from tests.session.wire import Connection, room_host, wat_game
from tests.waiting import until

STALL_S = 1.0
MIN_TICKS = 20  # each open room ticks during each wait (a third of a second's beats; a held loop ticks none)
WAIT_S = 30.0  # the most any wait here may take, however loaded the machine
TURNS = 5  # of the loop while a closed room's game is freed
OPEN_ROOMS = 8  # ~500 ticks a second to pool: one late beat is not yet the p99


class SlowCatalog(DirCatalog):
    """Build directories served as if from a store that takes ``delay`` seconds per fetch, and
    then until ``released`` (set from the loop)."""

    def __init__(self, build: Path) -> None:
        super().__init__([build])
        self.delay = 0.0
        self.slow_fetches: list[str] = []  # the threads the slow fetches ran on
        self.released = threading.Event()

    def bundle(self, name: str) -> Bundle:
        if self.delay:
            self.slow_fetches.append(threading.current_thread().name)
            time.sleep(self.delay)
            if not self.released.wait(WAIT_S):
                self.slow_fetches.append(f"not released in {WAIT_S} s")
        return super().bundle(name)


class CountedDirectory(RedisDirectory):
    """The room directory in a real Redis, each room's claims (leases) counted."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.leases: list[str] = []  # asked
        self.granted: list[str] = []  # answered

    def lease(self, room: str, me: str) -> Grant:
        self.leases.append(room)
        grant = super().lease(room, me)
        self.granted.append(room)
        return grant


async def join(url: str) -> float:
    """Join a room over a real WebSocket and leave once welcomed (the room ticks on without us);
    returns how long the WELCOME took."""
    started = time.monotonic()
    async with websockets.connect(url) as ws:
        await ws.send(p.hello(p.PLAYER, bytes(p.TOKEN_SIZE)))
        assert isinstance(p.decode_server(await asyncio.wait_for(ws.recv(), 10)), p.Welcome)  # type: ignore[arg-type]
    return time.monotonic() - started


def ticks(host: RoomHost) -> dict[tuple[str, str], int]:
    """Each open room's tick now."""
    return {key: run.room.tick for key, run in host.runners.items()}


async def ticked(host: RoomHost, since: dict[tuple[str, str], int], also: Callable[[], bool] = lambda: True) -> None:
    """Until each room open at ``since`` has ticked MIN_TICKS times since (and ``also()`` holds)."""
    def done() -> bool:
        return also() and all(key in host.runners and host.runners[key].room.tick - tick >= MIN_TICKS
                              for key, tick in since.items())

    await until(done, f"each open room ticks {MIN_TICKS} times during the wait", WAIT_S)


async def watched(host: RoomHost, during: Callable[[], Awaitable[None]]) -> dict[str, list[float]]:
    """Each open room's tick lateness (ms) measured by the server while ``during()`` runs."""
    marks = {key: len(run.jitter_ms) for key, run in host.runners.items()}
    await during()
    return {room: list(host.runners[(game, room)].jitter_ms[mark:]) for (game, room), mark in marks.items()}


def test_rooms_keep_their_beat_while_a_room_builds_from_a_slow_store_and_redis_stalls(tmp_path: Path) -> None:
    wat_game(tmp_path)  # writes the build directory tmp_path / "wat"
    build = tmp_path / "wat"
    catalog = SlowCatalog(build)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ws = f"ws://127.0.0.1:{port}/rooms/wat"
    with redis_server(tmp_path / "redis") as redis:
        directory = CountedDirectory(redis.url)
        app = create_app(catalog, directory=directory, public_url=base)
        host: RoomHost = app.state.host
        in_flight: list[bool] = []

        async def story() -> tuple[dict[str, list[float]], float, dict[str, list[float]], float]:
            server = uvicorn.Server(run.config(app, "127.0.0.1", port))
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            try:
                for i in range(OPEN_ROOMS):
                    await join(f"{ws}/open{i}")  # rooms ticking in real time (60 Hz), their p99 pooled
                await asyncio.sleep(0.3)
                took: dict[str, float] = {}

                async def slow_build() -> None:
                    catalog.delay = STALL_S
                    since = ticks(host)
                    joining = asyncio.create_task(join(f"{ws}/slow"))
                    await ticked(host, since, lambda: bool(catalog.slow_fetches))  # while its fetch waits for this
                    catalog.released.set()
                    took["build"] = await joining
                    catalog.delay = 0.0

                async def stalled_redis() -> None:
                    joining = asyncio.create_task(join(f"{ws}/stalled"))
                    os.kill(redis.process.pid, signal.SIGSTOP)
                    try:
                        since = ticks(host)
                        await asyncio.sleep(STALL_S)
                        await ticked(host, since, lambda: "wat/stalled" in directory.leases)
                        in_flight.append("wat/stalled" not in directory.granted)  # the rooms ticked while it waited
                    finally:
                        os.kill(redis.process.pid, signal.SIGCONT)
                    took["redis"] = await joining

                during_build = await watched(host, slow_build)
                during_stall = await watched(host, stalled_redis)
                assert {("wat", "slow"), ("wat", "stalled")} <= set(host.runners)
                return during_build, took["build"], during_stall, took["redis"]
            finally:
                server.should_exit = True
                await serving

        during_build, build_s, during_stall, stall_s = asyncio.run(story())
    assert len(catalog.slow_fetches) == 1 and STALL_S <= build_s, build_s  # the build waited for its one fetch
    assert catalog.slow_fetches[0] != "MainThread", catalog.slow_fetches  # on a builder thread, not the loop
    # the join waited for Redis (its WELCOME came after the stall), once: one claim, not a retry after a timeout
    assert 0.9 * STALL_S <= stall_s and directory.leases.count("wat/stalled") == 1, (stall_s, directory.leases)
    assert in_flight == [True]  # the open rooms ticked on while the join's claim waited for Redis
    for what, rooms in (("a slow build", during_build), ("a Redis stall", during_stall)):
        # each waited until the rooms ticked MIN_TICKS times: a loop held by the wait could tick none
        assert all(len(ticks) >= MIN_TICKS for ticks in rooms.values()), f"ticks of each room during {what}: " + str(
            {room: len(ticks) for room, ticks in rooms.items()})


def test_a_join_is_refused_with_try_again_while_the_directory_is_down(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    wat_game(tmp_path)
    port = free_port()
    with redis_server(tmp_path / "redis") as redis:
        app = create_app(DirCatalog([tmp_path / "wat"]), directory=Directory.open(redis.url),
                         public_url=f"http://127.0.0.1:{port}")
        redis.process.terminate()
        redis.process.wait(10)

        async def refused() -> websockets.ConnectionClosed:
            async with websockets.connect(f"ws://127.0.0.1:{port}/rooms/wat/r") as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:  # the close may come while the HELLO is sent
                    await ws.send(p.hello(p.PLAYER, bytes(p.TOKEN_SIZE)))
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value

        with serving(app, port=port), caplog.at_level(logging.WARNING, "layerw.server"):
            closed = asyncio.run(refused())
            assert app.state.host.runners == {}  # no room without its claim
    assert closed.rcvd is not None and closed.rcvd.code == CLOSE_TRY_AGAIN, closed
    assert "directory is unavailable" in closed.rcvd.reason
    assert any("failed to claim wat/r" in r.getMessage() for r in caplog.records), caplog.text


def test_a_closing_room_frees_its_game_off_the_loop(tmp_path: Path, engine: Engine) -> None:
    """A room that closes (here: empty) ends at once but its game is freed on the closer thread: a game
    slow to free (a big memory, a worker process) stalls no other room's beat."""
    host = room_host(wat_game(tmp_path), engine, empty_room_s=0.05)
    freed_on: list[str] = []

    async def story() -> float:
        anchor = Connection().open(host, "wat", "other")  # another room, ticking all along
        await anchor.welcome(role=p.SPECTATOR)
        player = Connection().open(host, "wat", "r")
        await player.welcome()
        game = host.runners[("wat", "r")].room.game
        free = game.close
        turned = threading.Event()  # set by the loop once it turned TURNS times while the game is freed

        def slow_free() -> None:  # a free that lasts until the loop has turned (freed on the loop, it never would)
            freed_on.append(threading.current_thread().name)
            if not turned.wait(timeout=WAIT_S):
                freed_on.append("the loop did not turn while the game was freed")
            free()
            freed_on.append("freed")

        game.close = slow_free  # type: ignore[method-assign]
        del game
        player.put(None)
        await player.ended()
        while ("wat", "r") in host.runners:  # empty: it closes
            await asyncio.sleep(0.01)
        turns = 0
        await until(lambda: bool(freed_on), "the closer thread frees the game")
        while len(freed_on) == 1:  # the loop keeps turning while the game is freed (on the loop it could not)
            await asyncio.sleep(0.01)
            turns += 1
            if turns == TURNS:
                turned.set()
        anchor.put(None)
        await anchor.ended()
        await host.close()
        return turns

    turns = asyncio.run(story())
    assert freed_on[0].startswith("layerw-room-close") and freed_on[1:] == ["freed"], freed_on
    assert turns >= TURNS, f"the loop turned {turns} times while the game was freed"
