"""Rooms: multiplayer capacity, join cost and steady-state traffic on loopback.

Capacity: a room server in its own process hosts R pong rooms x 4 players; a bounded load
generator (this process) opens the 4R WebSocket players, each reading every frame and changing its
input twice a second, for a fixed time; the server reports each room's tick rate and p99 tick
lateness. Join: a real client joins a room that has run for a while, over the wire (latency from
connect to caught-up, bytes received); rejoin sends only changed snapshot pages. Steady state:
bytes per second one client receives with nobody's input changing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import websockets

from bench.report import Section, table
from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.engine import CpuLimit, Engine
from layerw.session import protocol as p
from layerw.session.client import RoomAddress, play_online
from layerw.session.room import Room
from layerw.toolchain.build import build
from tests.server_thread import free_port

ROOT = Path(__file__).resolve().parents[1]
ROOM_COUNTS = (10, 25, 50)
SEATS = 4
WARM_UP_SECONDS = 1.5
LOAD_SECONDS = 4.0
JITTER_GOAL_MS = 5.0


async def _player(url: str, room: str, stop: float, seat_key: int) -> int:
    """A load-generator player: reads every frame, changes its input every 30 frames."""
    frames = 0
    player = np.zeros((), dtype=abi.PLAYER.dtype)
    async with websockets.connect(f"{url}/rooms/pong/{room}", max_size=64 << 20) as ws:
        await ws.send(p.hello(p.PLAYER))
        tick = 0
        while time.monotonic() < stop:
            msg = p.decode_server(await ws.recv())  # type: ignore[arg-type]
            if isinstance(msg, p.Frame):
                frames += 1
                tick = msg.tick
                if frames % 30 == 0:
                    player["keys"][1] ^= np.uint32(1 << seat_key)
                    await ws.send(p.input_message(tick + 2, player.tobytes()))
    return frames


async def _load(url: str, rooms: int) -> tuple[int, list[dict[str, object]], list[dict[str, object]], float]:
    """Run the players; sample the server's room stats once everyone is in and again at the end."""
    stop = time.monotonic() + WARM_UP_SECONDS + LOAD_SECONDS
    ws_url = url.replace("http", "ws")
    tasks = [asyncio.create_task(_player(ws_url, f"load{rooms}-{r}", stop, s)) for r in range(rooms) for s in range(SEATS)]
    await asyncio.sleep(WARM_UP_SECONDS)
    before = await asyncio.to_thread(_get_json, f"{url}/rooms")
    t0 = time.monotonic()
    await asyncio.sleep(LOAD_SECONDS - 0.2)
    after = await asyncio.to_thread(_get_json, f"{url}/rooms")
    elapsed = time.monotonic() - t0
    return sum(await asyncio.gather(*tasks)), before, after, elapsed


def _capacity(build_dir: Path) -> list[dict[str, float]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "bench.room_server", str(build_dir), str(port)], cwd=ROOT)
    try:
        _wait_http(f"{url}/rooms")
        out = []
        for rooms in ROOM_COUNTS:
            frames, before, after, elapsed = asyncio.run(_load(url, rooms))
            start = {r["room"]: r["tick"] for r in before}
            stats = [r for r in after if str(r["room"]).startswith(f"load{rooms}-")]
            rates = [(int(r["tick"]) - int(start.get(r["room"], 0))) / elapsed for r in stats]  # type: ignore[call-overload]
            out.append({"rooms": rooms, "players": rooms * SEATS, "min_tick_rate": min(rates),
                        "worst_p99_ms": max(float(r["jitter_p99_ms"]) for r in stats),  # type: ignore[arg-type]
                        "frames_received": frames})
            time.sleep(2.0)  # the step's rooms empty out and close before the next step
        return out
    finally:
        server.terminate()
        server.wait(10)


def _get_json(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as r:  # loopback only
        return json.loads(r.read())  # type: ignore[no-any-return]


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
    capacity = _capacity(pong)
    t = table(f"6. Multiplayer rooms on loopback (pong, {SEATS} players a room, {LOAD_SECONDS:.0f} s each)",
              "measure", "value", "goal")
    for c in capacity:
        ok = c["min_tick_rate"] >= 59 and c["worst_p99_ms"] < JITTER_GOAL_MS
        t.add_row(f"{c['rooms']:.0f} rooms x {SEATS} players", f"{c['min_tick_rate']:.1f} ticks/s, p99 late "
                  f"{c['worst_p99_ms']:.2f} ms", "60 Hz, p99 < 5 ms " + ("(met)" if ok else "(missed)"))
    t.add_row("join, 1 MiB world: state / wire bytes", f"{join['state_bytes']:,} / {join['join_bytes']:,}", "")
    t.add_row("rejoin, 1 MiB world (block delta)", f"{join['rejoin_bytes']:,} bytes "
              f"({join['rejoin_bytes'] / join['join_bytes']:.0%} of a full join)", "<= 30 %")
    t.add_row("join latency over WebSocket (pong)", f"{online['join_ms']:.0f} ms "
              f"({online['join_wire_bytes']:,} bytes)", "< 100 ms")
    t.add_row("steady state per client", f"{online['steady_bytes_per_s']:.0f} bytes/s", "")
    return Section("rooms", t, {"capacity": capacity, "join": join, "online": online})
