"""Saves: how long a player's save slot takes to write and read back, natively and online.

    native dir        ``Saves`` in a local directory: temporary file, fsync, rename, directory fsync
    online (local)    ``OnlineSaves`` against a `layerw serve` app on loopback whose store is a directory
    online (S3)       the same app with its store on a SeaweedFS S3 server on loopback

Each row writes then reads one slot ``rounds`` times (the quota check lists the player's slots on
every write). The server's rate limit is raised for the bench; everything shares this machine.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Section, table
from bench.store import seaweed_server
from layerw.play.online_saves import OnlineSaves, PlayerKey
from layerw.saves import Saves, Slot
from layerw.server.catalog import DirCatalog
from layerw.server.save_routes import SaveLimits, save_routes
from layerw.store import open_store
from layerw.store.store import Store
from layerw.toolchain.build import build

GAMES = Path(__file__).resolve().parent.parent / "games"
SIZES = (1 << 10, 64 << 10)  # a small save, and [saves] slot_bytes' default
ROUNDS = 50


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _measure(write: Callable[[bytes, int], None], read: Callable[[], Slot | None], size: int,
             rounds: int) -> dict[str, float]:
    data = bytes(range(256)) * (size // 256)
    writes, reads = [], []
    for version in range(rounds):
        t0 = time.perf_counter()
        write(data, version)
        writes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        slot = read()
        reads.append(time.perf_counter() - t0)
        if slot != Slot(version, data):
            raise RuntimeError(f"read back {slot!r:.80}, not what was written")
    return {"size": size, "write_ms_p50": 1e3 * _percentile(writes, 0.5), "write_ms_p99": 1e3 * _percentile(writes, 0.99),
            "read_ms_p50": 1e3 * _percentile(reads, 0.5), "read_ms_p99": 1e3 * _percentile(reads, 0.99)}


def _online(store: Store, catalog: DirCatalog, key: PlayerKey, rounds: int) -> list[dict[str, float]]:
    from starlette.applications import Starlette

    from tests.server_thread import serving

    limits = SaveLimits(player_requests_per_second=1e6, player_burst=1_000_000, address_requests_per_second=1e6,
                        address_burst=1_000_000)
    with serving(Starlette(routes=save_routes(store, catalog, limits))) as url, OnlineSaves(url, "pong", key) as saves:
        return [_measure(lambda data, v: saves.write("bench", data, v), lambda: saves.read("bench"), size, rounds)
                for size in SIZES]


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    rounds = max(rounds, 5)
    work = out_dir / "saves"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    catalog = DirCatalog([build(GAMES / "pong", work / "pong").out])
    key = PlayerKey.load_or_create(work / "player.key")
    native = Saves(work / "native")
    rows = [("native dir", _measure(lambda data, v: native.write("bench", data, v), lambda: native.read("bench"), size, rounds))
            for size in SIZES]
    with open_store(str(work / "store")) as local:
        rows += [("online (local store)", r) for r in _online(local, catalog, key, rounds)]
    with seaweed_server(work / "s3") as seaweed, seaweed.store("saves", retries=2) as s3:
        rows += [("online (S3, SeaweedFS)", r) for r in _online(s3, catalog, key, rounds)]
    t = table(f"saves: one slot written then read back, {rounds} times", "where", "slot bytes", "write ms p50",
              "write ms p99", "read ms p50", "read ms p99")
    for where, r in rows:
        t.add_row(where, f"{r['size']:,.0f}", f"{r['write_ms_p50']:.2f}", f"{r['write_ms_p99']:.2f}",
                  f"{r['read_ms_p50']:.2f}", f"{r['read_ms_p99']:.2f}")
    notes = ["online: an HTTP round trip on loopback (httpx, uvicorn) plus the store's: a write lists the player's slots "
             "(quota) and puts durably; a read is one GET", "a loaded shared machine: the figures are indicative"]
    return Section("saves", t, {"rows": [{"where": w, **r} for w, r in rows]}, notes)
