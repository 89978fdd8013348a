"""The edge cache: a second client costs the origin nothing; misses are fetched once; bounded."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.edge import DiskLRU, create_edge
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
