"""Soak: N WebSocket players across R pong rooms against a `layerw serve` subprocess, for a bounded time.

    python -m bench.soak                                          a short run (16 clients, 4 rooms, 1 minute)
    python -m bench.soak --clients 100 --rooms 25 --minutes 30    the full soak

Loopback only. The server runs pong published into a temporary store; this process is the load:
each player reads every frame (checking that ticks arrive in order, one at a time), changes its
input twice a second and acknowledges the room's frames with their state hashes, as every client
must (the room closes a player that sends inputs but no hashes: OutOfStep). The players of a room
share one replica of its game (``RoomMirror``) for those hashes, so the load stays the network's.
Every ``--sample-every`` seconds it samples the server's resident memory
(VmRSS in /proc/PID/status), errors (client disconnects, out-of-order frames, server log lines at
WARNING and above) and tick lateness (``GET /rooms``: each room's p99 lateness against its schedule
over its last 180 ticks). Goal: RSS flat, zero errors, lateness unchanged from start to end.
A room's bounded history (lateness samples, frames since its last snapshot) fills during its first
three minutes or so, so RSS rises that long before it levels off: judge flatness on the second half.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import websockets
from rich.console import Console

from bench.report import table
from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import ProtocolError
from layerw.runtime.engine import CpuLimit, Engine
from layerw.session import protocol as p
from layerw.session.replica import Replica

ROOT = Path(__file__).resolve().parents[1]
SEATS = 4  # pong's seats per room
WARM_UP_S = 5.0  # everyone joins; the first sample is taken after this


@dataclass
class Sample:
    t: float  # seconds since the load started
    rss: int  # server VmRSS, bytes
    errors: int
    frames: int  # frames received by all clients so far
    p99_ms: float  # worst room's p99 tick lateness
    rooms: int
    clients: int


@dataclass
class Load:
    errors: list[str] = field(default_factory=list)
    frames: int = 0


class RoomMirror:
    """One room's game, simulated once for all the soak's players in it: it follows the frames the
    fastest of them receives and keeps the HASH message due at each hash tick."""

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        self.bundle, self.engine = bundle, engine
        self.replica: Replica | None = None
        self.hashes: dict[int, bytes] = {}  # hash tick -> the HASH message a player of the room sends for it

    def welcome(self, msg: p.Welcome) -> None:
        if self.replica is None:
            self.replica = Replica(self.bundle, self.engine, window=0)
            self.replica.welcome(msg)

    def frame(self, msg: p.Frame) -> None:
        replica = self.replica
        if replica is not None and msg.tick == replica.confirmed:
            report = replica.apply(msg)
            if report is not None:
                self.hashes[replica.confirmed] = report
                for old in [t for t in self.hashes if t < replica.confirmed - 600]:
                    del self.hashes[old]

    def due(self, after: int, upto: int) -> tuple[int, bytes] | None:
        """The newest HASH for a tick in (``after``, ``upto``], if the mirror has reached one."""
        ticks = [t for t in self.hashes if after < t <= upto]
        return (max(ticks), self.hashes[max(ticks)]) if ticks else None

    def close(self) -> None:
        if self.replica is not None:
            self.replica.close()


@dataclass
class SoakResult:
    clients: int
    rooms: int
    seconds: float
    samples: list[Sample]
    errors: list[str]
    server_log: str

    @property
    def rss_growth(self) -> int:
        return self.samples[-1].rss - self.samples[0].rss


def rss(pid: int) -> int:
    """VmRSS of process ``pid`` in bytes (psutil-free)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def get_json(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as r:  # loopback only
        return json.loads(r.read())  # type: ignore[no-any-return]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish_pong(work: Path) -> Path:
    """pong built by the project's toolchain and published into a fresh store under ``work``."""
    from layerw.store import open_store
    from layerw.store.publish import publish
    from layerw.toolchain.build import build

    out = build(ROOT / "games" / "pong", work / "pong").out
    with open_store(str(work / "store")) as store:
        publish(out, store, "latest")
    return work / "store"


def start_server(store: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        server = subprocess.Popen([sys.executable, "-m", "layerw.cli", "serve", "--store", str(store), "--host",
                                   "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"layerw serve exited ({server.returncode}):\n{log.read_text()}")
        try:
            get_json(f"http://127.0.0.1:{port}/rooms")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("layerw serve did not start in 60 s")


async def player(url: str, room: str, key: int, stop: float, load: Load, mirror: RoomMirror) -> None:
    """One player: joins, reads every frame in order, toggles a key every 30 frames and sends the
    room's hashes as they fall due, until ``stop``; reconnects after any failure (each one counted
    as an error)."""
    state = np.zeros((), dtype=abi.PLAYER.dtype)
    while time.monotonic() < stop:
        try:
            async with websockets.connect(f"{url}/rooms/pong/{room}", max_size=64 << 20, open_timeout=20) as ws:
                await ws.send(p.hello(p.PLAYER))
                last = -1
                frames = 0
                hashed = -1  # the newest tick this connection sent a hash of
                while time.monotonic() < stop:
                    msg = p.decode_server(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[arg-type]
                    if isinstance(msg, p.Welcome):
                        mirror.welcome(msg)
                        last = p.decode_frame(msg.state.frames[-1]).tick if msg.state.frames else msg.state.tick - 1
                    elif isinstance(msg, p.State):
                        last = p.decode_frame(msg.frames[-1]).tick if msg.frames else msg.tick - 1
                    elif isinstance(msg, p.Frame):
                        if last >= 0 and msg.tick != last + 1:
                            load.errors.append(f"{room}: frame {msg.tick} after {last}")
                        last = msg.tick
                        frames += 1
                        mirror.frame(msg)
                        due = mirror.due(hashed, last + 1)
                        if due is not None:
                            hashed = due[0]
                            await ws.send(due[1])
                        load.frames += 1
                        if frames % 30 == 0:
                            state["keys"][1] ^= np.uint32(1 << key)
                            await ws.send(p.input_message(msg.tick + 2, state.tobytes()))
                await ws.close()
                return
        except (OSError, TimeoutError, websockets.WebSocketException, ProtocolError) as e:
            load.errors.append(f"{room}: {type(e).__name__}: {e}")
            await asyncio.sleep(1.0)


async def drive(url: str, clients: int, rooms: int, seconds: float, every: float, pid: int,
                warm_up: float, mirrors: list[RoomMirror]) -> tuple[list[Sample], Load]:
    load = Load()
    t0 = time.monotonic()
    stop = t0 + warm_up + seconds
    ws_url = url.replace("http", "ws")
    tasks = [asyncio.create_task(player(ws_url, f"soak-{i % rooms}", i // rooms, stop, load, mirrors[i % rooms]))
             for i in range(clients)]
    samples: list[Sample] = []
    await asyncio.sleep(warm_up)
    while True:
        stats = await asyncio.to_thread(get_json, f"{url}/rooms")
        samples.append(Sample(round(time.monotonic() - t0 - warm_up, 1), rss(pid), len(load.errors), load.frames,
                              max((float(r["jitter_p99_ms"]) for r in stats), default=0.0),  # type: ignore[arg-type]
                              len(stats), sum(int(r["clients"]) for r in stats)))  # type: ignore[call-overload]
        left = stop - time.monotonic()
        if left <= 0.5:
            break
        await asyncio.sleep(min(every, left - 0.25))
    await asyncio.gather(*tasks)
    return samples, load


def run_soak(clients: int, rooms: int, seconds: float, *, every: float = 10.0, warm_up: float = WARM_UP_S) -> SoakResult:
    """Run the load for ``seconds`` after ``warm_up``, sampling every ``every`` seconds."""
    if not 1 <= clients <= rooms * SEATS:
        raise SystemExit(f"--clients must be within 1..{rooms * SEATS} for {rooms} rooms of {SEATS} seats")
    with tempfile.TemporaryDirectory(prefix="layerw-soak-") as tmp:
        work = Path(tmp)
        store = publish_pong(work)
        port = free_port()
        log = work / "server.log"
        server = start_server(store, port, log)
        engine = Engine(CpuLimit.OFF)
        mirrors = [RoomMirror(Bundle.open(work / "pong"), engine) for _ in range(rooms)]
        try:
            samples, load = asyncio.run(drive(f"http://127.0.0.1:{port}", clients, rooms, seconds, every, server.pid,
                                              warm_up, mirrors))
        finally:
            server.terminate()
            server.wait(20)
            for mirror in mirrors:
                mirror.close()
            engine.close()
        text = log.read_text(errors="replace")
    noisy = [line for line in text.splitlines() if any(w in line for w in ("WARNING", "ERROR", "Traceback", "error"))]
    return SoakResult(clients, rooms, seconds, samples, load.errors + [f"server: {line}" for line in noisy], text)


def report(result: SoakResult, console: Console) -> None:
    s0, s1 = result.samples[0], result.samples[-1]
    span = max(s1.t - s0.t, 1e-9)
    summary = table(f"Soak: {result.clients} clients in {result.rooms} pong rooms for {result.seconds:g} s "
                    "(layerw serve on loopback)", "", "start", "end", "change")
    summary.add_row("server RSS (MiB)", f"{s0.rss / 2**20:.1f}", f"{s1.rss / 2**20:.1f}",
                    f"{(s1.rss - s0.rss) / 2**20:+.1f}")
    half = result.samples[len(result.samples) // 2]
    summary.add_row("  over the second half", f"{half.rss / 2**20:.1f}", f"{s1.rss / 2**20:.1f}",
                    f"{(s1.rss - half.rss) / 2**20:+.1f}")
    summary.add_row("errors", str(s0.errors), str(s1.errors), f"{s1.errors - s0.errors:+d}")
    summary.add_row("p99 tick lateness, worst room (ms)", f"{s0.p99_ms:.2f}", f"{s1.p99_ms:.2f}",
                    f"{s1.p99_ms - s0.p99_ms:+.2f}")
    third = max(1, len(result.samples) // 3)
    first, last = (float(np.median([s.p99_ms for s in part])) for part in (result.samples[:third], result.samples[-third:]))
    summary.add_row("  median over the first / last third of samples", f"{first:.2f}", f"{last:.2f}",
                    f"{last - first:+.2f}")
    summary.add_row("frames received per second", "", f"{(s1.frames - s0.frames) / span:.0f}",
                    f"(expected {result.clients * 60})")
    console.print(summary)
    over_time = table("Over time", "t (s)", "RSS (MiB)", "errors", "p99 lateness (ms)", "rooms", "clients")
    for s in result.samples:
        over_time.add_row(f"{s.t:.0f}", f"{s.rss / 2**20:.1f}", str(s.errors), f"{s.p99_ms:.2f}", str(s.rooms),
                          str(s.clients))
    console.print(over_time)
    for line in result.errors[:20]:
        console.print(f"  [red]{line}[/red]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rooms", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=1.0, help="load time after a 5 s warm-up (default 1)")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples (default 10)")
    args = ap.parse_args(argv)
    result = run_soak(args.clients, args.rooms, args.minutes * 60, every=args.sample_every)
    report(result, Console())
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
