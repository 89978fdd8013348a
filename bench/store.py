"""Store: what an update costs to download, how fast chunking and publishing run, how a cold start loads.

(a) A one-function change in a game's C source (games/pong, games/asteroids): the module delta a
    client holding the old module downloads, over the module size; plain chunk reuse beside it.
(b) One 1 MiB asset replaced inside a 50 MiB asset set (fifty 1 MiB incompressible assets): the
    bytes a client with the old version cached downloads through the real loader, over 1 MiB;
    also one 1 MiB region rewritten inside a single 50 MiB asset (neighbouring chunks re-fetched).
(c) Chunking throughput (FastCDC + SHA-256) and publish throughput of 50 MiB to a local
    directory and to a SeaweedFS S3 server on loopback.
(d) Cold start from a store: bytes fetched before the first tick and time from nothing (empty
    chunk and compiled-module caches) to the first tick, local directory and S3.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import zstandard

from bench.report import Section, table
from bench.timing import median
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store import open_store
from layerw.store.bundle import StoreBundle
from layerw.store.chunk import chunk_id
from layerw.store.chunker import Chunker
from layerw.store.delta import make_delta
from layerw.store.publish import publish
from layerw.store.store import Store
from layerw.toolchain.build import build

if TYPE_CHECKING:
    from tests.store.seaweed import Seaweed

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
CHANGES = {  # one function's body changes
    "pong": ("        g.over_timer = 0;", "        g.over_timer = 5;"),
    "asteroids": ("    if (d > PI) d -= 2 * PI;", "    if (d > PI) d -= 2 * PI + 0.001f;"),
}


def _noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _game(scratch: Path, game: str, version: str, change: tuple[str, str] | None = None,
          assets: dict[str, bytes] | None = None) -> Path:
    src = scratch / f"src-{game}-{version}"
    shutil.copytree(ROOT / "games" / game, src)
    toml = src / "layerw.toml"
    text = toml.read_text()
    toml.write_text(text.replace(text.split('version = "')[1].split('"')[0], version, 1))
    if change:
        c = src / f"{game}.c"
        assert c.read_text().count(change[0]) == 1, change[0]
        c.write_text(c.read_text().replace(*change))
    for name, data in (assets or {}).items():
        (src / "assets" / name).write_bytes(data)
    return build(src, scratch / f"build-{game}-{version}").out


def _client_update_bytes(store: Store, game: str, cache: Path) -> tuple[int, int]:
    """Open the latest version with ``cache`` and read every asset: (chunk bytes, zstd'd manifest bytes)."""
    with StoreBundle(store.url, game, options=store.options, cache_dir=cache) as bundle:
        for name in sorted(bundle.asset_names()):
            bundle.read_asset(name)
        # A server sends the manifest compressed (it is JSON, mostly hex ids).
        return bundle.stats.bytes_fetched, len(zstandard.ZstdCompressor(level=9).compress(bundle.manifest.to_bytes()))


def _update_sizes(scratch: Path) -> tuple[list[list[str]], dict[str, object]]:
    rows: list[list[str]] = []
    data: dict[str, object] = {}
    for game, change in CHANGES.items():
        old = (_game(scratch, game, "1.0.0") / "game.wasm").read_bytes()
        new = (_game(scratch, game, "1.0.1", change) / "game.wasm").read_bytes()
        delta = make_delta(old, new)
        chunker = Chunker(min_size=2048, avg_size=8192, max_size=65536)  # small chunks: CDC's best case
        old_ids = {chunk_id(c) for c in chunker.cut(old)}
        cdc = sum(len(c) for c in chunker.cut(new) if chunk_id(c) not in old_ids)
        rows.append([f"(a) {game}: one function changed", f"{len(new):,} B module", f"{len(delta):,} B delta",
                     f"{len(delta) / len(new):.2%}", f"CDC 8 KiB reuse would send {cdc / len(new):.0%}", "≤ 2 %"])
        data[f"delta_{game}"] = {"module_bytes": len(new), "delta_bytes": len(delta),
                                 "ratio": len(delta) / len(new), "cdc_ratio": cdc / len(new)}
    return rows, data


def _asset_update(scratch: Path) -> tuple[list[list[str]], dict[str, object]]:
    rows: list[list[str]] = []
    data: dict[str, object] = {}
    store = open_store(str(scratch / "asset-store"))
    assets = {f"a{i:02d}.bin": _noise(MIB, i) for i in range(50)}
    publish(_game(scratch, "pong", "2.0.0", assets=assets), store)
    cache = scratch / "asset-cache"
    _client_update_bytes(store, "pong", cache)
    publish(_game(scratch, "pong", "2.0.1", assets={**assets, "a25.bin": _noise(MIB, 999)}), store)
    fetched, manifest = _client_update_bytes(store, "pong", cache)
    rows.append(["(b) 1 MiB asset replaced in a 50 MiB set", "50 MiB in 50 assets", f"{fetched:,} B chunks",
                 f"{fetched / MIB:.3f}", f"+ manifest (zstd) {manifest:,} B → {(fetched + manifest) / MIB:.3f}", "≤ 1.1"])
    data["asset_set"] = {"chunk_bytes": fetched, "manifest_bytes": manifest, "ratio": fetched / MIB,
                         "ratio_with_manifest": (fetched + manifest) / MIB}
    big = _noise(50 * MIB, 7)
    publish(_game(scratch, "pong", "3.0.0", assets={"world.bin": big}), store)
    _client_update_bytes(store, "pong", cache)
    edited = big[:20 * MIB] + _noise(MIB, 12345) + big[21 * MIB:]
    publish(_game(scratch, "pong", "3.0.1", assets={"world.bin": edited}), store)
    fetched, manifest = _client_update_bytes(store, "pong", cache)
    rows.append(["(b') 1 MiB rewritten inside one 50 MiB asset", "50 MiB in 1 asset", f"{fetched:,} B chunks",
                 f"{fetched / MIB:.3f}", f"+ manifest (zstd) {manifest:,} B → {(fetched + manifest) / MIB:.3f}", "(neighbours)"])
    data["one_asset"] = {"chunk_bytes": fetched, "manifest_bytes": manifest, "ratio": fetched / MIB}
    return rows, data


@contextmanager
def _seaweed(scratch: Path) -> Iterator[str]:
    """A SeaweedFS S3 server on loopback; yields its endpoint (credentials set in the environment)."""
    with seaweed_server(scratch) as server:
        yield server.endpoint


@contextmanager
def seaweed_server(scratch: Path) -> Iterator[Seaweed]:
    """A SeaweedFS S3 server on loopback (credentials set in the environment while it runs)."""
    from tests.store.seaweed import KEY, SECRET, Seaweed

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET})
    server = Seaweed(scratch / "seaweedfs")
    try:
        server.start()
        yield server
    finally:
        server.kill()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _throughput(scratch: Path, endpoint: str) -> tuple[list[list[str]], dict[str, object]]:
    data = _noise(64 * MIB, 3)
    chunker = Chunker()
    t0 = time.perf_counter()
    n = sum(1 for _ in chunker.cut(data))
    cut_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in chunker.cut(data):
        chunk_id(c)
    cut_hash_s = time.perf_counter() - t0
    build_dir = _game(scratch, "pong", "4.0.0", assets={f"p{i}.bin": _noise(5 * MIB, 100 + i) for i in range(10)})
    results: dict[str, object] = {"chunking_mb_s": 64 * MIB / cut_s / 1e6, "chunking_sha_mb_s": 64 * MIB / cut_hash_s / 1e6,
                                  "chunks_per_64mib": n}
    rows = [["(c) chunking (FastCDC 2020)", "64 MiB", f"{n} chunks", f"{64 * MIB / cut_s / 1e6:,.0f} MB/s",
             f"with SHA-256 ids {64 * MIB / cut_hash_s / 1e6:,.0f} MB/s", "> 100 MB/s"]]
    for label, url, options in (("local dir", str(scratch / "pub-store"), {}),
                                ("SeaweedFS S3", "s3://layerw-test/bench", {"endpoint_url": endpoint})):
        with open_store(url, **options) as store:
            r = publish(build_dir, store)
        rate = r.bytes_total / r.seconds / 1e6
        rows.append([f"(c) publish 50 MiB to {label}", f"{r.chunks_new} chunks", f"{r.bytes_uploaded:,} B sent",
                     f"{rate:,.0f} MB/s", f"{r.seconds:.2f} s, parallelism {store.parallelism}", ""])
        results[f"publish_{'s3' if 's3' in url else 'local'}_mb_s"] = rate
    return rows, results


def _cold_start(scratch: Path, sprites_build: Path, endpoint: str, rounds: int) -> tuple[list[list[str]], dict[str, object]]:
    rows: list[list[str]] = []
    data: dict[str, object] = {}
    for label, url, options in (("local dir", str(scratch / "start-store"), {}),
                                ("SeaweedFS S3", "s3://layerw-test/start", {"endpoint_url": endpoint})):
        with open_store(url, **options) as store:
            publish(sprites_build, store)
        samples, fetched = [], 0
        for i in range(rounds):
            t0 = time.perf_counter()
            with StoreBundle(url, "sprites", options=options, cache_dir=scratch / f"cold-{label}-{i}") as bundle, \
                    Engine(CpuLimit.EPOCH, cache=scratch / f"modules-{label}-{i}") as engine, \
                    Game(bundle, engine) as game:
                game.tick(InputState())
                samples.append(time.perf_counter() - t0)
                fetched = bundle.stats.bytes_fetched + len(bundle.manifest.to_bytes())
        t = median(samples)
        rows.append([f"(d) cold start, sprites, {label}", "empty caches", f"{fetched:,} B before tick 1",
                     f"{t * 1e3:.0f} ms", f"to first tick (median of {rounds}, incl. compile)", ""])
        data[f"cold_start_{'s3' if 's3' in url else 'local'}"] = {"bytes": fetched, "ms": t * 1e3}
    return rows, data


def run(out_dir: Path, sprites_build: Path, rounds: int) -> Section:
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-", dir=out_dir))
    data: dict[str, object] = {}
    rows: list[list[str]] = []
    try:
        for part in (_update_sizes(scratch), _asset_update(scratch)):
            rows += part[0]
            data.update(part[1])
        with _seaweed(scratch) as endpoint:
            for part in (_throughput(scratch, endpoint), _cold_start(scratch, sprites_build, endpoint, max(1, rounds))):
                rows += part[0]
                data.update(part[1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    t = table("Store: update bytes, throughput, cold start", "measure", "size", "bytes", "ratio / rate", "detail", "goal")
    for row in rows:
        t.add_row(*row)
    notes = ["(a) delta = zstd -19 with the old module as raw-content dictionary + long-distance matching "
             "(standard zstd frame); (b) through StoreBundle with v1 in its chunk cache; chunk sizes 16/64/256 KiB"]
    return Section("store", t, data, notes)


if __name__ == "__main__":
    from rich.console import Console

    from bench.report import show

    with tempfile.TemporaryDirectory() as tmp:
        sprites = build(ROOT / "games" / "sprites", Path(tmp) / "sprites").out
        show(Console(width=160), run(ROOT / "out" / "bench", sprites, 3))
