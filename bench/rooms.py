"""Rooms: multiplayer capacity, join cost and steady-state traffic on loopback.

Capacity: a room server in its own process hosts R pong rooms x 4 players; a bounded load
generator (this process, on uvloop like the server, with the lean client of bench/loadclient.py so
that it disturbs the server it shares two cores with as little as it can) opens the 4R WebSocket
players, each reading
every frame, changing its input twice a second at its own random moment (players in different
rooms do not press keys in step) and sending the room's true state hash every ``hash_every``
ticks as real clients do (one replica of the game per room, in the load generator, computes
them for the room's four players), for a fixed time. The server's own metrics give the result:
each room's tick rate (/rooms), and how late every tick started against its schedule, from the
``layerw_tick_lateness_seconds`` histogram's growth over the run (all rooms' ticks pooled; p99 by
interpolation inside its bucket, as Prometheus' histogram_quantile does) beside the worst single
room's p99 over its last 180 ticks, and the CPU both processes used.

Join: a real client joins a room that has run for a while, over the wire (latency from connect to
caught-up, bytes received); rejoin sends only changed snapshot pages. Steady state: bytes per
second one client receives with nobody's input changing.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from bench.loadclient import LoadClient
from bench.report import Section, table
from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.session import protocol as p
from layerw.session.client import RoomAddress, play_online
from layerw.session.replica import Replica
from layerw.session.room import Room
from layerw.toolchain.build import build
from tests.server_thread import free_port

ROOT = Path(__file__).resolve().parents[1]
ROOM_COUNTS = (10, 25, 50, 75)
SEATS = 4
WARM_UP_SECONDS = 2.0
LOAD_SECONDS = 8.0
INPUT_EVERY = 30  # frames between a player's input changes: twice a second at 60 Hz
JITTER_GOAL_MS = 5.0


class Shadow:
    """One room's game in the load generator, advanced by its first player's frames, so that all
    four players can send the room's true state hash (HASH messages carry no seat)."""

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        self.replica = Replica(bundle, engine)
        self.owner: object | None = None
        self.hashes: dict[int, bytes] = {}  # tick -> HASH message

    def follow(self, me: object, msg: p.Welcome | p.State | p.Frame | p.Pong) -> None:
        if isinstance(msg, p.Welcome) and self.owner is None:
            self.owner = me
            self.replica.welcome(msg)
        elif isinstance(msg, p.Frame) and self.owner is me:
            message = self.replica.apply(msg)
            if message is not None:
                self.hashes[self.replica.tick] = message
                self.hashes.pop(self.replica.tick - 10 * self.replica.hash_every, None)


class Player:
    """A load-generator player: reads every frame, changes its input every INPUT_EVERY frames
    (at its own ``phase``), and sends the state hash at every hash tick once the room's shadow has it."""

    def __init__(self, shadow: Shadow, seat_key: int, phase: int) -> None:
        self.shadow, self.seat_key, self.phase = shadow, seat_key, phase
        self.frames = 0
        self.player = np.zeros((), dtype=abi.PLAYER.dtype)
        self.due: list[int] = []  # hash ticks reached, hash not sent yet

    def on_message(self, conn: LoadClient, data: bytes) -> None:
        msg = p.decode_server(data)
        self.shadow.follow(self, msg)
        if not isinstance(msg, p.Frame):
            return
        self.frames += 1
        if self.frames % INPUT_EVERY == self.phase:
            self.player["keys"][1] ^= np.uint32(1 << self.seat_key)
            conn.send(p.input_message(msg.tick + 2, self.player.tobytes()))
        every = self.shadow.replica.hash_every
        if every and (msg.tick + 1) % every == 0:
            self.due.append(msg.tick + 1)
        for tick in [t for t in self.due if t in self.shadow.hashes]:
            self.due.remove(tick)
            conn.send(self.shadow.hashes[tick])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(url: str, rooms: int, shadows: list[Shadow], server_pid: int) -> tuple[
        int, list[dict[str, object]], list[dict[str, object]], str, str, float, dict[str, float]]:
    """Run the players; sample the server's rooms and metrics once everyone is in and again at the
    end, with the CPU the server and this load generator used in between."""
    ws_url = url.replace("http", "ws")
    phases = random.Random(rooms)  # the same moments in every run
    players = [Player(shadows[r], s, phases.randrange(INPUT_EVERY)) for r in range(rooms) for s in range(SEATS)]
    conns = await asyncio.gather(*(LoadClient.connect(f"{ws_url}/rooms/pong/load{rooms}-{i // SEATS}", player.on_message)
                                   for i, player in enumerate(players)))  # noqa: E501
    for conn in conns:
        conn.send(p.hello(p.PLAYER))
    await asyncio.sleep(WARM_UP_SECONDS)
    before, metrics_before = await asyncio.to_thread(_scrape, url)
    t0, server0, load0 = time.monotonic(), cpu_seconds(server_pid), time.process_time()
    await asyncio.sleep(LOAD_SECONDS - 0.3)
    after, metrics_after = await asyncio.to_thread(_scrape, url)
    elapsed = time.monotonic() - t0
    cpu = {"server_cpu": (cpu_seconds(server_pid) - server0) / elapsed, "load_cpu": (time.process_time() - load0) / elapsed}
    await asyncio.sleep(0.3)
    for conn in conns:
        conn.close()
    return sum(player.frames for player in players), before, after, metrics_before, metrics_after, elapsed, cpu


def _lateness_buckets(metrics: str) -> dict[float, float]:
    """Cumulative tick-lateness bucket counts (upper bound in seconds -> ticks), all games."""
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name == "layerw_tick_lateness_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    out[le] = out.get(le, 0.0) + sample.value
    return out


def pooled_lateness(before: str, after: str) -> dict[str, float]:
    """Ticks counted between two scrapes, the share that started within the goal, and the p99
    (linear inside the bucket that holds it, like Prometheus' histogram_quantile)."""
    b, a = _lateness_buckets(before), _lateness_buckets(after)
    bounds = sorted(a)
    counts = [a[le] - b.get(le, 0.0) for le in bounds]
    total = counts[-1]
    if total <= 0:
        raise RuntimeError("no room ticked between the two scrapes")
    rank, lower, below = 0.99 * total, 0.0, 0.0
    p99 = bounds[-2]  # the +Inf bucket: report the last finite bound
    for le, count in zip(bounds, counts, strict=True):
        if count >= rank:
            p99 = lower + (le - lower) * (rank - below) / max(count - below, 1e-9) if le != float("inf") else lower
            break
        lower, below = le, count
    within = counts[bounds.index(JITTER_GOAL_MS / 1e3)] / total
    return {"ticks": total, "p99_ms": p99 * 1e3, "within_goal": within}


def _capacity(build_dir: Path, engine: Engine) -> list[dict[str, float]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "bench.room_server", str(build_dir), str(port)], cwd=ROOT)
    try:
        _wait_http(f"{url}/rooms")
        out = []
        bundle = Bundle.open(build_dir)
        for rooms in ROOM_COUNTS:
            shadows = [Shadow(bundle, engine) for _ in range(rooms)]
            try:
                frames, before, after, m0, m1, elapsed, cpu = uvloop.run(_load(url, rooms, shadows, server.pid))
            finally:
                for shadow in shadows:
                    shadow.replica.close()
            start = {r["room"]: r["tick"] for r in before}
            stats = [r for r in after if str(r["room"]).startswith(f"load{rooms}-")]
            rates = [(int(r["tick"]) - int(start.get(r["room"], 0))) / elapsed for r in stats]  # type: ignore[call-overload]
            pooled = pooled_lateness(m0, m1)
            out.append({"rooms": rooms, "players": rooms * SEATS, "min_tick_rate": min(rates),
                        "p99_ms": pooled["p99_ms"], "within_goal": pooled["within_goal"], "ticks": pooled["ticks"],
                        "worst_room_p99_ms": max(float(r["jitter_p99_ms"]) for r in stats),  # type: ignore[arg-type]
                        "frames_received": frames, "heals": _heals(m1) - _heals(m0), **cpu})
            time.sleep(2.0)  # the step's rooms empty out and close before the next step
        return out
    finally:
        server.terminate()
        server.wait(10)


def _get_json(url: str) -> list[dict[str, object]]:
    return json.loads(_get_text(url))  # type: ignore[no-any-return]


def _heals(metrics: str) -> float:
    """States resent because a client's hash disagreed (none, when the load's hashes are right)."""
    return sum(sample.value for family in text_string_to_metric_families(metrics) if family.name == "layerw_heals"
               for sample in family.samples if sample.name == "layerw_heals_total")


def _scrape(url: str) -> tuple[list[dict[str, object]], str]:
    """The server's rooms and its metrics text."""
    return _get_json(f"{url}/rooms"), _get_text(f"{url}/metrics")


def _get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:  # loopback only
        return r.read().decode()  # type: ignore[no-any-return]


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get_json(url)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the room server did not start")


def _join_costs(build_dir: Path, engine: Engine) -> dict[str, float]:
    """Full join and block-delta rejoin sizes, from a room of bench/games/worldmap (1 MiB of level
    data, a little of it changing each tick) that has run 3000 ticks; the rejoining client holds
    the snapshot from 300 ticks earlier."""
    bundle = Bundle.open(build_dir)
    room = Room("bench", bundle, engine, snapshot_every=300)
    room.join(p.Hello(p.PLAYER, bytes(16), p.NO_BASE))
    for _ in range(3000):
        room.step()
    state_bytes = len(room.saved[-1].snapshot.memory)
    full = room.state_for(p.NO_BASE)
    rejoin = room.state_for(room.saved[-2].tick)
    return {"state_bytes": state_bytes, "join_bytes": len(full.encode()), "rejoin_bytes": len(rejoin.encode())}


def _online(build_dir: Path, engine: Engine) -> dict[str, float]:
    """Join latency over a real WebSocket and steady-state bytes per second for one client."""
    from layerw.server.app import create_app
    from layerw.server.catalog import DirCatalog
    from tests.server_thread import serving

    bundle = Bundle.open(build_dir)
    with serving(create_app(DirCatalog([build_dir]))) as url:
        address = RoomAddress.parse(f"{url}/play/pong?room=steady")
        warm = asyncio.run(play_online(address, bundle, engine, ticks=240))  # room has now run ~4 s
        t0 = time.monotonic()
        joined = asyncio.run(play_online(address, bundle, engine, ticks=warm.tick + 1))
        join_s = time.monotonic() - t0
        t0 = time.monotonic()
        steady = asyncio.run(play_online(address, bundle, engine, ticks=joined.tick + 180))
        seconds = time.monotonic() - t0
        join_bytes = joined.bytes_received
    return {"join_ms": join_s * 1e3, "join_wire_bytes": join_bytes,
            "steady_bytes_per_s": (steady.bytes_received - join_bytes) / max(seconds, 1e-9)}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    pong = build(ROOT / "games" / "pong", out_dir / "pong").out
    worldmap = build(ROOT / "bench" / "games" / "worldmap", out_dir / "worldmap").out
    with Engine(CpuLimit.EPOCH, cache=out_dir / "modules") as engine:
        join = _join_costs(worldmap, engine)
        online = _online(pong, engine)
        capacity = _capacity(pong, engine)
    t = table(f"6. Multiplayer rooms on loopback (pong, {SEATS} players a room, {LOAD_SECONDS:.0f} s each; lateness: "
              "all ticks pooled / worst room)", "measure", "value", "goal")
    for c in capacity:
        ok = c["min_tick_rate"] >= 59 and c["p99_ms"] < JITTER_GOAL_MS
        t.add_row(f"{c['rooms']:.0f} rooms x {SEATS} players", f"{c['min_tick_rate']:.1f} ticks/s, p99 late "
                  f"{c['p99_ms']:.2f} ms ({c['within_goal']:.1%} within 5 ms) / {c['worst_room_p99_ms']:.2f} ms; "
                  f"{c['heals']:.0f} heals; CPU server {c['server_cpu']:.0%}, load {c['load_cpu']:.0%}",
                  "60 Hz, p99 < 5 ms " + ("(met)" if ok else "(missed)"))
    t.add_row("join, 1 MiB world: state / wire bytes", f"{join['state_bytes']:,} / {join['join_bytes']:,}", "")
    t.add_row("rejoin, 1 MiB world (block delta)", f"{join['rejoin_bytes']:,} bytes "
              f"({join['rejoin_bytes'] / join['join_bytes']:.0%} of a full join)", "<= 30 %")
    t.add_row("join latency over WebSocket (pong)", f"{online['join_ms']:.0f} ms "
              f"({online['join_wire_bytes']:,} bytes)", "< 100 ms")
    t.add_row("steady state per client", f"{online['steady_bytes_per_s']:.0f} bytes/s", "")
    return Section("rooms", t, {"capacity": capacity, "join": join, "online": online})
