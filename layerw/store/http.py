"""HttpStore: a read-only store over a ``layerw serve`` (or an edge, or a CDN in front of one).

The server exposes the store's keys a loader needs — ``/channels/G/C.json``, ``/manifests/G/V.json``
and ``/chunks/ID`` — so a native client (``layerw run GAME --store http://…``, ``layerw join``)
loads a published game exactly as from a directory or S3, verifying every chunk against its id.
Writing, listing and deleting need the real store: they raise StoreError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from layerw.errors import NotPublished, StoreError, StoreUnavailable
from layerw.store.chunk import MAX_CHUNK_BYTES
from layerw.store.store import CHANNELS, CHUNKS, MANIFESTS, Store, StoredObject

MAX_OBJECT_BYTES = MAX_CHUNK_BYTES + (1 << 16)  # a stored chunk never exceeds its decoded size by more


class HttpStore(Store):
    def __init__(self, url: str, *, parallelism: int = Store.parallelism, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.parallelism = parallelism
        self._client = httpx.Client(base_url=self.url, timeout=timeout_s, follow_redirects=True)

    def _path(self, key: str) -> str:
        if key.startswith(CHUNKS):
            return f"/chunks/{key.rsplit('/', 1)[-1]}"
        if key.startswith((CHANNELS, MANIFESTS)):
            return "/" + key
        raise StoreError(f"{self.url} serves chunks, manifests and channels, not {key!r}")

    def get(self, key: str) -> bytes:
        try:
            # Ask for chunks as stored (zstd or identity) and take the bytes undecoded.
            with self._client.stream("GET", self._path(key), headers={"Accept-Encoding": "zstd"}) as r:
                if r.status_code == 404:
                    raise NotPublished(f"{key} is not published at {self.url}")
                if r.status_code != 200:
                    raise StoreUnavailable(f"{self.url}{self._path(key)} answered HTTP {r.status_code}")
                body = bytearray()
                for part in r.iter_raw():
                    body += part
                    if len(body) > MAX_OBJECT_BYTES:  # no chunk, manifest or channel is this big
                        raise StoreError(f"{self.url}{self._path(key)} sent more than {MAX_OBJECT_BYTES} bytes; "
                                         "is it a Layer-W server?")
                return bytes(body)
        except httpx.HTTPError as e:
            raise StoreUnavailable(f"cannot reach {self.url}: {e}") from e

    def head(self, key: str) -> StoredObject | None:
        try:
            r = self._client.head(self._path(key))
        except httpx.HTTPError as e:
            raise StoreUnavailable(f"cannot reach {self.url}: {e}") from e
        if r.status_code == 404:
            return None
        return StoredObject(key, int(r.headers.get("content-length", 0)), time.time())

    def put(self, key: str, data: bytes, *, durable: bool = False) -> None:
        raise StoreError(f"{self.url} is read-only over HTTP: publish into the server's own store")

    def list(self, prefix: str) -> Iterator[StoredObject]:
        raise StoreError(f"{self.url} cannot be listed over HTTP: ask its /games instead")

    def delete(self, key: str) -> None:
        raise StoreError(f"{self.url} is read-only over HTTP")

    def close(self) -> None:
        self._client.close()
