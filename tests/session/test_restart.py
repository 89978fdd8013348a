"""A server that stops mid-game ends its rooms cleanly: clients are told, nobody hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

from layerw.bundle import Bundle
from layerw.errors import SessionError
from layerw.runtime.engine import Engine
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.session.client import OnlineClient, RoomAddress
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.waiting import wait_until


def test_stopping_the_server_closes_rooms_with_a_message(built: Callable[[Path], Path], engine: Engine) -> None:
    build = built(GAMES / "pong")
    bundle = Bundle.open(build)
    app = create_app(DirCatalog([build]))
    stop = threading.Event()
    outcome: list[BaseException | object] = []

    def player(url: str) -> None:
        client = OnlineClient(bundle, engine)
        try:
            outcome.append(asyncio.run(client.play(RoomAddress.parse(f"{url}/play/pong?room=r"), ticks=10**9)))
        except BaseException as e:  # noqa: BLE001 - the test inspects what the player saw
            outcome.append(e)
        finally:
            client.close()
            stop.set()

    with serving(app) as url:
        thread = threading.Thread(target=player, args=(url,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not app.state.host.runners and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_until(lambda: any(run.room.tick >= 18 for run in list(app.state.host.runners.values())),
                   "the player is in the room and ticking")
    # leaving `serving` stops the server (as a restart or shutdown would)
    assert stop.wait(30), "the player hung after the server stopped"
    err = outcome[0]
    assert isinstance(err, SessionError), err
    assert "restarting" in str(err) and "1012" in str(err)
