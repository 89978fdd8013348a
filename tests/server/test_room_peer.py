"""The room server counts new rooms against the client's address: the socket's peer, or the one a
trusted proxy forwards (uvicorn trusts 127.0.0.1 by default, as `layerw serve --trusted-proxies`),
an IPv6 address by its /64."""

from __future__ import annotations

import asyncio

import websockets

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.session import protocol as p
from layerw.session.host import CLOSE_POLICY, Limits
from layerw.store.store import Store
from tests.server_thread import serving


async def join(url: str, forwarded_for: str) -> int | None:
    """Join as a player from ``forwarded_for``; None once welcomed, else the close code."""
    async with websockets.connect(url, additional_headers={"X-Forwarded-For": forwarded_for}) as ws:
        await ws.send(p.hello(p.PLAYER, bytes(p.TOKEN_SIZE)))
        try:
            msg = p.decode_server(await asyncio.wait_for(ws.recv(), 20))  # type: ignore[arg-type]
        except websockets.ConnectionClosed as e:
            return e.rcvd.code if e.rcvd is not None else -1
        assert isinstance(msg, p.Welcome)
        return None


def test_rooms_count_against_the_address_a_trusted_proxy_forwards(store: Store) -> None:
    app = create_app(StoreCatalog(store), store=store, limits=Limits(rooms_per_address=1))
    with serving(app) as url:
        rooms = url.replace("http://", "ws://") + "/rooms/pong"

        async def story() -> list[int | None]:
            return [await join(f"{rooms}/a", "203.0.113.7"),
                    await join(f"{rooms}/b", "203.0.113.7"),  # that address's one room is taken
                    await join(f"{rooms}/b", "2001:db8::1"),  # another address still creates one
                    await join(f"{rooms}/c", "2001:db8::2"),  # the same /64: the same subscriber
                    await join(f"{rooms}/a", "2001:db8::2")]  # joining an open room creates nothing

        outcomes = asyncio.run(story())
        owners = dict(app.state.host.admission.owners)
    assert outcomes == [None, CLOSE_POLICY, None, CLOSE_POLICY, None]
    assert owners == {("pong", "a"): "203.0.113.7", ("pong", "b"): "2001:db8::/64"}
