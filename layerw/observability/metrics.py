"""Metrics: the Prometheus series a server or edge process serves at ``GET /metrics``.

Each app owns one ``Metrics`` and its own ``CollectorRegistry`` (one process may hold several apps —
tests, an origin beside an edge), never prometheus-client's global registry. The series:

    layerw_tick_duration_seconds{game}          histogram  one room tick (Room.step: the guest's tick and the frame)
    layerw_tick_lateness_seconds{game}          histogram  how late each room tick ran against its schedule (jitter)
    layerw_tick_jitter_p99_seconds{game,room}   gauge      p99 lateness of a room's recent ticks; ``room`` is
                                                           room_label(game, id), never the id (an id lets one join)
    layerw_rooms{game}                          gauge      open rooms
    layerw_players_connected{game,role}         gauge      connections in rooms; role player | spectator
    layerw_joins_total{game,outcome}            counter    player | rejoin | spectator | refused
    layerw_heals_total{game}                    counter    states resent because a client's hash disagreed
    layerw_heals_skipped_total{game}            counter    heals not sent: past the connection's or address's allowance
    layerw_traps_total{game,code}               counter    games stopped by the guest: the wasm trap code
                                                           (unreachable, ...), timeout, out_of_memory, exit, error
    layerw_bytes_served_total{kind}             counter    HTTP response body bytes; kind chunk | manifest | web | api
    layerw_chunk_reads_total{source}            counter    chunk requests by where they were answered from:
                                                           store, not_modified, error (origin); cache, shared
                                                           (a fetch already under way), origin (edge)
    layerw_cache_hit_ratio{cache}               gauge      the edge's chunk requests answered without an origin fetch
    layerw_cache_bytes{cache}                   gauge      bytes the edge's chunk cache holds
    layerw_client_reports_total{kind,outcome}   counter    browser reports (POST /telemetry); outcome accepted |
                                                           too_large | rate_limited | malformed
    layerw_client_load_seconds{phase}           histogram  browser load timings: manifest, module, first_frame

Ratios are also derivable in PromQL from the counters; the gauges are for dashboards without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from layerw.errors import GameError, GameExited, GameOutOfMemory, GameTimedOut

TICK_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.0167, 0.025, 0.05, 0.1, 0.25, 1.0)
LATENESS_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.008, 0.016, 0.033, 0.066, 0.125, 0.25, 1.0)
ROUTE_KINDS = ("chunk", "manifest", "web", "api")
LOAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)


def trap_code(e: GameError) -> str:
    """The ``code`` label for a game that stopped: the wasm trap code where there is one."""
    code = getattr(e, "trap_code", "")  # GameCrashed, PluginCrashed
    if code:
        return str(code)
    if isinstance(e, GameTimedOut):
        return "timeout"
    if isinstance(e, GameOutOfMemory):
        return "out_of_memory"
    if isinstance(e, GameExited):
        return "exit"
    return "error"


def room_label(game: str, room: str) -> str:
    """A room's ``room`` label: 12 hex digits of SHA-256 of ``game/room``. /metrics is readable by
    anyone and a room id is all one needs to join, fill or watch a room; the operator, who knows
    the id, finds its series by computing this."""
    return hashlib.sha256(f"{game}/{room}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RoomReading:
    """One room as the metrics see it at scrape time."""

    game: str
    room: str
    players: int
    spectators: int
    jitter_p99_s: float


@dataclass(frozen=True)
class CacheReading:
    hits: int  # requests answered without an origin fetch
    requests: int
    bytes: int


class _Rooms(Collector):
    def __init__(self, read: Callable[[], Iterable[RoomReading]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        rooms = GaugeMetricFamily("layerw_rooms", "Open rooms.", labels=["game"])
        players = GaugeMetricFamily("layerw_players_connected", "Connections in rooms.", labels=["game", "role"])
        jitter = GaugeMetricFamily("layerw_tick_jitter_p99_seconds", "p99 lateness of a room's recent ticks.",
                                   labels=["game", "room"])
        per_game: dict[str, list[int]] = {}
        for r in self.read():
            counts = per_game.setdefault(r.game, [0, 0, 0])
            counts[0] += 1
            counts[1] += r.players
            counts[2] += r.spectators
            jitter.add_metric([r.game, room_label(r.game, r.room)], r.jitter_p99_s)
        for game, (n, p, s) in sorted(per_game.items()):
            rooms.add_metric([game], n)
            players.add_metric([game, "player"], p)
            players.add_metric([game, "spectator"], s)
        yield from (rooms, players, jitter)


class _Cache(Collector):
    def __init__(self, name: str, read: Callable[[], CacheReading]) -> None:
        self.name, self.read = name, read

    def collect(self) -> Iterator[Metric]:
        r = self.read()
        ratio = GaugeMetricFamily("layerw_cache_hit_ratio", "Chunk requests answered without an origin fetch.",
                                  labels=["cache"])
        ratio.add_metric([self.name], r.hits / r.requests if r.requests else 0.0)
        size = GaugeMetricFamily("layerw_cache_bytes", "Bytes held by the chunk cache.", labels=["cache"])
        size.add_metric([self.name], r.bytes)
        yield from (ratio, size)


class Metrics:
    """The ``layerw_*`` series of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = reg = CollectorRegistry()
        self.tick_seconds = Histogram("layerw_tick_duration_seconds", "Duration of one room tick.", ["game"],
                                      buckets=TICK_BUCKETS, registry=reg)
        self.tick_lateness = Histogram("layerw_tick_lateness_seconds", "How late a room tick ran against its schedule.",
                                       ["game"], buckets=LATENESS_BUCKETS, registry=reg)
        self.joins = Counter("layerw_joins", "Room joins by outcome.", ["game", "outcome"], registry=reg)
        self.heals = Counter("layerw_heals", "States resent after a client's state hash disagreed.", ["game"], registry=reg)
        self.heals_skipped = Counter("layerw_heals_skipped", "Heals not sent: past a client's or address's allowance.",
                                     ["game"], registry=reg)
        self.traps = Counter("layerw_traps", "Games stopped by their guest, by trap code.", ["game", "code"], registry=reg)
        self.bytes_served = Counter("layerw_bytes_served", "HTTP response body bytes by route kind.", ["kind"], registry=reg)
        for kind in ROUTE_KINDS:  # present, at zero, from the first scrape
            self.bytes_served.labels(kind)
        self.chunk_reads = Counter("layerw_chunk_reads", "Chunk requests by where they were answered from.", ["source"],
                                   registry=reg)
        self.client_reports = Counter("layerw_client_reports", "Browser reports by kind and outcome.", ["kind", "outcome"],
                                      registry=reg)
        self.client_load = Histogram("layerw_client_load_seconds", "Browser load timings by phase.", ["phase"],
                                     buckets=LOAD_BUCKETS, registry=reg)

    def trap(self, game: str, e: GameError) -> None:
        self.traps.labels(game, trap_code(e)).inc()

    def watch_rooms(self, read: Callable[[], Iterable[RoomReading]]) -> None:
        """Room, player and jitter gauges, read from ``read()`` at each scrape."""
        self.registry.register(_Rooms(read))

    def watch_cache(self, name: str, read: Callable[[], CacheReading]) -> None:
        """The hit ratio and size of a chunk cache, read at each scrape."""
        self.registry.register(_Cache(name, read))

    def expose(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics when ``accept`` asks) and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
