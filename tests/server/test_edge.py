"""The edge cache: a second client costs the origin nothing; misses are fetched once; bounded."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.edge import Edge, EdgeLimits, create_edge
from layerw.server.lru import DiskLRU
from layerw.store.store import Store
from tests.server_thread import serving


class Counting:
    """ASGI middleware counting the origin's requests by path."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, Counter[str]()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen[scope["path"]] += 1
        await self.app(scope, receive, send)


@pytest.fixture
def origin(store: Store) -> Iterator[tuple[str, Counting]]:
    counting = Counting(create_app(StoreCatalog(store), store=store))
    with serving(counting) as url:
        yield url, counting


def load_game(edge: str, game: str) -> int:
    """What a client does: manifest, then every chunk; returns the chunks fetched."""
    with httpx.Client(base_url=edge) as c:
        manifest = c.get(f"/games/{game}/manifest")
        assert manifest.status_code == 200
        ids = [ch["id"] for entry in [manifest.json()["module"], *manifest.json()["assets"].values()] for ch in entry["chunks"]]
        for id_ in ids:
            r = c.get(f"/chunks/{id_}", headers={"Accept-Encoding": "zstd"})
            assert r.status_code == 200 and r.headers["cache-control"].endswith("immutable")
        return len(ids)


def test_second_client_costs_the_origin_no_chunk(origin: tuple[str, Counting], tmp_path: Path) -> None:
    url, counting = origin
    with serving(create_edge(url, tmp_path / "edge", 64 << 20)) as edge:
        chunks = load_game(edge, "pong")
        first = Counter(counting.seen)
        assert sum(n for p, n in first.items() if p.startswith("/chunks/")) == chunks
        load_game(edge, "pong")
        second = counting.seen - first
        assert not [p for p in second if p.startswith("/chunks/")]  # zero chunk requests to the origin
        assert second["/games/pong/manifest"] == 1  # the manifest is revalidated (a 304 from the origin)


def test_concurrent_misses_fetch_each_chunk_once(origin: tuple[str, Counting], tmp_path: Path) -> None:
    url, counting = origin
    with httpx.Client(base_url=url) as c:
        id_ = c.get("/games/sprites/manifest").json()["module"]["chunks"][0]["id"]
    with serving(create_edge(url, tmp_path / "edge", 64 << 20)) as edge:
        async def many() -> list[int]:
            async with httpx.AsyncClient(base_url=edge) as c:
                rs = await asyncio.gather(*(c.get(f"/chunks/{id_}") for _ in range(20)))
                return [r.status_code for r in rs]

        assert asyncio.run(many()) == [200] * 20
    assert counting.seen[f"/chunks/{id_}"] == 1


def test_disk_lru_stays_within_its_bound(tmp_path: Path) -> None:
    lru = DiskLRU(tmp_path / "c", max_bytes=1000)
    for i in range(10):
        lru.put(f"k{i}", bytes(300))
        assert lru.size <= 1000
    assert lru.get("k9") is not None and lru.get("k0") is None


def test_edge_refuses_a_chunk_that_does_not_match_its_id(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def lying(request: Any) -> Response:
        return Response(b"not what the id says", media_type="application/octet-stream")

    with serving(Starlette(routes=[Route("/chunks/{id}", lying)])) as bad_origin, \
            serving(create_edge(bad_origin, tmp_path / "edge", 1 << 20)) as edge:
        r = httpx.get(f"{edge}/chunks/{'ab' * 32}")
        assert r.status_code == 502 and b"not what" not in r.content
        assert not list((tmp_path / "edge" / "chunks").iterdir())


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB filesystem, filled up: every write to it fails with ENOSPC."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        with open(mount / "filler", "wb") as f:
            try:
                f.write(bytes(1 << 20))
            except OSError:
                pass  # full, as intended
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_serves_from_the_origin_and_logs_once(origin: tuple[str, Counting], full_disk: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    url, counting = origin
    caplog.set_level("WARNING", logger="layerw.edge")
    with serving(create_edge(url, full_disk / "edge", 64 << 20)) as edge:
        first = load_game(edge, "pong")
        load_game(edge, "pong")
    chunk_requests = sum(n for p, n in counting.seen.items() if p.startswith("/chunks/"))
    assert chunk_requests == 2 * first  # nothing could be cached, everything still served
    warnings = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(warnings) == 1


def test_manifest_cache_is_keyed_by_game_and_channel(origin: tuple[str, Counting], tmp_path: Path) -> None:
    """Queries the edge does not use cost it no memory: one entry per (game, channel), however many
    distinct query strings ask for it; a name the origin would refuse costs the origin nothing."""
    url, counting = origin
    app = create_edge(url, tmp_path / "edge", 64 << 20)
    with serving(app) as edge, httpx.Client(base_url=edge) as c:
        bodies = {c.get(f"/games/pong/manifest?n={i}&cachebust={'x' * i}").content for i in range(30)}
        bodies.add(c.get("/games/pong/manifest?channel=latest").content)
        assert len(bodies) == 1 and json.loads(bodies.pop())["game"]["name"] == "pong"
        edge_state: Edge = app.state.edge
        assert len(edge_state.manifests) == 1 and ("pong", "latest") in edge_state.manifests
        asked = sum(counting.seen.values())
        assert c.get("/games/pong/manifest?channel=Bad Name").status_code == 400
        assert c.get("/games/Bad Name/manifest").status_code == 400
        assert sum(counting.seen.values()) == asked and len(edge_state.manifests) == 1


def test_memory_caches_stay_within_their_bounds(origin: tuple[str, Counting], tmp_path: Path) -> None:
    url, _ = origin
    with httpx.Client(base_url=url) as c:
        manifests = {g: c.get(f"/games/{g}/manifest").content for g in ("pong", "sprites")}
    for limits in (EdgeLimits(memory_entries=1), EdgeLimits(memory_bytes=max(map(len, manifests.values())) + 200)):
        app = create_edge(url, tmp_path / "edge", 64 << 20, limits=limits)
        edge_state: Edge = app.state.edge
        with serving(app) as edge, httpx.Client(base_url=edge) as c:
            for _ in range(2):
                for game, body in manifests.items():
                    assert c.get(f"/games/{game}/manifest").content == body  # served whatever the cache keeps
                    version = json.loads(body)["game"]["version"]
                    assert c.get(f"/manifests/{game}/{version}.json").content == body
                    for cache in (edge_state.manifests, edge_state.immutable):
                        assert len(cache) <= limits.memory_entries and cache.bytes <= limits.memory_bytes
            assert len(edge_state.manifests) == len(edge_state.immutable) == 1  # the last game's, in either bound


def hostile_origin(routes: dict[str, Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route(path, endpoint) for path, endpoint in routes.items()])


def test_passthrough_streams_the_origins_answer(tmp_path: Path) -> None:
    """The first bytes of a passthrough answer reach the client while the origin is still sending:
    the edge holds no answer whole."""
    from starlette.responses import StreamingResponse

    release = threading.Event()

    async def slow(request: Any) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b"first part"
            for _ in range(2000):  # at most 20 s
                if release.is_set():
                    break
                await asyncio.sleep(0.01)
            yield b" and the rest"
        return StreamingResponse(parts(), media_type="text/plain")

    with serving(hostile_origin({"/web/slow": slow})) as origin_url, \
            serving(create_edge(origin_url, tmp_path / "edge", 1 << 20)) as edge, \
            httpx.stream("GET", f"{edge}/web/slow", timeout=10) as r:
        parts = r.iter_raw()
        got = b""
        while len(got) < len(b"first part"):
            got += next(parts)
        assert not release.is_set()
        release.set()
        assert r.status_code == 200 and got + b"".join(parts) == b"first part and the rest"


def test_oversized_origin_answers_are_refused_fast(tmp_path: Path) -> None:
    """A chunk or manifest past its bound is refused (502) once its Content-Length or its bytes so
    far say so: a declared size costs no body read, an undeclared 60 MB no quadratic copying."""
    from starlette.responses import StreamingResponse

    release = threading.Event()

    async def declared(request: Any) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield bytes(1024)
            for _ in range(2000):  # then nothing more for up to 20 s
                if release.is_set():
                    break
                await asyncio.sleep(0.01)
        return StreamingResponse(parts(), headers={"Content-Length": str(60 << 20)})

    async def undeclared(request: Any) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for _ in range(60 << 4):
                yield bytes(1 << 16)
        return StreamingResponse(parts())

    origin = hostile_origin({"/chunks/{id}": undeclared, "/games/{game}/manifest": declared,
                             "/manifests/{game}/{file}": undeclared})
    with serving(origin) as origin_url, \
            serving(create_edge(origin_url, tmp_path / "edge", 1 << 30, limits=EdgeLimits(max_manifest=1 << 20))) as edge:
        try:
            for path, within_s in [("/games/pong/manifest", 5.0), (f"/chunks/{'ab' * 32}", 15.0),
                                   ("/manifests/pong/1.0.0.json", 15.0)]:
                start = time.monotonic()
                r = httpx.get(f"{edge}{path}", timeout=30)
                assert r.status_code == 502 and ("larger" in r.json()["error"] or "above" in r.json()["error"]), (path, r.text)
                assert time.monotonic() - start < within_s, path
                assert not release.is_set()
        finally:
            release.set()
    assert not list((tmp_path / "edge" / "chunks").iterdir())
