"""Telemetry: the server's observability face — ``GET /metrics``, ``POST /telemetry``, bytes served.

    GET /metrics      this app's ``layerw_*`` series (Prometheus text, OpenMetrics when asked for)
    POST /telemetry   a browser's report (main.js sends one with navigator.sendBeacon):
                        {"kind": "load", "game": G, "ms": {"manifest": .., "module": .., "first_frame": ..},
                         "renderer": .., "module_from": .., "chunks_fetched": .., "chunks_cached": ..,
                         "bytes_fetched": ..}                        on the first frame
                        {"kind": "error", "game": G, "tick": N, "error": "...", "error_class": "IntegrityError",
                         "version": V, "frames": [{"offset": .., "function": .., "file": .., "line": ..}, ...]}
                                                                     on a failure; a trap's wasm frames
                                                                     innermost first (at most MAX_FRAMES)
                      204 when taken; 413 past ``max_bytes``; 429 past ``per_minute`` per client address;
                      400 when it is not such an object. Taken reports are counted
                      (``layerw_client_reports_total``, ``layerw_client_load_seconds``) and logged by
                      ``layerw.client`` with game and client fields; refused ones are only counted. An
                      error report's frames are named from the store's symbols (``Symbolizer``)
                      when the server has them: the page only knows offsets unless it was given
                      the symbols.

``ServedBytes`` (middleware) counts every response body's bytes by route kind: chunk, manifest,
web (pages and the client's files) or api (the rest).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layerw.observability.metrics import ROUTE_KINDS, Metrics
from layerw.server.symbolizer import Symbolizer

log = logging.getLogger("layerw.client")
PHASES = ("manifest", "module", "first_frame")
COUNTS = ("chunks_fetched", "chunks_cached", "bytes_fetched", "tick")
MAX_FRAMES = 32
FRAME_TEXTS = {"function": 128, "file": 128}
TEXTS = {"game": 64, "renderer": 64, "module_from": 16, "error_class": 64, "error": 500, "channel": 64, "version": 64}


@dataclass(frozen=True)
class ReportLimits:
    max_bytes: int = 4096  # a report is a few hundred bytes
    per_minute: float = 12.0  # sustained reports per client address
    burst: int = 6  # reports a client address may send at once (a page sends one or two)
    max_clients: int = 10_000  # addresses remembered; the least recently seen are forgotten first


def route_kind(path: str) -> str:
    if path.startswith("/chunks/"):
        return "chunk"
    if path.startswith(("/manifests/", "/channels/")) or (path.startswith("/games/") and path.endswith("/manifest")):
        return "manifest"
    if path == "/" or path.startswith(("/play/", "/web/")) or path in ("/font.png", "/shaders.wgsl"):
        return "web"
    return "api"


class ServedBytes:
    """Counts response body bytes into ``layerw_bytes_served_total{kind}``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.counters = {kind: metrics.bytes_served.labels(kind) for kind in ROUTE_KINDS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counter = self.counters[route_kind(scope["path"])]

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.body":
                counter.inc(len(message.get("body", b"")))
            await send(message)

        await self.app(scope, receive, counting)


class RateLimit:
    """A token bucket per client address, ``limits.max_clients`` of them at most."""

    def __init__(self, limits: ReportLimits) -> None:
        self.limits = limits
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, when)

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, when = self.buckets.pop(address, (float(self.limits.burst), now))
        tokens = min(float(self.limits.burst), tokens + (now - when) * self.limits.per_minute / 60)
        allowed = tokens >= 1
        self.buckets[address] = (tokens - 1 if allowed else tokens, now)
        while len(self.buckets) > self.limits.max_clients:
            self.buckets.popitem(last=False)
        return allowed


def parse_report(body: bytes) -> dict[str, Any]:
    """The report's known fields, checked and clipped; ValueError when it is not a report."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("kind") not in ("load", "error"):
        raise ValueError("a report is a JSON object whose kind is 'load' or 'error'")
    out: dict[str, Any] = {"kind": doc["kind"]}
    for key, limit in TEXTS.items():
        if isinstance(doc.get(key), str):
            out[key] = _printable(doc[key], limit)
    for key in COUNTS:
        value = doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53:
            out[key] = value
    frames = doc.get("frames")
    if isinstance(frames, list):
        out["frames"] = [_frame(f) for f in frames[:MAX_FRAMES] if isinstance(f, dict)]
    ms = doc.get("ms")
    if isinstance(ms, dict):
        out["ms"] = {phase: float(ms[phase]) for phase in PHASES
                     if isinstance(ms.get(phase), (int, float)) and not isinstance(ms[phase], bool)
                     and math.isfinite(ms[phase]) and 0 <= ms[phase] < 3_600_000}
    return out


def _printable(text: object, limit: int) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit]) if isinstance(text, str) else ""


def _frame(doc: dict[str, Any]) -> dict[str, Any]:
    """One reported frame, checked and clipped: offset and line are counts, the rest short texts."""
    out: dict[str, Any] = {key: _printable(doc.get(key), limit) for key, limit in FRAME_TEXTS.items()}
    for key in ("offset", "line"):
        value = doc.get(key)
        out[key] = value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 32 else 0
    return out


def metrics_route(metrics: Metrics) -> Route:
    async def serve(request: Request) -> Response:
        body, content_type = metrics.expose(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    return Route("/metrics", serve)


def telemetry_route(metrics: Metrics, limits: ReportLimits | None = None, symbolizer: Symbolizer | None = None) -> Route:
    """``POST /telemetry``; with ``symbolizer`` (a server over a store) crash reports' frames get
    their functions and source lines from the store's symbols."""
    limits = limits or ReportLimits()
    rate = RateLimit(limits)
    reports = metrics.client_reports

    async def report(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if not rate.allow(address):
            reports.labels("unknown", "rate_limited").inc()
            return JSONResponse({"error": f"at most {limits.per_minute:g} reports a minute"}, 429)
        declared = request.headers.get("content-length", "")
        too_large = JSONResponse({"error": f"a report is at most {limits.max_bytes} bytes"}, 413)
        if declared.isdigit() and int(declared) > limits.max_bytes:
            reports.labels("unknown", "too_large").inc()
            return too_large
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > limits.max_bytes:
                reports.labels("unknown", "too_large").inc()
                return too_large
        try:
            doc = parse_report(bytes(body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            reports.labels("unknown", "malformed").inc()
            return JSONResponse({"error": "not a report: see layerw/server/telemetry.py"}, 400)
        kind = doc.pop("kind")
        reports.labels(kind, "accepted").inc()
        fields = {"client": address, "report": kind, **{k: v for k, v in doc.items() if k != "ms"}}
        if kind == "load":
            for phase, value in doc.get("ms", {}).items():
                metrics.client_load.labels(phase).observe(value / 1e3)
                fields[f"{phase}_ms"] = round(value, 1)
            log.info("browser loaded %s", doc.get("game", "?"), extra=fields)
        else:
            frames = doc.get("frames") or []
            if frames and symbolizer is not None and doc.get("game") and doc.get("version"):
                named = await run_in_threadpool(symbolizer.frames, doc["game"], doc["version"], [f["offset"] for f in frames])
                fields["frames"] = frames = named or frames
            where = "".join(f"\n  at {f['function']} ({f['file']}:{f['line']})" if f["file"] else f"\n  at {f['function']}"
                            for f in frames)
            log.warning("browser failed in %s: %s%s", doc.get("game", "?"), doc.get("error", ""), where, extra=fields)
        return Response(status_code=204)

    return Route("/telemetry", report, methods=["POST"])
