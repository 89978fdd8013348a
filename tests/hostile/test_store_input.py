"""What a store (or anyone posing as one) hands a loader: manifests and channels parse or raise
ManifestError; chunks decode or raise ChunkCorrupt; zstd bombs (frames claiming gigabytes, or
really holding them) are refused with bounded memory, whether read from a directory, over HTTP,
as a module delta or by an edge cache."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from layerw.errors import ChunkCorrupt, InvalidModule, LayerWError, ManifestError, StoreError
from layerw.server.edge import verify_chunk
from layerw.store import open_store
from layerw.store.channel import Channel
from layerw.store.chunk import IDENTITY, MAX_CHUNK_BYTES, ZSTD, chunk_key, decode, encode
from layerw.store.delta import apply_delta, make_delta
from layerw.store.http import HttpStore
from layerw.store.manifest import Manifest
from layerw.store.publish import publish
from layerw.store.store import Store
from tests.hostile.harness import bounded_memory, fuzz
from tests.hostile.test_inputs import json_values
from tests.server_thread import serving
from tests.wat import bundle, contract_wat

ids = st.text("0123456789abcdef", min_size=64, max_size=64)


def zeros_frame(size: int, *, content_size: bool = True) -> bytes:
    """A zstd frame of ``size`` zero bytes, made without holding them (a few KB for 256 MiB)."""
    c = zstandard.ZstdCompressor(level=3, write_content_size=content_size)
    o = c.compressobj(size=size if content_size else -1)
    block = bytes(1 << 20)
    return b"".join(o.compress(block[:min(1 << 20, size - i)]) for i in range(0, size, 1 << 20)) + o.flush()


def claiming(size: int) -> bytes:
    """A zstd frame whose header claims ``size`` bytes and holds three."""
    # Spec: RFC 8878 3.1.1.1: descriptor 0xE0 = 8-byte content size, single segment; one raw last block
    return b"\x28\xb5\x2f\xfd\xe0" + struct.pack("<Q", size) + ((3 << 3) | 1).to_bytes(3, "little") + b"abc"


BOMBS = {
    "header claiming 1 TiB": lambda: claiming(1 << 40),
    "header claiming 2^62 bytes": lambda: claiming(1 << 62),
    "256 MiB of zeros, size in the header": lambda: zeros_frame(256 << 20),
    "256 MiB of zeros, no size in the header": lambda: zeros_frame(256 << 20, content_size=False),
    "skippable frame, then the bomb": lambda: b"\x50\x2a\x4d\x18" + struct.pack("<I", 4) + b"skip" + zeros_frame(64 << 20),
    "small frame, then the bomb": lambda: zstandard.ZstdCompressor().compress(b"x") + zeros_frame(64 << 20),
    "window of 2 GiB": lambda: b"\x28\xb5\x2f\xfd\x00" + bytes([(31 - 10) << 3]) + b"\x01\x00\x00",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    tmp = tmp_path_factory.mktemp("published")
    build = tmp / "build"
    bundle(build, contract_wat(), name="wat")
    (build / "assets").mkdir()
    (build / "assets" / "level.bin").write_bytes(random.Random(5).randbytes(300_000))
    with open_store(str(tmp / "store")) as store:
        publish(build, store, "latest")
        yield store, tmp


def manifest_doc(store: Store) -> dict[str, Any]:
    return json.loads(store.manifest_bytes("wat", store.channel("wat", "latest").version))  # type: ignore[no-any-return]


def paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*at, i))


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any]) -> bytes:
    """``doc`` with a few nodes replaced, removed or joined by strangers, as JSON bytes."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(doc))[1:]))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        how = draw(st.sampled_from(["replace", "remove", "add"]))
        if how == "replace":
            parent[where[-1]] = draw(json_values | st.integers(-(2**64), 2**64)
                                     | st.sampled_from(["../../etc/passwd", "/abs", "a\\b", "", "0" * 64, "Z" * 64]))
        elif how == "remove" and isinstance(parent, dict):
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
    return json.dumps(doc).encode()


@fuzz(300)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_manifest_and_channel_from_random_bytes(data: bytes) -> None:
    for parse in (Manifest.parse, Channel.parse):
        try:
            parse(data)
        except ManifestError:
            pass


@fuzz(300)
@given(st.data())
def test_mutated_manifests(published: tuple[Store, Path], data: st.DataObject) -> None:
    store, _ = published
    raw = data.draw(mutated(manifest_doc(store)))
    try:
        m = Manifest.parse(raw)
    except ManifestError:
        return
    assert Manifest.parse(m.to_bytes()) == m  # what parses is a manifest the host could write itself
    for name in m.assets:
        assert not name.startswith("/") and ".." not in name.split("/")


@fuzz(200)
@given(st.data())
def test_mutated_channels(published: tuple[Store, Path], data: st.DataObject) -> None:
    store, _ = published
    doc = json.loads(store.channel("wat", "latest").to_bytes())
    try:
        ch = Channel.parse(data.draw(mutated(doc)))
    except ManifestError:
        return
    assert Channel.parse(ch.to_bytes()) == ch


@pytest.mark.parametrize("text", [b"[" * 100_000 + b"]" * 100_000, b'{"schema": 1e999}', b"\xff\xfe", b"null"])
def test_named_malformed_manifests(text: bytes) -> None:
    for parse in (Manifest.parse, Channel.parse):
        with pytest.raises(ManifestError):
            parse(text)


@fuzz(300)
@given(ids, st.binary(max_size=200), st.sampled_from([None, IDENTITY, ZSTD]), st.none() | st.integers(0, 1000))
def test_chunk_decode_of_random_bytes(id_: str, stored: bytes, encoding: str | None, size: int | None) -> None:
    try:
        data, _ = decode(id_, stored, encoding, size)
    except ChunkCorrupt:
        return
    assert hashlib.sha256(data).hexdigest() == id_


@fuzz(200)
@given(st.binary(min_size=1, max_size=3000), st.data())
def test_chunk_decode_of_damaged_chunks(content: bytes, data: st.DataObject) -> None:
    ref, stored = encode(content * data.draw(st.integers(1, 20)))
    assert decode(ref.id, stored, ref.encoding, ref.size)[0] == content * (ref.size // len(content))
    damaged = bytearray(stored)
    at = data.draw(st.integers(0, len(damaged) - 1))
    damaged[at] ^= data.draw(st.integers(1, 255))
    try:
        out, _ = decode(ref.id, bytes(damaged), data.draw(st.sampled_from([None, ref.encoding])), ref.size)
    except ChunkCorrupt:
        return
    assert hashlib.sha256(out).hexdigest() == ref.id  # a harmless change (say, in padding) at most


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_zstd_bombs_are_refused_with_bounded_memory(bomb: str) -> None:
    stored = BOMBS[bomb]()
    fake_id = hashlib.sha256(b"whatever the bomb would decode to").hexdigest()
    with bounded_memory(MAX_CHUNK_BYTES * 2 >> 20):
        for encoding, size in [(ZSTD, None), (None, None), (ZSTD, 100_000)]:
            with pytest.raises(ChunkCorrupt):
                decode(fake_id, stored, encoding, size)
        with pytest.raises(ValueError):
            verify_chunk(fake_id, stored, "zstd")  # an edge cache checking an origin's chunk
        with pytest.raises(ChunkCorrupt):
            apply_delta(b"old module", stored, fake_id, 100_000)  # a module delta


def test_a_frame_claiming_more_than_the_manifest_says() -> None:
    content = bytes(range(256)) * 64
    ref, stored = encode(content)
    assert ref.encoding == ZSTD
    assert decode(ref.id, stored, ZSTD, ref.size)[0] == content
    with pytest.raises(ChunkCorrupt, match="above the limit of 100"):
        decode(ref.id, stored, ZSTD, 100)
    delta = make_delta(b"old" * 100, content)
    with pytest.raises(ChunkCorrupt, match="claims"):
        apply_delta(b"old" * 100, delta, ref.id, 100)


def test_a_bomb_in_a_directory_store(published: tuple[Store, Path]) -> None:
    store, tmp = published
    fake_id = hashlib.sha256(b"bomb").hexdigest()
    store.put(chunk_key(fake_id), zeros_frame(256 << 20))
    with bounded_memory(MAX_CHUNK_BYTES * 2 >> 20), pytest.raises(ChunkCorrupt):
        store.read_stored_chunk(fake_id)


def endless(request: Request) -> Response:
    async def forever() -> Any:
        block = bytes(1 << 20)
        for _ in range(4096):  # 4 GiB if nobody stops reading
            yield block

    return StreamingResponse(forever(), media_type="application/octet-stream")


def test_http_store_stops_reading_an_endless_body() -> None:
    app = Starlette(routes=[Route("/{path:path}", endless)])
    with serving(app) as url, HttpStore(url) as store, bounded_memory(64):
        for key in ("channels/wat/latest.json", "manifests/wat/1.0.0.json", chunk_key("ab" * 32)):
            with pytest.raises(StoreError, match="more than"):
                store.get(key)


def test_every_refusal_is_typed() -> None:
    for cls in (ChunkCorrupt, ManifestError, StoreError):
        assert issubclass(cls, LayerWError)


@pytest.mark.parametrize("module", [b"", b"(module)", random.Random(11).randbytes(4096), b"\0asm\x01\0\0\0\x01\xff"])
def test_publish_refuses_a_module_that_does_not_validate(tmp_path: Path, module: bytes) -> None:
    bundle(tmp_path / "build", module, name="bad")
    with open_store(str(tmp_path / "store")) as store:
        with pytest.raises(InvalidModule, match="does not validate"):
            publish(tmp_path / "build", store, "latest")
        assert store.games() == [] and not list(store.list("chunks/"))  # nothing was written
