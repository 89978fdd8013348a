"""Checkpoint: what keeping a room resumable costs, and how much play a `kill -9` of its server loses.

For each checkpoint interval a real `layerw serve` process (a local-directory store, and for two
intervals a SeaweedFS S3 server on loopback) hosts one
games/sprites room (~3 MiB of guest state, a kept snapshot every 300 ticks) with one native
player. Once the room is past its first kept snapshot the server's own report (``GET /rooms``, as
the operator sees it) gives bytes and time per checkpoint write; then the server is killed with
SIGKILL and started again, and the player, rejoining by itself, is resumed from the checkpoint.

    ticks lost       the highest tick the player had seen, minus the tick the resumed room went on
                     from: play that happened and is gone (60 ticks = 1 s)
    resume ms        the new process's work: read the head and snapshots, rebuild, replay the frames
    kill -> playing  from the SIGKILL to the rejoined WELCOME: process start and client backoff included
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench.report import Section, table
from bench.store import _seaweed
from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.session.client import OnlineClient, RoomAddress
from layerw.session.replica import Replica
from layerw.store import open_store
from layerw.store.publish import publish

INTERVALS_S = (0.1, 0.25, 0.5, 1.0)
S3_INTERVALS_S = (0.25, 0.5)
KILL_AT = 420  # past the room's first kept snapshot after tick 0 (300): its chain holds a delta
RESUMED = re.compile(r"resumed at tick (\d+) .* in (\d+) ms")


class Watch(Replica):
    """A player's replica that notes the highest tick it reached and when and where it was rejoined."""

    def __init__(self, bundle: Bundle, engine: Engine) -> None:
        super().__init__(bundle, engine)
        self.highest = 0
        self.welcomes: list[tuple[float, p.Welcome, int]] = []  # when, what, the highest tick seen before

    def welcome(self, msg: p.Welcome) -> None:
        self.welcomes.append((time.monotonic(), msg, self.highest))
        super().welcome(msg)

    def apply(self, frame: p.Frame) -> bytes | None:
        report = super().apply(frame)
        self.highest = max(self.highest, self.tick)
        return report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return list(json.load(r))


def _serve(store: str, endpoint: str | None, port: int, every_s: float, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "layerw.cli", "serve", "--store", store, "--host", "127.0.0.1", "--port", str(port),
           "--checkpoint-every", str(every_s), *(["--endpoint-url", endpoint] if endpoint else [])]
    with log.open("ab") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            _get_json(f"http://127.0.0.1:{port}/rooms")
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"`layerw serve` did not start:\n{log.read_text()}") from None
            time.sleep(0.05)


def _one(work: Path, build: Path, engine: Engine, every_s: float, kill_at: int, endpoint: str | None) -> dict[str, object]:
    """One kill and resume; ``endpoint``: the S3 server's (None: a local directory)."""
    scratch = work / f"checkpoint-{every_s}-{'s3' if endpoint else 'local'}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    url = f"s3://layerw-test/checkpoint-{every_s}" if endpoint else str(scratch / "store")
    with open_store(url, **({"endpoint_url": endpoint} if endpoint else {})) as store:
        publish(build, store)
    port, log = _free_port(), scratch / "serve.log"
    bundle = Bundle.open(build)
    client = OnlineClient(bundle, engine, retry_delays_s=(0.05,) * 400)  # rejoin as soon as the server is back
    watch = client.replica = Watch(bundle, engine)
    failure: list[BaseException] = []

    def player() -> None:
        try:
            asyncio.run(client.play(RoomAddress.parse(f"http://127.0.0.1:{port}/play/sprites?room=b"), ticks=kill_at + 120))
        except BaseException as e:  # noqa: BLE001 - reported below
            failure.append(e)

    server = _serve(url, endpoint, port, every_s, log)
    thread = threading.Thread(target=player, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 120
        while watch.highest < kill_at and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        report = dict(_get_json(f"http://127.0.0.1:{port}/rooms")[0]["checkpoint"])  # type: ignore[call-overload]
        os.kill(server.pid, signal.SIGKILL)
        killed = time.monotonic()
        server.wait(10)
        server = _serve(url, endpoint, port, every_s, log)
        thread.join(120)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(10)
        client.close()
    if failure or len(watch.welcomes) < 2:
        raise RuntimeError(f"the player was not resumed: {failure}\n{log.read_text()}")
    back, welcome, seen = watch.welcomes[1]
    resumed = RESUMED.search(log.read_text())
    assert resumed is not None, log.read_text()
    return {"store": "S3 (SeaweedFS)" if endpoint else "local dir", "interval_s": every_s,
            "bytes_per_write": float(report["bytes_per_write"]),
            "snapshot_bytes": float(report["snapshot_bytes"]), "write_ms_p50": float(report["write_ms_p50"]),
            "write_ms_max": float(report["write_ms_max"]), "loop_ms_per_write": float(report["loop_ms_per_write"]),
            "ticks_lost": float(seen - (welcome.state.tick + len(welcome.state.frames))),
            "resume_ms": float(resumed.group(2)), "kill_to_playing_s": back - killed}


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    engine = Engine()
    kill_at = KILL_AT if rounds > 1 else 120
    try:
        rows = [_one(out_dir, sprites_build, engine, every, kill_at, None) for every in INTERVALS_S]
        with _seaweed(out_dir / "checkpoint-s3") as endpoint:
            rows += [_one(out_dir, sprites_build, engine, every, kill_at, endpoint) for every in S3_INTERVALS_S]
    finally:
        engine.close()
    t = table("checkpoint: one sprites room, its server killed with SIGKILL", "store", "interval s",
              "bytes/write", "snapshot object", "write ms p50", "write ms max", "loop ms/write", "ticks lost",
              "resume ms", "kill -> playing s")
    for r in rows:
        t.add_row(str(r["store"]), f"{r['interval_s']:g}", f"{r['bytes_per_write']:,.0f}", f"{r['snapshot_bytes']:,.0f}",
                  f"{r['write_ms_p50']:.1f}", f"{r['write_ms_max']:.1f}", f"{r['loop_ms_per_write']:.3f}",
                  f"{r['ticks_lost']:.0f}", f"{r['resume_ms']:.0f}", f"{r['kill_to_playing_s']:.2f}")
    notes = ["ticks lost: the player's highest tick at the kill minus the tick the resumed room went on from (60 = 1 s); "
             "below 0 when the checkpoint held ticks the player had not seen yet (it trails the room by its input delay)",
             "bytes/write: head (frames since the last snapshot) plus, every 300 ticks, a snapshot object (full or delta)",
             "kill -> playing: includes starting the new `layerw serve` process (imports, store, compile cache)"]
    return Section("checkpoint", t, {"rows": rows}, notes)
