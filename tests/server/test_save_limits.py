"""Save limits that hold across a fleet: a player's quota with its writes spread over two servers
sharing a real redis-server (its writes serialised there), and the rate of save requests per player
and per address (429 past it, Retry-After)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette

from layerw.play.online_saves import PlayerKey
from layerw.saves import Slot, encode
from layerw.server.catalog import DirCatalog
from layerw.server.player_locks import PlayerLocks
from layerw.server.save_routes import SaveLimits, save_routes
from layerw.store.local import LocalStore
from tests.conftest import GAMES
from tests.server_thread import serving
from tests.session.redis_server import redis_server

WRITES = 12


class SlowStore(LocalStore):
    """A local store whose puts take as long as a remote store's (the window in which two writes race)."""

    def put(self, key: str, data: bytes, *, durable: bool = False) -> None:
        time.sleep(0.05)
        super().put(key, data, durable=durable)


def test_a_players_quota_holds_with_its_writes_spread_over_two_servers(built: Callable[[Path], Path],
                                                                         tmp_path: Path) -> None:
    catalog = DirCatalog([built(GAMES / "pong")])
    slot_bytes = catalog.bundle("pong").config.save_slot_bytes
    store = SlowStore(tmp_path / "store")  # one store both servers write (as S3 is for a fleet)
    body = encode(Slot(1, bytes(slot_bytes)))
    limits = SaveLimits(player_bytes=3 * len(body) + 64)  # three full slots (with their headers) fit, a fourth not
    key = PlayerKey.load_or_create(tmp_path / "player.key")
    with redis_server(tmp_path / "redis") as redis:
        locks = [PlayerLocks.open(redis.url) for _ in range(2)]
        apps = [Starlette(routes=save_routes(store, catalog, limits, lock)) for lock in locks]
        with serving(apps[0]) as url_a, serving(apps[1]) as url_b:
            statuses: list[int] = []
            go = threading.Barrier(WRITES)

            def write(i: int) -> None:
                with httpx.Client(base_url=(url_a, url_b)[i % 2], headers={"Authorization": key.header}, timeout=30) as http:
                    go.wait()  # all at once, half through each server
                    statuses.append(http.put(f"/saves/pong/s{i}", content=body).status_code)

            threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITES)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        for lock in locks:
            lock.close()
    stored = [o for o in store.list("saves/") if o.key.endswith(".slot")]
    assert sorted(statuses) == [204] * 3 + [413] * (WRITES - 3), statuses
    assert len(stored) == 3 and sum(o.size for o in stored) <= limits.player_bytes


def test_save_requests_past_a_players_or_an_addresss_rate_are_refused_429(built: Callable[[Path], Path],
                                                                          tmp_path: Path) -> None:
    catalog = DirCatalog([built(GAMES / "pong")])
    limits = SaveLimits(player_requests_per_second=0.01, player_burst=3, address_requests_per_second=0.01, address_burst=5)
    app = Starlette(routes=save_routes(LocalStore(tmp_path / "store"), catalog, limits))
    first, second = (PlayerKey.load_or_create(tmp_path / f"{name}.key") for name in ("first", "second"))
    with serving(app) as url, httpx.Client(base_url=url) as http:
        def get(key: PlayerKey) -> httpx.Response:
            return http.get("/saves/pong", headers={"Authorization": key.header})

        assert [get(first).status_code for _ in range(3)] == [200] * 3
        refused = get(first)
        assert refused.status_code == 429 and "this player" in refused.json()["error"]
        assert refused.headers["retry-after"] and refused.headers["cache-control"] == "no-store"
        assert get(second).status_code == 200  # another player from the same address: its own allowance
        refused = get(second)  # the address's sixth request
        assert refused.status_code == 429 and "this address" in refused.json()["error"]


def test_save_request_rates_are_counted_across_two_servers_sharing_redis(built: Callable[[Path], Path],
                                                                         tmp_path: Path) -> None:
    """A player's (and an address's) requests spread over two servers draw on one bucket in Redis: a
    load balancer does not multiply the rate by the number of servers."""
    catalog = DirCatalog([built(GAMES / "pong")])
    limits = SaveLimits(player_requests_per_second=0.01, player_burst=4, address_requests_per_second=0.01, address_burst=7)
    store = LocalStore(tmp_path / "store")
    first, second = (PlayerKey.load_or_create(tmp_path / f"{name}.key") for name in ("first", "second"))
    with redis_server(tmp_path / "redis") as redis:
        rates = [limits.rates(redis.url) for _ in range(2)]
        apps = [Starlette(routes=save_routes(store, catalog, limits, rates=r)) for r in rates]
        with serving(apps[0]) as url_a, serving(apps[1]) as url_b, \
                httpx.Client(base_url=url_a) as a, httpx.Client(base_url=url_b) as b:
            def get(http: httpx.Client, key: PlayerKey) -> int:
                return http.get("/saves/pong", headers={"Authorization": key.header}).status_code

            assert [get(a, first), get(b, first), get(a, first), get(b, first)] == [200] * 4  # the player's burst
            assert (get(a, first), get(b, first)) == (429, 429)  # spent on both servers at once
            assert [get(b, second), get(a, second), get(b, second)] == [200, 429, 429]  # the address's 7 are spent
        for r in rates:
            r.close()
        one = limits.rates(redis.url)
        try:
            keys = sorted(one._redis.keys("layerw:saves-rate:*"))  # bounded: one bucket per player and address
            assert len(keys) == 3 and all(one._redis.pttl(k) > 0 for k in keys)
        finally:
            one.close()
