"""HTTP routes over a store: the game list, manifests by channel, and immutable chunks.

    GET /games                              every game, its channels, and its manifest URL
    GET /games/{game}/manifest?channel=C    the manifest a channel names (default latest);
                                            short cache, ETag = manifest SHA-256, 304 on If-None-Match
    GET /channels/{game}/{channel}.json     the channel pointer itself      (mirrors the store's keys,
    GET /manifests/{game}/{version}.json    an immutable manifest            for read-only HTTP stores)
    GET /chunks/{id}                        an immutable chunk: verified against its id before it is
                                            sent; zstd as stored when the client accepts it; one Range
    GET /debug/{game}/{version}/symbols.json  a version's source-line table (``layerw.symbols``), only
                                            where the operator allows it (``serve_symbols``, `layerw
                                            serve --serve-symbols`, for development): 403 otherwise
    GET /debug/{game}/{version}/replay.wasm  the version's replay twin and its offset map (replaytwins.py:
    GET /debug/{game}/{version}/replay.json  a page replays a game worker's timeout on it): the ones
                                            `layerw publish` stored, to anyone (pages also read them as
                                            the manifest's chunks); for a version published without,
                                            made on request only where debug files are served, else 403

Only these keys are reachable: nothing else in the store (such as its publish token's hash,
``auth/``) has a route. Players never get a game's symbols by default: a crash report the page
sends names code offsets, and the server names their source lines itself (``telemetry.py``).

Names are checked before they reach the store (no path traversal): bad ones are 400, unknown 404.
A conditional request for a chunk is 304 only when the chunk exists (``If-None-Match: *`` for a
missing one is 404); an unsatisfiable or malformed Range is 416, whatever its size.
"""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from layerw.errors import ChunkCorrupt, LayerWError, NotPublished, StoreError
from layerw.observability.metrics import Metrics
from layerw.server.replaytwins import ReplayTwins
from layerw.store.channel import check_name
from layerw.store.chunk import is_chunk_id
from layerw.store.manifest import check_version
from layerw.store.store import Store

log = logging.getLogger("layerw.server")
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=10, must-revalidate"
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_BEYOND = 1 << 62  # a byte position past any body: what a position of more than 18 digits means


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match value names ``etag`` (weak comparison) or is ``*``; for ``*`` the
    caller still checks that the resource exists. Spec: RFC 9110 section 13.1.2."""
    return any(tag.strip() in (etag, "*", f"W/{etag}") for tag in header.split(","))


def _position(digits: str) -> int:
    """A byte position of any length, without parsing thousands of digits (int() refuses past 4,300)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _BEYOND


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) positions one ``bytes=`` range selects from ``size`` bytes, or
    None when the header is not a single byte range or selects nothing (answered 416).
    Spec: RFC 9110 section 14.1.2: a last position at or past the end means the end, and a suffix
    longer than the body means all of it."""
    m = _RANGE.fullmatch(header.strip())
    if not m or (not m[1] and not m[2]):
        return None
    if m[1]:
        first, last = _position(m[1]), min(_position(m[2]) if m[2] else _BEYOND, size - 1)
    else:
        first, last = max(size - _position(m[2]), 0), size - 1
    return (first, last) if first <= last else None  # also: a last before the first, a first past the end, -0


def _error(e: LayerWError) -> Response:
    """A client learns what went wrong, never where the store lives (paths, buckets): the detail
    goes to the server's log."""
    if isinstance(e, NotPublished):
        return JSONResponse({"error": "not published here"}, 404)
    if isinstance(e, ChunkCorrupt):
        log.error("corrupt chunk in the store: %s", e)
        return JSONResponse({"error": "the stored chunk does not match its id"}, 502)
    if isinstance(e, ValueError):
        return JSONResponse({"error": str(e)}, 400)  # name checks: they echo only the request
    log.error("store failure: %s", e)
    return JSONResponse({"error": "the store is unavailable"}, 503 if isinstance(e, StoreError) else 500)


def _no_debug_files() -> Response:
    return JSONResponse({"error": "this server does not serve games' symbols (debug files); for development "
                         "start it with `layerw serve --serve-symbols`"}, 403)


def ranged(body: bytes, header: str, headers: dict[str, str]) -> Response:
    """``body`` cut to the one range ``header`` asks for (206), or 416 naming its length."""
    span = byte_range(header, len(body))
    if span is None:
        return Response(status_code=416, headers=headers | {"Content-Range": f"bytes */{len(body)}"})
    first, last = span
    return Response(body[first:last + 1], 206, media_type="application/octet-stream",
                    headers=headers | {"Content-Range": f"bytes {first}-{last}/{len(body)}"})


class StoreRoutes:
    """The routes over one store; ``metrics`` counts chunk reads (``layerw_chunk_reads_total``)
    by outcome. ``routes`` is what an app mounts."""

    def __init__(self, store: Store, metrics: Metrics | None = None, *, serve_symbols: bool = False) -> None:
        self.store = store
        self.serve_symbols = serve_symbols
        self.twins = ReplayTwins(store)
        reads = (metrics or Metrics()).chunk_reads
        self.from_store, self.not_modified, self.failed = (reads.labels(kind) for kind in ("store", "not_modified", "error"))
        self.routes = [
            Route("/games", self.games),
            Route("/games/{game}/manifest", self.manifest),
            Route("/channels/{game}/{channel}.json", self.channel_file),
            Route("/manifests/{game}/{version}.json", self.manifest_file),
            Route("/chunks/{id}", self.chunk),
            Route("/debug/{game}/{version}/symbols.json", self.symbols),
            Route("/debug/{game}/{version}/replay.{kind:str}", self.replay_twin),
        ]

    def _listing(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for game in self.store.games():
            channels = {name: ch.version for name, ch in self.store.channels(game).items()}
            out.append({"name": game, "channels": channels, "manifest": f"/games/{game}/manifest", "play": f"/play/{game}"})
        return out

    async def games(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self._listing), headers={"Cache-Control": SHORT})

    async def manifest(self, request: Request) -> Response:
        try:
            game = check_name(request.path_params["game"], "game")
            channel = check_name(request.query_params.get("channel", "latest"))
            ch = await run_in_threadpool(self.store.channel, game, channel)
            etag = f'"{ch.manifest_sha256}"'
            headers = {"ETag": etag, "Cache-Control": SHORT}
            if etag_matches(request.headers.get("if-none-match", ""), etag):
                return Response(status_code=304, headers=headers)
            data = await run_in_threadpool(self.store.manifest_bytes, game, ch.version)
        except LayerWError as e:
            return _error(e)
        return Response(data, media_type="application/json", headers=headers)

    async def channel_file(self, request: Request) -> Response:
        try:
            ch = await run_in_threadpool(self.store.channel, check_name(request.path_params["game"], "game"),
                                         check_name(request.path_params["channel"]))
        except LayerWError as e:
            return _error(e)
        return Response(ch.to_bytes(), media_type="application/json", headers={"Cache-Control": SHORT})

    async def manifest_file(self, request: Request) -> Response:
        try:
            game = check_name(request.path_params["game"], "game")
            data = await run_in_threadpool(self.store.manifest_bytes, game, check_version(request.path_params["version"]))
        except LayerWError as e:
            return _error(e)
        return Response(data, media_type="application/json", headers={"Cache-Control": IMMUTABLE})

    async def symbols(self, request: Request) -> Response:
        if not self.serve_symbols:
            return _no_debug_files()
        try:
            game = check_name(request.path_params["game"], "game")
            data = await run_in_threadpool(self.store.symbols, game, check_version(request.path_params["version"]))
        except LayerWError as e:
            return _error(e)
        return Response(data, media_type="application/json", headers={"Cache-Control": "private, max-age=60"})

    async def replay_twin(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ("wasm", "json"):
            return JSONResponse({"error": "a version's replay twin is replay.wasm, its offset map replay.json"}, 404)
        try:
            game = check_name(request.path_params["game"], "game")
            version = check_version(request.path_params["version"])
            stored = await run_in_threadpool(self.twins.stored, game, version)  # reads only: anyone may ask
            if stored is None and not self.serve_symbols:
                return _no_debug_files()  # making one costs CPU: never for an anonymous request
            twin, offsets = stored if stored is not None else await run_in_threadpool(self.twins.made, game, version)
        except LayerWError as e:
            return _error(e)
        body, media = (twin, "application/wasm") if kind == "wasm" else (offsets, "application/json")
        return Response(body, media_type=media, headers={"Cache-Control": IMMUTABLE if stored else "private, max-age=60"})

    async def chunk(self, request: Request) -> Response:
        id_ = request.path_params["id"]
        if not is_chunk_id(id_):
            return JSONResponse({"error": "a chunk id is 64 lowercase hex digits (SHA-256)"}, 400)
        etag = f'"{id_}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes", "Vary": "Accept-Encoding"}
        try:
            # Spec: RFC 9110 section 13.1.2: a tag (or *) matches only a representation that exists.
            if etag_matches(request.headers.get("if-none-match", ""), etag) and \
                    await run_in_threadpool(self.store.has_chunk, id_):
                self.not_modified.inc()
                return Response(status_code=304, headers=headers)
            stored = await run_in_threadpool(self.store.read_stored_chunk, id_)
        except LayerWError as e:
            self.failed.inc()
            return _error(e)
        self.from_store.inc()
        wanted = request.headers.get("range")
        if stored.encoding == "zstd" and not wanted and "zstd" in request.headers.get("accept-encoding", ""):
            return Response(stored.data, media_type="application/octet-stream",
                            headers=headers | {"Content-Encoding": "zstd"})
        if wanted:
            return ranged(stored.content, wanted, headers)
        return Response(stored.content, media_type="application/octet-stream", headers=headers)


def store_routes(store: Store, metrics: Metrics | None = None, *, serve_symbols: bool = False) -> list[Route]:
    """The routes of a StoreRoutes over ``store`` (what ``create_app`` mounts)."""
    return StoreRoutes(store, metrics, serve_symbols=serve_symbols).routes
