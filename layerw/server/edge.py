"""Edge: a caching node in front of an origin ``layerw serve`` — ``layerw edge --origin URL``.

Chunks are immutable, so the edge keeps them forever (on disk, least recently used evicted past
``max_bytes``), verifies each against its id before caching or serving it, and fetches a missing
one from the origin once however many clients ask for it at the same moment. Manifests named by a
channel are revalidated with the origin on every request (If-None-Match with the cached ETag, so
an unchanged manifest costs the origin a 304 and no body); immutable manifests are cached like
chunks. Everything else (pages, the client's files) is passed through.

``GET /metrics`` serves the edge's own series (chunk reads by source — cache, shared, origin —, the
hit ratio and size of its cache, bytes served); ``POST /telemetry`` takes browser reports as the
origin does.

Any CDN does the same job unmodified, because the origin's headers say exactly this:
chunks ``Cache-Control: public, max-age=31536000, immutable`` with a strong ETag, manifests by
channel ``max-age=10, must-revalidate`` with an ETag.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from layerw.diskbudget import DiskBudget
from layerw.errors import ChunkCorrupt
from layerw.observability import tracing
from layerw.observability.metrics import CacheReading, Metrics
from layerw.server.store_routes import IMMUTABLE
from layerw.server.telemetry import ReportLimits, ServedBytes, metrics_route, telemetry_route
from layerw.store.chunk import decode, is_chunk_id

log = logging.getLogger("layerw.edge")
PASS_HEADERS = ("content-type", "cache-control", "etag", "content-range", "accept-ranges")  # bodies arrive decoded
MAX_CHUNK = 64 << 20  # refuse a "chunk" larger than any chunker produces


class DiskLRU:
    """Files under ``root`` named by key; past ``max_bytes`` the least recently used go
    (``layerw.diskbudget``, trimming to exactly the bound)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._budget = DiskBudget([root], max_bytes, trim_to=1.0)
        self._disk_full_logged = False

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        self._budget.used(path)  # recency for eviction
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        tmp = self.root / f".{key}.{os.getpid()}.tmp"
        try:
            replaced = path.stat().st_size if path.is_file() else 0
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError as e:  # e.g. disk full: keep serving from the origin, say so once
            tmp.unlink(missing_ok=True)
            if not self._disk_full_logged:
                log.warning("edge cache cannot write to %s (%s); serving from the origin without caching", self.root, e)
                self._disk_full_logged = True
            return
        self._budget.added(len(data), replaced)

    @property
    def size(self) -> int:
        return self._budget.total


def verify_chunk(id_: str, stored: bytes, encoding: str) -> bytes:
    """The decoded chunk if its SHA-256 is ``id_``; ValueError otherwise (a zstd frame is never
    decoded past the largest chunk size, so a decompression bomb from the origin costs nothing)."""
    try:
        return decode(id_, stored, encoding)[0]
    except ChunkCorrupt as e:
        raise ValueError(f"chunk {id_} from the origin does not match its id ({e})") from e


def create_edge(origin: str, cache_dir: Path, max_bytes: int, transport: httpx.AsyncBaseTransport | None = None,
                metrics: Metrics | None = None, reports: ReportLimits | None = None) -> Starlette:
    origin = origin.rstrip("/")
    chunks = DiskLRU(cache_dir / "chunks", max_bytes)
    metrics = metrics or Metrics()
    answered = {"cache": 0, "shared": 0, "origin": 0}  # chunk requests by source, for the hit ratio
    reads = {source: metrics.chunk_reads.labels(source) for source in answered}

    def read_from(source: str) -> None:
        answered[source] += 1
        reads[source].inc()

    metrics.watch_cache("edge", lambda: CacheReading(answered["cache"] + answered["shared"], sum(answered.values()),
                                                     chunks.size))
    manifests: dict[str, tuple[str, bytes]] = {}  # channel URL -> (etag, body)
    in_flight: dict[str, asyncio.Future[tuple[bytes, str]]] = {}
    client = httpx.AsyncClient(base_url=origin, transport=transport, timeout=30)

    async def fetch_chunk(id_: str) -> tuple[bytes, str]:
        """(stored bytes, encoding), from disk or fetched once from the origin and verified."""
        cached = chunks.get(id_ + ".zst") or chunks.get(id_)
        if cached is not None:
            read_from("cache")
            return cached, "zstd" if (chunks.root / (id_ + ".zst")).exists() else "identity"
        if id_ in in_flight:
            read_from("shared")
            return await asyncio.shield(in_flight[id_])
        read_from("origin")
        future: asyncio.Future[tuple[bytes, str]] = asyncio.get_running_loop().create_future()
        in_flight[id_] = future
        try:
            with tracing.span("chunk fetch", chunk=id_, origin=origin):
                body, encoding = await fetch_from_origin(id_)
            chunks.put(id_ + (".zst" if encoding == "zstd" else ""), body)
            future.set_result((body, encoding))
            return body, encoding
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del in_flight[id_]

    async def fetch_from_origin(id_: str) -> tuple[bytes, str]:
        """The chunk as the origin stores it, verified against its id."""
        async with client.stream("GET", f"/chunks/{id_}", headers={"Accept-Encoding": "zstd"}) as r:
            if r.status_code != 200:
                raise LookupError(r.status_code)
            body = b""
            async for part in r.aiter_raw():
                body += part
                if len(body) > MAX_CHUNK:
                    raise ValueError(f"chunk {id_} from the origin is larger than {MAX_CHUNK} bytes")
            encoding = "zstd" if r.headers.get("content-encoding") == "zstd" else "identity"
        verify_chunk(id_, body, encoding)
        return body, encoding

    async def chunk(request: Request) -> Response:
        id_ = request.path_params["id"]
        if not is_chunk_id(id_):
            return JSONResponse({"error": "a chunk id is 64 lowercase hex digits (SHA-256)"}, 400)
        headers = {"ETag": f'"{id_}"', "Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == f'"{id_}"':
            return Response(status_code=304, headers=headers)
        try:
            body, encoding = await fetch_chunk(id_)
        except LookupError as e:
            return JSONResponse({"error": f"origin answered {e.args[0]}"}, int(e.args[0]) if e.args else 502)
        except (ValueError, httpx.HTTPError) as e:
            log.error("edge: %s", e)
            return JSONResponse({"error": str(e)}, 502)
        if encoding == "zstd" and "zstd" not in request.headers.get("accept-encoding", ""):
            body, encoding = verify_chunk(id_, body, encoding), "identity"
        if encoding == "zstd":
            headers["Content-Encoding"] = "zstd"
        return Response(body, media_type="application/octet-stream", headers=headers)

    async def manifest(request: Request) -> Response:
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        cached = manifests.get(url)
        headers = {"If-None-Match": cached[0]} if cached else {}
        try:
            r = await client.get(url, headers=headers)
        except httpx.HTTPError as e:
            if cached is None:
                return JSONResponse({"error": f"origin unreachable: {e}"}, 502)
            log.warning("edge: origin unreachable (%s); serving the cached manifest for %s", e, url)
            r = None
        if r is not None and r.status_code == 200:
            manifests[url] = (r.headers.get("etag", ""), r.content)
        elif r is not None and r.status_code != 304:
            return Response(r.content, r.status_code, media_type=r.headers.get("content-type"))
        etag, body = manifests[url]
        out = {"ETag": etag, "Cache-Control": "public, max-age=10, must-revalidate"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=out)
        return Response(body, media_type="application/json", headers=out)

    immutable: dict[str, Response] = {}

    async def immutable_manifest(request: Request) -> Response:
        path = request.url.path
        if path not in immutable:
            r = await passthrough(request)
            if r.status_code != 200:
                return r
            immutable[path] = r
        return immutable[path]

    async def passthrough(request: Request) -> Response:
        r = await client.get(request.url.path, params=request.query_params,
                             headers={k: v for k, v in request.headers.items() if k in ("range", "if-none-match")})
        return Response(r.content, r.status_code, headers={k: v for k, v in r.headers.items() if k in PASS_HEADERS})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = Starlette(routes=[
        Route("/chunks/{id}", chunk),
        Route("/games/{game}/manifest", manifest),
        Route("/manifests/{game}/{file}", immutable_manifest),
        metrics_route(metrics),
        telemetry_route(metrics, reports),
        Route("/{path:path}", passthrough),
    ], middleware=[Middleware(ServedBytes, metrics=metrics)], lifespan=lifespan)
    app.state.chunks = chunks
    app.state.metrics = metrics
    return app
