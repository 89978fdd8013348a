"""The server's HTTP face: games, manifests by channel, immutable verified chunks, the web client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zstandard

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.store.chunk import chunk_key
from layerw.store.store import Store
from tests.server_thread import serving


@pytest.fixture(scope="module")
def client(store: Store) -> Iterator[httpx.Client]:
    """A real uvicorn server on loopback, and an HTTP client that leaves encodings alone."""
    with serving(create_app(StoreCatalog(store), store=store)) as url, httpx.Client(base_url=url) as c:
        yield c


def module_chunk(client: httpx.Client) -> dict[str, object]:
    return client.get("/games/pong/manifest").json()["module"]["chunks"][0]  # type: ignore[no-any-return]


def test_games_lists_each_game_with_its_manifest_url(client: httpx.Client) -> None:
    games = {g["name"]: g for g in client.get("/games").json()}
    assert set(games) == {"pong", "sprites"}
    assert games["pong"]["manifest"] == "/games/pong/manifest" and games["pong"]["channels"] == {"latest": "1.0.0"}


def test_manifest_by_channel_revalidates_with_etag(client: httpx.Client) -> None:
    r = client.get("/games/pong/manifest?channel=latest")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert "must-revalidate" in r.headers["cache-control"]
    etag = r.headers["etag"]
    again = client.get("/games/pong/manifest", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/games/pong/manifest?channel=beta").status_code == 404


def test_chunks_are_immutable_verified_and_ranged(client: httpx.Client) -> None:
    ref = module_chunk(client)
    r = client.get(f"/chunks/{ref['id']}", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["etag"] == f'"{ref["id"]}"' and r.headers["content-type"] == "application/octet-stream"
    assert len(r.content) == ref["size"] and r.content[:4] == b"\0asm"
    assert client.get(f"/chunks/{ref['id']}", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    part = client.get(f"/chunks/{ref['id']}", headers={"Range": "bytes=0-3", "Accept-Encoding": "identity"})
    assert part.status_code == 206 and part.content == b"\0asm" and part.headers["content-range"].endswith(f"/{ref['size']}")
    tail = client.get(f"/chunks/{ref['id']}", headers={"Range": "bytes=-2", "Accept-Encoding": "identity"})
    assert tail.content == r.content[-2:]
    assert client.get(f"/chunks/{ref['id']}", headers={"Range": "bytes=99999999-"}).status_code == 416


def test_zstd_chunks_travel_as_stored(client: httpx.Client) -> None:
    ref = module_chunk(client)
    assert ref["encoding"] == "zstd"
    with client.stream("GET", f"/chunks/{ref['id']}", headers={"Accept-Encoding": "zstd"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "zstd" and len(raw) == ref["stored_size"]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(raw)[:4] == b"\0asm"


@pytest.mark.parametrize("path, status", [
    ("/chunks/" + "0" * 64, {404}), ("/chunks/not-an-id", {400}), ("/chunks/" + "A" * 64, {400}),
    ("/games/nope/manifest", {404}), ("/play/nope", {404}), ("/games/Bad Name/manifest", {400}),
    ("/manifests/pong/9.9.9.json", {404}),
    # traversal: the server decodes %2F, so these reach no route (404) or a name check (400)
    ("/chunks/..%2F..%2Fetc%2Fpasswd", {400, 404}), ("/games/..%2F..%2Fx/manifest", {400, 404}),
    ("/manifests/pong/..%2F..%2Fx.json", {400, 404}), ("/channels/pong/../../x.json", {400, 404}),
    ("/play/..%2Fpong", {400, 404}), ("/web/..%2F..%2Fcli.py", {400, 404}),
])
def test_bad_names_are_400_and_unknown_ones_404(client: httpx.Client, path: str, status: set[int]) -> None:
    r = client.get(path)
    assert r.status_code in status and b"root:" not in r.content and b"argparse" not in r.content


def test_corrupt_chunk_is_never_served(client: httpx.Client, store: Store) -> None:
    ref = client.get("/games/sprites/manifest").json()["assets"]["config.txt"]["chunks"][0]
    path = Path(store.url) / chunk_key(ref["id"])
    original = path.read_bytes()
    try:
        path.write_bytes(b"count=99999\n")
        r = client.get(f"/chunks/{ref['id']}")
        assert r.status_code == 502 and b"count=99999" not in r.content
    finally:
        path.write_bytes(original)
    assert client.get(f"/chunks/{ref['id']}").status_code == 200


def test_isolation_and_cors_headers(client: httpx.Client) -> None:
    r = client.get("/games", headers={"Origin": "https://elsewhere.example"})
    assert r.headers["cross-origin-opener-policy"] == "same-origin"
    assert r.headers["cross-origin-embedder-policy"] == "require-corp"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["access-control-allow-origin"] == "*"


def test_web_client_pages_and_files(client: httpx.Client) -> None:
    index = client.get("/")
    assert '<a href="/play/pong">pong</a>' in index.text
    page = client.get("/play/pong")
    assert page.status_code == 200 and '<meta name="layerw-game" content="pong">' in page.text
    assert '<base href="/web/">' in page.text
    assert client.get("/web/main.js").status_code == 200
    assert client.get("/web/abi.js").text.startswith("// GENERATED")
    assert client.get("/font.png").content[:4] == b"\x89PNG"
    assert "fn " in client.get("/shaders.wgsl").text
    assert json.loads(client.get("/rooms").text) == []


def test_errors_never_reveal_where_the_store_lives(client: httpx.Client, store: Store) -> None:
    for path in ("/chunks/" + "0" * 64, "/games/nope/manifest", "/manifests/pong/9.9.9.json", "/channels/pong/beta.json"):
        r = client.get(path)
        assert r.status_code == 404 and str(store.url) not in r.text, (path, r.text)
