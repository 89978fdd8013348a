"""Tracing: OpenTelemetry spans for the work a Layer-W process does, off unless asked for.

Spans: ``load`` (a published game opened), ``compile``, ``instantiate``, ``tick``, ``render``,
``chunk fetch``, ``publish``, ``join``; attributes ``layerw.game``, ``layerw.tick``, ``layerw.room``,
``layerw.chunk``, ``layerw.bytes`` where they apply.

Off by default, and then free where it matters: the SDK is not even imported, and the per-frame
calls (``tick``, ``render``) test the module flag ``enabled`` before building any span, so a tick
costs one attribute read more (see ``bench/tracing.py``). Other sites use ``span()``, which is a
shared no-op context manager when off.

``configure_from_env()`` turns it on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, or when forced (``layerw --trace``): spans then go
over OTLP/HTTP, batched, to that endpoint (default http://localhost:4318). Tests pass their own
exporter to ``configure``. The provider is this module's, not the global one, so it can be swapped.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_T = TypeVar("_T")

enabled = False  # read on the hot path: a plain module attribute, nothing else
_tracer: Any = None
_provider: Any = None
_OFF = contextlib.nullcontext()


def configure(exporter: Any = None, *, batch: bool | None = None, service: str | None = None) -> None:
    """Turn tracing on: spans go to ``exporter`` (an SDK ``SpanExporter``; default OTLP over HTTP,
    configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables). ``batch`` defaults to batching
    for OTLP and immediate export for a given exporter (tests read it right away)."""
    global enabled, _tracer, _provider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    shutdown()
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
        batch = True if batch is None else batch
    name = service or os.environ.get("OTEL_SERVICE_NAME") or "layerw"
    provider = TracerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=True)
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer("layerw")
    enabled = True


def configure_from_env(force: bool = False) -> bool:
    """Turn tracing on when an OTLP endpoint is configured in the environment, or ``force``;
    ``OTEL_SDK_DISABLED=true`` keeps it off. True when it is on."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if force or any(os.environ.get(v) for v in ENDPOINT_VARS):
        configure()
    return enabled


def shutdown() -> None:
    """Export what is pending and turn tracing off."""
    global enabled, _tracer, _provider
    enabled = False
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def span(name: str, **attributes: str | int | float | bool) -> AbstractContextManager[Any]:
    """A span around a block (the current span becomes its parent); a no-op when tracing is off.
    Attribute names get the ``layerw.`` prefix. An exception leaving the block marks it failed."""
    if not enabled:
        return _OFF
    span: AbstractContextManager[Any] = _tracer.start_as_current_span(
        name, attributes={f"layerw.{k}": v for k, v in attributes.items()})
    return span


def carry(fn: Callable[..., _T]) -> Callable[..., _T]:
    """``fn`` to run on another thread (a pool) as a child of the current span; ``fn`` itself
    when tracing is off. Each call runs in its own copy of the caller's context."""
    if not enabled:
        return fn
    ctx = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> _T:
        return ctx.copy().run(fn, *args, **kwargs)

    return run
