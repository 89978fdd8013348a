"""Store backends (a directory, and S3 on a real SeaweedFS): one contract, checked on both."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.errors import ChunkCorrupt, NotPublished, StoreError, StoreUnavailable
from layerw.store import open_store
from layerw.store.chunk import chunk_key, encode
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.store.s3 import S3Store, parse_url
from layerw.store.store import Store
from tests.store.conftest import BUCKET, Seaweed


def test_keys_put_get_head_list_delete(store: Store) -> None:
    store.put("a/b/one", b"1")
    store.put("a/two", b"22", durable=True)
    store.put("a/two", b"222")  # replaced whole
    assert store.get("a/two") == b"222"
    head = store.head("a/two")
    assert head is not None and head.size == 3 and head.modified > 0
    assert store.head("a/none") is None and not store.exists("a/none") and store.exists("a/b/one")
    assert sorted(o.key for o in store.list("a/")) == ["a/b/one", "a/two"]
    assert [o.key for o in store.list("a/b")] == ["a/b/one"]
    assert list(store.list("zzz/")) == []
    store.delete("a/b/one")
    store.delete("a/b/one")  # already gone: fine
    with pytest.raises(NotPublished):
        store.get("a/b/one")
    with pytest.raises(KeyError):
        store.get("never")


def test_corrupted_chunk_is_detected_never_returned(store: Store) -> None:
    ref, stored = encode(b"chunk " * 1000)
    store.write_chunk(ref, stored)
    assert store.read_chunk(ref.id) == b"chunk " * 1000
    got = store.read_stored_chunk(ref.id)
    assert (got.encoding, got.data, got.size) == ("zstd", stored, 6000)
    store.put(chunk_key(ref.id), stored[:-3] + b"!!!")  # bit rot, or a tampered object
    with pytest.raises(ChunkCorrupt, match=ref.id):
        store.read_chunk(ref.id)
    with pytest.raises(ChunkCorrupt):
        store.read_stored_chunk(ref.id, ref.encoding)
    with pytest.raises(NotPublished):
        store.read_chunk("0" * 64)


def test_corrupted_chunk_on_disk_is_detected_at_run(local_store: LocalStore, pong_versions, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from layerw.errors import ChunkCorrupt as Corrupt
    from layerw.store.bundle import StoreBundle

    result = publish(pong_versions("1.0.0"), local_store)
    first = result.manifest.module.chunks[0]
    path = local_store.root / chunk_key(first.id)
    path.write_bytes(path.read_bytes()[::-1])
    with pytest.raises(Corrupt):
        StoreBundle(local_store.url, "pong", cache_dir=cache_dir)


def test_channels_promote_and_roll_back(store: Store, pong_versions) -> None:  # type: ignore[no-untyped-def]
    publish(pong_versions("1.0.0"), store)
    publish(pong_versions("1.1.0", "3"), store)
    assert store.games() == ["pong"]
    assert store.channel("pong", "latest").version == "1.1.0"
    assert [(v.version, v.channels) for v in store.versions("pong")] == [("1.0.0", ()), ("1.1.0", ("latest",))]
    store.set_channel("pong", "latest", "1.0.0")  # rollback
    store.set_channel("pong", "beta", "1.1.0")
    assert store.resolve("pong").version == "1.0.0"
    assert store.resolve("pong", "beta").version == "1.1.0"
    assert store.resolve("pong", version="1.1.0").version == "1.1.0"
    assert {n: c.version for n, c in store.channels("pong").items()} == {"beta": "1.1.0", "latest": "1.0.0"}
    assert store.channel("pong", "beta").manifest_sha256 == store.manifest("pong", "1.1.0").sha256
    with pytest.raises(NotPublished):
        store.set_channel("pong", "latest", "9.9.9")
    with pytest.raises(NotPublished):
        store.resolve("pong", "nightly")
    with pytest.raises(NotPublished):
        store.resolve("tetris")
    assert store.channel("pong", "latest").version == "1.0.0"


def test_urls_choose_the_backend_once(tmp_path: Path, seaweed: Seaweed) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    with open_store(f"s3://{BUCKET}/some/prefix/", endpoint_url=seaweed.endpoint) as s3:
        assert isinstance(s3, S3Store) and s3.prefix == "some/prefix/"
    assert parse_url("s3://b") == ("b", "")
    with pytest.raises(StoreError):
        parse_url("s3:///x")


def test_s3_store_takes_the_endpoint_from_the_environment(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.endpoint)
    with open_store(f"s3://{BUCKET}/env-endpoint") as s3:
        s3.put("k", b"v")
        assert s3.get("k") == b"v"


def test_s3_failures_are_store_unavailable(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.store.conftest import free_ports

    with S3Store(f"s3://{BUCKET}/x", endpoint_url=f"http://127.0.0.1:{free_ports(1)[0]}", retries=1) as dead:
        with pytest.raises(StoreUnavailable, match="endpoint"):
            dead.get("k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with seaweed.store("x", retries=1) as wrong, pytest.raises(StoreUnavailable, match="credentials"):
        wrong.put("k", b"v")


def test_s3_server_errors_are_store_unavailable() -> None:
    """A server that answers 5xx (say, an S3 gateway still starting) is unavailable, to be retried,
    not a failed read."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Starting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error</Message></Error>"
            self.send_response(500)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Starting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with S3Store(f"s3://{BUCKET}/x", endpoint_url=f"http://127.0.0.1:{server.server_port}", retries=1) as s3:
            with pytest.raises(StoreUnavailable, match="InternalError"):
                s3.get("k")
    finally:
        server.shutdown()
        server.server_close()


def test_local_store_rejects_keys_that_escape_it(local_store: LocalStore, tmp_path: Path) -> None:
    for key in ("../outside", "a/../../outside", "/etc/passwd", "a//b", ""):
        with pytest.raises(StoreError):
            local_store.put(key, b"x")
    assert not (tmp_path / "outside").exists()
