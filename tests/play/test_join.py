"""join: the library call behind `layerw join`, against a real server's room on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from layerw.errors import SessionError
from layerw.play.join import JoinOptions, join
from layerw.runtime.tier import Tier
from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.session import protocol as p
from layerw.session import replica
from layerw.session.client import RoomAddress
from layerw.store import open_store
from layerw.store.publish import publish
from layerw.store.store import Store
from tests.conftest import GAMES
from tests.server_thread import serving


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, built: Callable[[Path], Path]) -> Iterator[Store]:
    with open_store(str(tmp_path_factory.mktemp("store"))) as s:
        publish(built(GAMES / "pong"), s, "latest")
        yield s


def test_a_player_and_a_spectator_join_one_room_and_see_the_same_game(store: Store, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("\n".join(json.dumps(c) for c in ({"tick": 20, "down": ["KeyW"]}, {"tick": 90, "up": ["KeyW"]})))
    with serving(create_app(StoreCatalog(store), store=store)) as url, ThreadPoolExecutor(2) as pool:
        room = f"{url}/play/pong?room=lib"
        player = pool.submit(join, room, JoinOptions(ticks=240, inputs=inputs))
        watcher = pool.submit(join, room, JoinOptions(ticks=240, spectate=True))
        played, watched = player.result(timeout=120), watcher.result(timeout=120)
    assert played.address == watched.address == RoomAddress(url, "pong", "lib")
    assert played.outcome.seat == 0 and watched.outcome.seat == p.NO_SEAT
    assert played.outcome.tick == watched.outcome.tick == 240
    assert played.outcome.state_hash == watched.outcome.state_hash


def test_a_player_on_each_tier_follows_one_room_to_the_same_hash(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``layerw join --tier``: each replica runs on the tier asked for, and the hashes agree, as on every tier."""
    started: list[Tier] = []

    def start_game(*args: Any, tier: Tier, **kwargs: Any) -> Any:
        started.append(tier)
        return real_start_game(*args, tier=tier, **kwargs)

    real_start_game = replica.start_game
    monkeypatch.setattr(replica, "start_game", start_game)
    with serving(create_app(StoreCatalog(store), store=store)) as url, ThreadPoolExecutor(2) as pool:
        room = f"{url}/play/pong?room=tiers"
        runs = [pool.submit(join, room, JoinOptions(ticks=120, tier=tier)) for tier in (Tier.WASMTIME, Tier.AOT)]
        cranelift, aot = (run.result(timeout=120) for run in runs)
    assert cranelift.outcome.tick == aot.outcome.tick == 120
    assert cranelift.outcome.state_hash == aot.outcome.state_hash
    assert set(started) == {Tier.WASMTIME, Tier.AOT} and len(started) == 2


def test_a_page_address_without_a_room_is_refused_before_anything_connects() -> None:
    with pytest.raises(SessionError, match="not a room address"):
        join("http://127.0.0.1:9/play/pong", JoinOptions())


def test_a_player_hears_the_room_once_per_tick_through_the_null_speaker(store: Store, tmp_path: Path) -> None:
    """`layerw join --sound null`: a player predicting 4 ticks ahead of the room guesses the other
    player's keys, which change every 20 ticks, and rolls back each time they did; yet each tick it
    plays reaches the speaker once (resimulations are not heard). (Its own keys alone gave no
    rollback on a quiet machine: they reach the room before it reaches their tick.)"""
    ticks = 480
    inputs, other = tmp_path / "inputs.jsonl", tmp_path / "other.jsonl"
    inputs.write_text("\n".join(json.dumps(c) for c in ({"tick": 30, "down": ["KeyW"]}, {"tick": 90, "up": ["KeyW"]})))
    changes = [{"tick": t, ("down" if t % 40 else "up"): ["ArrowUp"]} for t in range(20, ticks - 20, 20)]
    other.write_text("\n".join(json.dumps(c) for c in changes))
    with serving(create_app(StoreCatalog(store), store=store, room_options={"input_delay": 0})) as url, \
            ThreadPoolExecutor(1) as pool:
        room = f"{url}/play/pong?room=loud"
        player = pool.submit(join, room, JoinOptions(ticks=ticks, inputs=inputs, lead=4, sound="null"))
        join(room, JoinOptions(ticks=ticks, inputs=other))
        result = player.result(timeout=120)
    outcome, per_tick = result.outcome, 48000 // 60
    assert outcome.tick == ticks and outcome.rollbacks > 0 and outcome.resimulated > 0
    assert result.frames_heard % per_tick == 0
    # from its WELCOME on, each tick once (the other player may have started the room)
    assert (ticks - outcome.joined - 30) * per_tick <= result.frames_heard <= (ticks - outcome.joined) * per_tick
