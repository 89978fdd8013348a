"""GET /metrics: layerw_* series that move when rooms tick and chunks are served; one registry per app."""

from __future__ import annotations

from pathlib import Path

import httpx
import prometheus_client
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from layerw.observability.metrics import room_label
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog, StoreCatalog
from layerw.server.edge import create_edge
from layerw.session import protocol as p
from layerw.session.host import Limits
from layerw.store.store import Store
from tests.server_thread import serving

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(c: httpx.Client) -> Samples:
    r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(r.text))
    assert families and all(f.name.startswith("layerw_") for f in families)
    return {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_series_move_when_a_room_ticks_and_a_chunk_is_served(store: Store) -> None:
    app = create_app(StoreCatalog(store), store=store, limits=Limits(speed=10.0))
    with serving(app) as url, httpx.Client(base_url=url) as c:
        before = scrape(c)
        ref = c.get("/games/pong/manifest").json()["module"]["chunks"][0]
        chunk = c.get(f"/chunks/{ref['id']}", headers={"Accept-Encoding": "identity"})
        assert len(chunk.content) == ref["size"]
        with connect(url.replace("http://", "ws://") + "/rooms/pong/watched") as ws:
            ws.send(p.hello(p.PLAYER))
            assert isinstance(p.decode_server(ws.recv(timeout=10)), p.Welcome)
            for _ in range(20):
                ws.recv(timeout=10)  # frames: the room is ticking
            during = scrape(c)
    def grew(name: str, **labels: str) -> float:
        return value(during, name, **labels) - value(before, name, **labels)

    assert grew("layerw_chunk_reads_total", source="store") == 1
    assert grew("layerw_bytes_served_total", kind="chunk") == ref["size"]
    assert value(during, "layerw_bytes_served_total", kind="manifest") > 0
    assert value(during, "layerw_tick_duration_seconds_count", game="pong") >= 20 > value(
        before, "layerw_tick_duration_seconds_count", game="pong")
    assert value(during, "layerw_tick_lateness_seconds_count", game="pong") >= 20
    assert value(during, "layerw_rooms", game="pong") == 1
    assert value(during, "layerw_players_connected", game="pong", role="player") == 1
    assert value(during, "layerw_joins_total", game="pong", outcome="player") == 1
    assert ("layerw_tick_jitter_p99_seconds", frozenset({("game", "pong"), ("room", room_label("pong", "watched"))})) in during


def test_the_edge_counts_its_cache_hits(store: Store, tmp_path: Path) -> None:
    with serving(create_app(StoreCatalog(store), store=store)) as origin, \
            serving(create_edge(origin, tmp_path / "edge", 64 << 20)) as edge, httpx.Client(base_url=edge) as c:
        ref = c.get("/games/sprites/manifest").json()["module"]["chunks"][0]
        for _ in range(2):
            assert c.get(f"/chunks/{ref['id']}", headers={"Accept-Encoding": "zstd"}).status_code == 200
        samples = scrape(c)
    assert value(samples, "layerw_chunk_reads_total", source="origin") == 1
    assert value(samples, "layerw_chunk_reads_total", source="cache") == 1
    assert value(samples, "layerw_cache_hit_ratio", cache="edge") == 0.5
    assert value(samples, "layerw_cache_bytes", cache="edge") == ref["stored_size"]
    assert value(samples, "layerw_bytes_served_total", kind="chunk") == 2 * ref["stored_size"]


def test_every_app_has_its_own_registry(store: Store) -> None:
    apps = [create_app(StoreCatalog(store), store=store) for _ in range(3)]  # no "duplicated timeseries"
    apps.append(create_app(DirCatalog([])))
    assert len({id(a.state.metrics.registry) for a in apps}) == len(apps)
    with serving(apps[0]) as url:
        httpx.get(f"{url}/games")
    assert apps[0].state.metrics.registry.get_sample_value("layerw_bytes_served_total", {"kind": "api"}) > 0
    assert apps[1].state.metrics.registry.get_sample_value("layerw_bytes_served_total", {"kind": "api"}) == 0
    assert prometheus_client.REGISTRY.get_sample_value("layerw_bytes_served_total", {"kind": "api"}) is None
    for a in apps:
        a.state.host.engine.close()  # never started: no lifespan closed them
