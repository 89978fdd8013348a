"""Prediction in the browser: a predicting Chromium page and a predicting native client in one pong
room (input delay 0) each run ahead of the room, guess the other's keys wrong and roll back, show
their own input on the next tick, and report the same confirmed hash chain; the server heals nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.replica import Replica
from tests.conftest import GAMES
from tests.session.test_online import script
from tests.web.conftest import PlayPage

TICKS = 480  # eight seconds of a room at 60 Hz


class Chain:
    """A frame hook: every confirmed hash the native client reported."""

    def __init__(self) -> None:
        self.reported: dict[int, str] = {}

    def __call__(self, replica: Replica, local: InputState) -> None:
        self.reported.update(replica.reported)


def test_a_predicting_page_and_native_client_agree_on_every_confirmed_hash(
        tmp_path: Path, play_page: Callable[..., PlayPage], built: Callable[[Any], Any], engine: Engine) -> None:
    from tests.web.store_server import store_server

    with store_server(tmp_path / "store", hash_every=30, input_delay=0) as server:
        server.publish(built(GAMES / "pong"))
        url = server.play_url("pong", room="ahead", ticks=TICKS, window=8)
        page = play_page().goto(url)
        page.wait_running()
        chain = Chain()
        outcome: list[Outcome | BaseException] = []
        client = OnlineClient(Bundle.open(built(GAMES / "pong")), engine, prediction=Prediction(window=8))

        def native() -> None:
            try:
                outcome.append(asyncio.run(client.play(RoomAddress.parse(url), ticks=TICKS, recording=script("ArrowDown"),
                                                       on_frame=chain)))
            except BaseException as e:  # reported below
                outcome.append(e)

        thread = threading.Thread(target=native)
        thread.start()
        try:
            for _ in range(4):  # the page's player moves: the native client guesses it wrong and rolls back
                page.page.keyboard.down("KeyW")
                page.page.wait_for_timeout(250)
                page.page.keyboard.up("KeyW")
                page.page.wait_for_timeout(350)
            page.wait_stopped()
            thread.join(30)
        finally:
            client.close()
        assert outcome and isinstance(outcome[0], Outcome), outcome
        native_outcome = outcome[0]
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        reported = {int(t): str(h) for t, h in page.page.evaluate("window.layerw.client().loop.reported")}
        print(f"predicting page: {session}; native: {native_outcome}")
        assert page.tick == native_outcome.tick == TICKS and page.state_hash() == native_outcome.state_hash
        assert session["heals"] == 0 and native_outcome.heals == 0  # the server found no desync
        assert session["window"] == 8 and session["predicted"] > TICKS // 2 and native_outcome.predicted > 0
        assert session["rollbacks"] >= 1 and native_outcome.rollbacks >= 1  # each guessed the other's keys wrong
        assert session["resimulated"] >= session["rollbacks"]
        assert session["inputsSent"] >= 4
        assert session["ownChecked"] > TICKS // 4 and session["ownMissed"] == 0  # own input on the very next tick
        assert session["rttMs"] > 0  # measured with PING/PONG
        shared = reported.keys() & chain.reported.keys()
        assert len(shared) >= 8 and all(reported[t] == chain.reported[t] for t in shared)
