"""HTTP routes over a store: the game list, manifests by channel, and immutable chunks.

    GET /games                              every game, its channels, and its manifest URL
    GET /games/{game}/manifest?channel=C    the manifest a channel names (default latest);
                                            short cache, ETag = manifest SHA-256, 304 on If-None-Match
    GET /channels/{game}/{channel}.json     the channel pointer itself      (mirrors the store's keys,
    GET /manifests/{game}/{version}.json    an immutable manifest            for read-only HTTP stores)
    GET /chunks/{id}                        an immutable chunk: verified against its id before it is
                                            sent; zstd as stored when the client accepts it; Range

Only these keys are reachable: nothing else in the store (such as its publish token's hash,
``auth/``) has a route.

Names are checked before they reach the store (no path traversal): bad ones are 400, unknown 404.
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
from layerw.store.channel import check_name
from layerw.store.chunk import is_chunk_id
from layerw.store.manifest import check_version
from layerw.store.store import Store

log = logging.getLogger("layerw.server")
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=10, must-revalidate"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, "*", f"W/{etag}") for tag in header.split(","))


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


def store_routes(store: Store, metrics: Metrics | None = None) -> list[Route]:
    """The routes; ``metrics`` counts chunk reads (``layerw_chunk_reads_total``)."""
    reads = (metrics or Metrics()).chunk_reads
    from_store, not_modified, failed = reads.labels("store"), reads.labels("not_modified"), reads.labels("error")

    async def games(request: Request) -> Response:
        def listing() -> list[dict[str, object]]:
            out: list[dict[str, object]] = []
            for game in store.games():
                channels = {name: ch.version for name, ch in store.channels(game).items()}
                out.append({"name": game, "channels": channels, "manifest": f"/games/{game}/manifest",
                            "play": f"/play/{game}"})
            return out

        return JSONResponse(await run_in_threadpool(listing), headers={"Cache-Control": SHORT})

    async def manifest(request: Request) -> Response:
        try:
            game = check_name(request.path_params["game"], "game")
            channel = check_name(request.query_params.get("channel", "latest"))
            ch = await run_in_threadpool(store.channel, game, channel)
            etag = f'"{ch.manifest_sha256}"'
            headers = {"ETag": etag, "Cache-Control": SHORT}
            if _etag_matches(request, etag):
                return Response(status_code=304, headers=headers)
            data = await run_in_threadpool(store.manifest_bytes, game, ch.version)
        except LayerWError as e:
            return _error(e)
        return Response(data, media_type="application/json", headers=headers)

    async def channel_file(request: Request) -> Response:
        try:
            ch = await run_in_threadpool(store.channel, check_name(request.path_params["game"], "game"),
                                         check_name(request.path_params["channel"]))
        except LayerWError as e:
            return _error(e)
        return Response(ch.to_bytes(), media_type="application/json", headers={"Cache-Control": SHORT})

    async def manifest_file(request: Request) -> Response:
        try:
            game = check_name(request.path_params["game"], "game")
            data = await run_in_threadpool(store.manifest_bytes, game, check_version(request.path_params["version"]))
        except LayerWError as e:
            return _error(e)
        return Response(data, media_type="application/json", headers={"Cache-Control": IMMUTABLE})

    async def chunk(request: Request) -> Response:
        id_ = request.path_params["id"]
        if not is_chunk_id(id_):
            return JSONResponse({"error": "a chunk id is 64 lowercase hex digits (SHA-256)"}, 400)
        etag = f'"{id_}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes", "Vary": "Accept-Encoding"}
        if _etag_matches(request, etag):
            not_modified.inc()
            return Response(status_code=304, headers=headers)
        try:
            stored = await run_in_threadpool(store.read_stored_chunk, id_)
        except LayerWError as e:
            failed.inc()
            return _error(e)
        from_store.inc()
        wanted = request.headers.get("range")
        if stored.encoding == "zstd" and not wanted and "zstd" in request.headers.get("accept-encoding", ""):
            return Response(stored.data, media_type="application/octet-stream",
                            headers=headers | {"Content-Encoding": "zstd"})
        body = stored.content
        if wanted:
            m = _RANGE.match(wanted.strip())
            if not m or (not m[1] and not m[2]):
                return Response(status_code=416, headers=headers | {"Content-Range": f"bytes */{len(body)}"})
            start, end = (int(m[1]), int(m[2]) if m[2] else len(body) - 1) if m[1] else (len(body) - int(m[2]), len(body) - 1)
            start, end = max(start, 0), min(end, len(body) - 1)
            if start > end:
                return Response(status_code=416, headers=headers | {"Content-Range": f"bytes */{len(body)}"})
            return Response(body[start:end + 1], 206, media_type="application/octet-stream",
                            headers=headers | {"Content-Range": f"bytes {start}-{end}/{len(body)}"})
        return Response(body, media_type="application/octet-stream", headers=headers)

    return [
        Route("/games", games),
        Route("/games/{game}/manifest", manifest),
        Route("/channels/{game}/{channel}.json", channel_file),
        Route("/manifests/{game}/{version}.json", manifest_file),
        Route("/chunks/{id}", chunk),
    ]
