"""GET /rooms and /metrics name no private room: a room id is all one needs to join, watch or fill it."""

from __future__ import annotations

from contextlib import ExitStack

import httpx
from websockets.sync.client import connect

from layerw.observability.metrics import room_label
from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.session import protocol as p
from layerw.store.store import Store
from tests.server_thread import serving


def test_rooms_lists_public_rooms_to_anyone_and_every_room_to_the_operator(store: Store) -> None:
    public_only = create_app(StoreCatalog(store), store=store, operators=())  # every client is "anyone"
    with serving(public_only) as url, httpx.Client(base_url=url) as c, ExitStack() as sockets:
        ws_url = url.replace("http://", "ws://")
        for path in ("/rooms/pong/secret-7f3a", "/rooms/pong/lobby?public=1", "/rooms/pong/secret-7f3a?public=1"):
            ws = sockets.enter_context(connect(ws_url + path))
            ws.send(p.hello(p.SPECTATOR))
            assert isinstance(p.decode_server(ws.recv(timeout=10)), p.Welcome)
        listed = [(r["game"], r["room"]) for r in c.get("/rooms").json()]
        metrics = c.get("/metrics").text
    assert listed == [("pong", "lobby")]  # a later ?public=1 does not publish a room someone else started
    assert "secret-7f3a" not in metrics and "lobby" not in metrics
    assert f'room="{room_label("pong", "secret-7f3a")}"' in metrics  # its series, under a label only its id gives

    with serving(create_app(StoreCatalog(store), store=store)) as url, ExitStack() as sockets:  # loopback: operator
        ws = sockets.enter_context(connect(url.replace("http://", "ws://") + "/rooms/pong/secret-7f3a"))
        ws.send(p.hello(p.SPECTATOR))
        assert isinstance(p.decode_server(ws.recv(timeout=10)), p.Welcome)
        assert [(r["game"], r["room"]) for r in httpx.get(f"{url}/rooms").json()] == [("pong", "secret-7f3a")]
