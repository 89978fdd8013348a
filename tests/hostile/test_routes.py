"""The server's HTTP routes and the clients of a store over HTTP, under hostile requests and hostile
stores: path traversal never leaves the store or the client's files, forged chunk ids are 400 or
404, a corrupt chunk is never sent, a manifest naming missing chunks is a typed error at the loader,
and an edge cache refuses an origin's bombs. No request is ever answered 500."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from layerw.errors import ChunkCorrupt, NotPublished, StoreError
from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.server.edge import create_edge
from layerw.store import bundle as store_bundle
from layerw.store import open_store
from layerw.store.bundle import StoreBundle
from layerw.store.chunk import chunk_key
from layerw.store.publish import publish
from layerw.store.store import Store
from tests.hostile.harness import bounded_memory, fuzz
from tests.hostile.test_store_input import BOMBS
from tests.server_thread import serving
from tests.wat import bundle, contract_wat

ROOT = Path(__file__).resolve().parents[2]
CANARY = b"CANARY-d0d1e5"  # in files beside the store and the web client; never in a response
SECRETS = (CANARY, b"root:x:0:0", b"[build-system]")
TEMPLATES = ["/games/{}/manifest", "/games/wat/manifest?channel={}", "/channels/{}/latest.json",
             "/channels/wat/{}.json", "/manifests/{}/1.0.0.json", "/manifests/wat/{}.json", "/chunks/{}",
             "/play/{}", "/web/{}", "/{}", "/web/{}/abi.js", "/rooms/{}/x"]
TRAVERSALS = ["..", "../..", "../secret.txt", "..%2f..%2fsecret.txt", "%2e%2e", "%2e%2e%2fsecret.txt",
              "%252e%252e%252fsecret.txt", "....//....//secret.txt", "..\\..\\secret.txt", "..%5c..%5csecret.txt",
              "%00", "latest.json%00", "/etc/passwd", "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "..;/secret.txt",
              "%c0%ae%c0%ae%2fsecret.txt", "\uff0e\uff0e/secret.txt", "x" * 5000, "../../pyproject.toml",
              "..%2f..%2f..%2fpyproject.toml", "%2fetc%2fpasswd", "~", "~root", ".", "./.", "%20", "a b"]


def publish_wat(root: Path, name: str = "wat") -> Store:
    build = root / f"build-{name}"
    bundle(build, contract_wat(), name=name)
    (build / "assets").mkdir()
    (build / "assets" / "level.bin").write_bytes(random.Random(9).randbytes(200_000))
    store = open_store(str(root / "store"))
    publish(build, store, "latest")
    return store


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path]]:
    tmp = tmp_path_factory.mktemp("routes")
    (tmp / "secret.txt").write_bytes(CANARY)
    store = publish_wat(tmp)
    with store, serving(create_app(StoreCatalog(store), store=store)) as url:
        yield url, store, tmp


@pytest.fixture(scope="module")
def edged(served: tuple[str, Store, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An edge in front of the served origin; its URL."""
    with serving(create_edge(served[0], tmp_path_factory.mktemp("edge"), 1 << 30)) as url:
        yield url


def raw_get(url: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the request target exactly as given (no client-side normalisation of '..')."""
    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{head}Connection: close\r\n\r\n".encode("utf-8", "replace"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 400
    return status, data


def check(status: int, data: bytes, target: str) -> None:
    assert status < 500, f"{target} answered {status}: {data[:300]!r}"
    for secret in SECRETS:
        assert secret not in data, f"{target} leaked {secret!r}"


def traverse(url: str, template: str) -> None:
    for attack in TRAVERSALS:
        target = template.format(attack if "%" in attack else quote(attack, safe="/%;~\\"))
        check(*raw_get(url, target), target)
        if "%" not in attack and " " not in attack:
            check(*raw_get(url, template.format(attack)), template.format(attack))  # unescaped, as sent


@pytest.mark.parametrize("template", TEMPLATES)
def test_path_traversal(served: tuple[str, Store, Path], template: str) -> None:
    url, _, _ = served
    traverse(url, template)


@pytest.mark.parametrize("template", TEMPLATES)
def test_path_traversal_through_the_edge(edged: str, template: str) -> None:
    """The edge passes paths on as sent (``%00`` stays an escape, never a 500) and leaks nothing."""
    traverse(edged, template)


@fuzz(150)
@given(st.sampled_from(TEMPLATES), st.text(st.sampled_from("./%\\2eEfFc0a~;:?#@!$&'()*+,=x_-"), max_size=40))
def test_random_path_segments(served: tuple[str, Store, Path], template: str, segment: str) -> None:
    url, _, _ = served
    target = template.format(segment.replace("#", "%23").replace("?", "%3F"))
    check(*raw_get(url, target), target)


def test_forged_chunk_ids(served: tuple[str, Store, Path]) -> None:
    url, store, _ = served
    real = store.resolve("wat").module.chunks[0].id
    assert raw_get(url, f"/chunks/{real}")[0] == 200
    for forged, status in [(hashlib.sha256(b"nothing").hexdigest(), 404), (real.upper(), 400), (real + "0", 400),
                           (real[:-1], 400), (real[:-1] + "g", 400), ("0" * 64, 404), (quote(real + "/../x"), 404)]:
        got, data = raw_get(url, f"/chunks/{forged}")
        assert got == status, (forged, got, data[:200])


def test_hostile_ranges_and_etags(served: tuple[str, Store, Path]) -> None:
    url, store, _ = served
    chunk = store.resolve("wat").assets["level.bin"].chunks[0]
    for value in ["bytes=0-99999999999999", "bytes=-0", "bytes=5-1", "bytes=abc", "bytes=0-1,2-3", "bytes=--1",
                  "bytes=99999999999999-", "bytes=-99999999999999", "items=0-1", "bytes=" + "9" * 5000, ""]:
        status, data = raw_get(url, f"/chunks/{chunk.id}", {"Range": value, "Accept-Encoding": "identity"})
        check(status, data, value)
        assert status in (200, 206, 416), (value, status)
    for value in ['"' + "x" * 10000 + '"', "*", "W/", ",,,,", '"a", W/"b", *']:
        check(*raw_get(url, f"/chunks/{chunk.id}", {"If-None-Match": value}), value)


def test_a_corrupt_chunk_is_never_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_bundle, "RESUME_S", 0.5)  # a loader retries what looks like an outage; not for long here
    store = publish_wat(tmp_path)
    ref = store.resolve("wat").module.chunks[0]
    good = store.get(chunk_key(ref.id))
    store.put(chunk_key(ref.id), b"EVIL" + good[4:])
    with store, serving(create_app(StoreCatalog(store), store=store)) as url:
        status, data = raw_get(url, f"/chunks/{ref.id}")
        assert status == 502 and b"EVIL" not in data
        with pytest.raises(StoreError):  # a loader over HTTP: typed, and nothing unverified is used
            StoreBundle(url, "wat", cache_dir=tmp_path / "cache")
    with pytest.raises(ChunkCorrupt):
        StoreBundle(str(tmp_path / "store"), "wat", cache_dir=tmp_path / "cache2")


def test_manifest_naming_missing_chunks(tmp_path: Path) -> None:
    store = publish_wat(tmp_path)
    manifest = store.resolve("wat")
    store.delete(chunk_key(manifest.module.chunks[0].id))
    with store, serving(create_app(StoreCatalog(store), store=store)) as url:
        with pytest.raises(NotPublished, match="is not in"):
            StoreBundle(url, "wat", cache_dir=tmp_path / "cache")
        env = os.environ | {"LAYERW_CACHE_DIR": str(tmp_path / "cli-cache")}
        run = subprocess.run([sys.executable, "-m", "layerw.cli", "run", "wat", "--store", url, "--headless", "--ticks", "1"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert run.returncode != 0 and "Traceback" not in run.stderr + run.stdout, run.stderr
    assert "error:" in run.stderr + run.stdout and "is not in" in run.stderr + run.stdout


def test_an_edge_refuses_an_origins_bombs(tmp_path: Path) -> None:
    bombs = {hashlib.sha256(name.encode()).hexdigest(): make() for name, make in BOMBS.items()}

    async def chunk(request: Request) -> Response:
        return Response(bombs[request.path_params["id"]], headers={"Content-Encoding": "zstd"})

    origin = Starlette(routes=[Route("/chunks/{id}", chunk)])
    with serving(origin) as origin_url:
        edge = create_edge(origin_url, tmp_path / "edge", 1 << 30)
        with serving(edge) as edge_url, bounded_memory(64):
            for id_ in bombs:
                status, data = raw_get(edge_url, f"/chunks/{id_}", {"Accept-Encoding": "identity"})
                assert status == 502, (status, data[:200])
    assert not any((tmp_path / "edge" / "chunks").iterdir())  # nothing unverified was cached


def body_of(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""


def test_range_positions_of_any_length(served: tuple[str, Store, Path], edged: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """Positions of thousands of digits (past what int() parses) are positions past the end: no 500,
    no traceback, the same answer from the server and the edge. Spec: RFC 9110 section 14.1.2."""
    url, store, _ = served
    chunk = store.resolve("wat").assets["level.bin"].chunks[0]
    huge = "9" * 5000
    for base in (url, edged):
        for value, status, body in [(f"bytes=0-{huge}", 206, store.read_chunk(chunk.id)), (f"bytes={huge}-", 416, b""),
                                    (f"bytes=-{huge}", 206, store.read_chunk(chunk.id)), (f"bytes={huge}-{huge}", 416, b""),
                                    (f"bytes=1-{'0' * 5000}2", 206, store.read_chunk(chunk.id)[1:3])]:
            got, data = raw_get(base, f"/chunks/{chunk.id}", {"Range": value, "Accept-Encoding": "identity"})
            assert (got, body_of(data)) == (status, body), (base, value[:20], got, data[:300])
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


RANGE_TEXT = st.text(st.sampled_from("bytes=-0123456789, "), max_size=60)
POSITION = st.one_of(st.just(""), st.integers(0, 300_000).map(str), st.text("0123456789", min_size=19, max_size=6000))
RANGES = st.one_of(RANGE_TEXT, st.builds("bytes={}-{}".format, POSITION, POSITION),
                   st.text(st.characters(exclude_categories=("Cc",)), max_size=40))


@fuzz(150)
@given(RANGES)
def test_no_range_header_gives_a_5xx(served: tuple[str, Store, Path], edged: str, value: str) -> None:
    """Whatever the Range header, the server and the edge answer it alike, and never with a 5xx."""
    url, store, _ = served
    chunk = store.resolve("wat").assets["level.bin"].chunks[0]
    answers = [raw_get(base, f"/chunks/{chunk.id}", {"Range": value, "Accept-Encoding": "identity"}) for base in (url, edged)]
    for status, data in answers:
        check(status, data, value[:40])
        assert status in (200, 206, 400, 416), (value[:40], status)
    assert [(s, body_of(d)) for s, d in answers[:1]] == [(s, body_of(d)) for s, d in answers[1:]], value[:40]


def test_if_none_match_star_needs_a_chunk(served: tuple[str, Store, Path], edged: str) -> None:
    """``*`` (or any tag) matches only a chunk that exists: 404 for a missing one, 304 for a real one,
    on the server and on the edge. Spec: RFC 9110 section 13.1.2."""
    url, store, _ = served
    real, missing = store.resolve("wat").module.chunks[0].id, hashlib.sha256(b"no such chunk").hexdigest()
    for base in (url, edged):
        for value in ("*", f'"{missing}"', f'W/"{missing}"', '"a", *'):
            assert raw_get(base, f"/chunks/{missing}", {"If-None-Match": value})[0] == 404, (base, value)
        for value in ("*", f'"{real}"', f'W/"{real}"'):
            assert raw_get(base, f"/chunks/{real}", {"If-None-Match": value})[0] == 304, (base, value)
