"""Edge: a caching node in front of an origin ``layerw serve`` — ``layerw edge --origin URL``.

Chunks are immutable, so the edge keeps them forever (on disk, least recently used evicted past
``max_bytes``), verifies each against its id before caching or serving it, and fetches a missing
one from the origin once however many clients ask for it at the same moment. Manifests named by a
channel are revalidated with the origin on every request (If-None-Match with the cached ETag, so
an unchanged manifest costs the origin a 304 and no body); immutable manifests are cached like
chunks. Everything else (pages, the client's files) is streamed through, never held whole.

What the edge holds in memory is bounded (``EdgeLimits``): its two in-memory caches (manifests by
game and channel — the only query it forwards —, immutable manifests by path) keep at most
``memory_entries`` answers and ``memory_bytes`` bytes each, least recently used out first; an
origin answer it must hold whole (a chunk, a manifest) past its size bound is refused (502) as
soon as its Content-Length or its bytes so far pass the bound.

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from layerw.errors import ChunkCorrupt, NotPublished, StoreError, StoreUnavailable
from layerw.observability import tracing
from layerw.observability.metrics import CacheReading, Metrics
from layerw.server.lru import DiskLRU, MemoryLRU
from layerw.server.store_routes import IMMUTABLE, SHORT, etag_matches, ranged
from layerw.server.telemetry import ReportLimits, ServedBytes, metrics_route, telemetry_route
from layerw.store.channel import check_name
from layerw.store.chunk import decode, is_chunk_id
from layerw.store.http import MAX_OBJECT_BYTES

log = logging.getLogger("layerw.edge")
PASS_HEADERS = ("content-type", "cache-control", "etag", "content-range", "accept-ranges", "content-encoding")
MAX_CHUNK = MAX_OBJECT_BYTES  # refuse a "chunk" larger than any store holds
SOURCES = ("cache", "shared", "origin")


@dataclass(frozen=True)
class EdgeLimits:
    """What the edge may hold in memory: each in-memory cache keeps at most ``memory_entries``
    answers and ``memory_bytes`` bytes; a manifest from the origin larger than ``max_manifest``
    is refused (no loader takes one larger either)."""

    memory_entries: int = 1024
    memory_bytes: int = 64 << 20
    max_manifest: int = MAX_OBJECT_BYTES


@dataclass(frozen=True)
class Answer:
    """An origin's answer as the edge keeps it: the body and the headers it passes on."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items())


def verify_chunk(id_: str, stored: bytes, encoding: str) -> bytes:
    """The decoded chunk if its SHA-256 is ``id_``; ChunkCorrupt otherwise (a zstd frame is never
    decoded past the largest chunk size, so a decompression bomb from the origin costs nothing)."""
    try:
        return decode(id_, stored, encoding)[0]
    except ChunkCorrupt as e:
        raise ChunkCorrupt(f"chunk {id_} from the origin does not match its id ({e})") from e


async def read_bounded(r: httpx.Response, limit: int, what: str) -> bytes:
    """A streamed response's body as sent, refused (StoreError) once its Content-Length or its bytes
    so far pass ``limit``; a bytearray grows in amortised linear time, whatever the parts."""
    declared = r.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise StoreError(f"{what} from the origin is {declared} bytes, above the limit of {limit}")
    body = bytearray()
    async for part in r.aiter_raw():
        body += part
        if len(body) > limit:
            raise StoreError(f"{what} from the origin is larger than {limit} bytes")
    return bytes(body)


class Edge:
    """One edge node: its origin client, its caches (chunks on disk, manifests in memory), the
    chunk fetches in flight, and ``app``, the ASGI app serving them."""

    def __init__(self, origin: str, cache_dir: Path, max_bytes: int, transport: httpx.AsyncBaseTransport | None = None,
                 metrics: Metrics | None = None, reports: ReportLimits | None = None,
                 limits: EdgeLimits | None = None) -> None:
        self.origin = origin.rstrip("/")
        self.limits = limits or EdgeLimits()
        self.chunks = DiskLRU(cache_dir / "chunks", max_bytes)
        self.manifests: MemoryLRU[tuple[str, str], Answer] = MemoryLRU(
            self.limits.memory_entries, self.limits.memory_bytes, Answer.size)  # (game, channel) -> last 200
        self.immutable: MemoryLRU[str, Answer] = MemoryLRU(self.limits.memory_entries, self.limits.memory_bytes, Answer.size)
        self.in_flight: dict[str, asyncio.Future[tuple[bytes, str]]] = {}  # chunk id -> its one origin fetch
        self.metrics = metrics or Metrics()
        self.answered = dict.fromkeys(SOURCES, 0)  # chunk requests by source, for the hit ratio
        self._reads = {source: self.metrics.chunk_reads.labels(source) for source in SOURCES}
        self.metrics.watch_cache("edge", self.cache_reading)
        self.client = httpx.AsyncClient(base_url=self.origin, transport=transport, timeout=30)
        self.app = Starlette(routes=[
            Route("/chunks/{id}", self.chunk),
            Route("/games/{game}/manifest", self.manifest),
            Route("/manifests/{game}/{file}", self.immutable_manifest),
            metrics_route(self.metrics),
            telemetry_route(self.metrics, reports),
            Route("/{path:path}", self.passthrough),
        ], middleware=[Middleware(ServedBytes, metrics=self.metrics)], lifespan=self._lifespan)
        self.app.state.edge = self
        self.app.state.chunks = self.chunks
        self.app.state.metrics = self.metrics

    def cache_reading(self) -> CacheReading:
        return CacheReading(self.answered["cache"] + self.answered["shared"], sum(self.answered.values()), self.chunks.size)

    def _read_from(self, source: str) -> None:
        self.answered[source] += 1
        self._reads[source].inc()

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- chunks ---------------------------------------------------------------------------------

    async def fetch_chunk(self, id_: str) -> tuple[bytes, str]:
        """(stored bytes, encoding), from disk or fetched once from the origin and verified."""
        for key, encoding in ((id_ + ".zst", "zstd"), (id_, "identity")):
            cached = self.chunks.get(key)
            if cached is not None:
                self._read_from("cache")
                return cached, encoding
        if id_ in self.in_flight:
            self._read_from("shared")
            return await asyncio.shield(self.in_flight[id_])
        self._read_from("origin")
        future: asyncio.Future[tuple[bytes, str]] = asyncio.get_running_loop().create_future()
        self.in_flight[id_] = future
        try:
            with tracing.span("chunk fetch", chunk=id_, origin=self.origin):
                body, encoding = await self._chunk_from_origin(id_)
            self.chunks.put(id_ + (".zst" if encoding == "zstd" else ""), body)
            future.set_result((body, encoding))
            return body, encoding
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self.in_flight[id_]

    async def _chunk_from_origin(self, id_: str) -> tuple[bytes, str]:
        """The chunk as the origin stores it, verified against its id; NotPublished, StoreUnavailable,
        StoreError (too large) or ChunkCorrupt otherwise."""
        try:
            async with self.client.stream("GET", f"/chunks/{id_}", headers={"Accept-Encoding": "zstd"}) as r:
                if r.status_code == 404:
                    raise NotPublished(f"chunk {id_} is not at the origin")
                if r.status_code != 200:
                    raise StoreUnavailable(f"the origin answered {r.status_code} for chunk {id_}")
                body = await read_bounded(r, MAX_CHUNK, f"chunk {id_}")
                encoding = "zstd" if r.headers.get("content-encoding") == "zstd" else "identity"
        except httpx.HTTPError as e:
            raise StoreUnavailable(f"origin unreachable: {e}") from e
        verify_chunk(id_, body, encoding)
        return body, encoding

    async def chunk(self, request: Request) -> Response:
        id_ = request.path_params["id"]
        if not is_chunk_id(id_):
            return JSONResponse({"error": "a chunk id is 64 lowercase hex digits (SHA-256)"}, 400)
        etag = f'"{id_}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes", "Vary": "Accept-Encoding"}
        conditional = etag_matches(request.headers.get("if-none-match", ""), etag)
        if conditional and (self.chunks.has(id_ + ".zst") or self.chunks.has(id_)):
            return Response(status_code=304, headers=headers)
        try:
            body, encoding = await self.fetch_chunk(id_)
        except NotPublished as e:
            return JSONResponse({"error": str(e)}, 404)
        except StoreError as e:
            log.error("edge: %s", e)
            return JSONResponse({"error": str(e)}, 502)
        if conditional:  # Spec: RFC 9110 section 13.1.2: a tag (or *) matches only a chunk that exists
            return Response(status_code=304, headers=headers)
        wanted = request.headers.get("range")
        if encoding == "zstd" and not wanted and "zstd" in request.headers.get("accept-encoding", ""):
            return Response(body, media_type="application/octet-stream", headers=headers | {"Content-Encoding": "zstd"})
        content = verify_chunk(id_, body, encoding) if encoding == "zstd" else body
        if wanted:
            return ranged(content, wanted, headers)
        return Response(content, media_type="application/octet-stream", headers=headers)

    # --- manifests ------------------------------------------------------------------------------

    async def _get(self, path: str, what: str, params: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        """A bounded, unencoded origin answer (any status); StoreUnavailable or StoreError (too large,
        encoded) otherwise."""
        try:
            async with self.client.stream("GET", path, params=params,
                                          headers={"Accept-Encoding": "identity"} | (headers or {})) as r:
                if r.headers.get("content-encoding", "identity") != "identity":
                    raise StoreError(f"{what} from the origin came {r.headers['content-encoding']}-encoded, "
                                     "though the edge asked for identity")
                body = await read_bounded(r, self.limits.max_manifest, what)
                return Answer(r.status_code, body, {k: v for k, v in r.headers.items() if k in PASS_HEADERS})
        except httpx.HTTPError as e:
            raise StoreUnavailable(f"origin unreachable: {e}") from e

    async def manifest(self, request: Request) -> Response:
        """The manifest a channel names, revalidated with the origin; cached by (game, channel), the
        only thing that decides it, so other query parameters cost no memory, and a name the origin
        would refuse costs it no request."""
        try:
            key = (check_name(request.path_params["game"], "game"), check_name(request.query_params.get("channel", "latest")))
        except ValueError as e:
            return JSONResponse({"error": str(e)}, 400)
        url = f"/games/{key[0]}/manifest"
        cached = self.manifests.get(key)
        try:
            r = await self._get(url, f"the manifest of {key[0]}/{key[1]}", {"channel": key[1]},
                                {"If-None-Match": cached.headers.get("etag", "")} if cached else None)
        except StoreError as e:
            if cached is None:
                return JSONResponse({"error": str(e)}, 502)
            log.warning("edge: %s; serving the cached manifest for %s/%s", e, *key)
            r = Answer(304, b"")
        if r.status == 200:
            cached = Answer(200, r.body, {"etag": r.headers.get("etag", "")})
            self.manifests.put(key, cached)
        elif r.status != 304 or cached is None:
            return Response(r.body, r.status, media_type=r.headers.get("content-type"))
        out = {"ETag": cached.headers["etag"], "Cache-Control": SHORT}
        if etag_matches(request.headers.get("if-none-match", ""), cached.headers["etag"]):
            return Response(status_code=304, headers=out)
        return Response(cached.body, media_type="application/json", headers=out)

    async def immutable_manifest(self, request: Request) -> Response:
        """An immutable manifest, fetched once and kept (in memory, bounded) by its path."""
        path = as_sent(request, query=False)
        kept = self.immutable.get(path)
        if kept is None:
            try:
                kept = await self._get(path, f"manifest {path}")
            except httpx.InvalidURL as e:
                return JSONResponse({"error": f"not a path the origin could be asked for: {e}"}, 400)
            except StoreError as e:
                return JSONResponse({"error": str(e)}, 502)
            if kept.status != 200:
                return Response(kept.body, kept.status, headers=kept.headers)
            self.immutable.put(path, kept)
        return Response(kept.body, headers=kept.headers)

    # --- everything else ------------------------------------------------------------------------

    async def passthrough(self, request: Request) -> Response:
        """The origin's answer, streamed through as it arrives (never held whole, whatever its size)."""
        forward = {k: v for k, v in request.headers.items() if k in ("range", "if-none-match")}
        try:
            sent = self.client.build_request("GET", as_sent(request), headers={"Accept-Encoding": "identity"} | forward)
            r = await self.client.send(sent, stream=True)
        except httpx.InvalidURL as e:
            return JSONResponse({"error": f"not a path the origin could be asked for: {e}"}, 400)
        except httpx.HTTPError as e:
            return JSONResponse({"error": f"origin unreachable: {e}"}, 502)
        return StreamingResponse(_relay(r), r.status_code, headers={k: v for k, v in r.headers.items() if k in PASS_HEADERS},
                                 background=BackgroundTask(r.aclose))


def as_sent(request: Request, query: bool = True) -> str:
    """The request's path (and query) exactly as the client sent it, escapes kept, for the origin to
    judge: decoding first would turn ``%00`` into a character no URL may hold."""
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    qs = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{qs}" if query and qs else path


async def _relay(r: httpx.Response) -> AsyncIterator[bytes]:
    """The body's parts as sent; a failure mid-way is logged in a line and ends the connection
    (so the client sees a cut answer, never a short one that looks whole)."""
    try:
        async for part in r.aiter_raw():
            yield part
    except httpx.HTTPError as e:
        log.warning("edge: the origin's answer for %s broke off: %s", r.request.url.path, e)
        raise
    finally:
        await r.aclose()


def create_edge(origin: str, cache_dir: Path, max_bytes: int, transport: httpx.AsyncBaseTransport | None = None,
                metrics: Metrics | None = None, reports: ReportLimits | None = None,
                limits: EdgeLimits | None = None) -> Starlette:
    """The ASGI app of a new Edge (``app.state.edge`` is the Edge itself)."""
    return Edge(origin, cache_dir, max_bytes, transport, metrics, reports, limits).app
