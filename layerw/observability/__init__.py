"""Observability: what a running Layer-W process tells its operator.

    metrics    Prometheus series (``layerw_*``) in a per-app registry, served at ``GET /metrics``
    tracing    OpenTelemetry spans (load, compile, instantiate, tick, render, chunk fetch, publish,
               join), exported over OTLP when configured; off by default, at no cost on the tick path
    logs       game/room/tick fields on log records, and a JSON-lines formatter (``--log-json``)
"""
