"""publish: chunks first, manifest next, channel last — dedup, resume, no half version ever visible."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.errors import NotPublished, StoreUnavailable, VersionExists
from layerw.store.bundle import StoreBundle
from layerw.store.chunk import chunk_key
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from layerw.store.store import MANIFESTS, Store
from tests.roomy import with_roomy_deadline
from tests.store.conftest import BUCKET, Seaweed, build_pong, noise


class Interrupt(Exception):
    pass


def test_dedup_across_versions_and_games(store: Store, tmp_path: Path) -> None:
    big = noise(4 << 20, seed=5)
    v1 = publish(build_pong(tmp_path, "1.0.0", assets={"level.bin": big}), store)
    assert v1.chunks_reused == 0 and v1.bytes_total > len(big)
    edited = big[:2_000_000] + b"one new line in the level" + big[2_000_000:]
    v2 = publish(build_pong(tmp_path, "1.1.0", "7", assets={"level.bin": edited}), store)
    # The module changed (1-2 chunks), the level file changed near one point (1-2 chunks).
    assert v2.chunks_new <= 4 and v2.chunks_reused >= v1.chunks_new - 4
    assert v2.bytes_uploaded < 600_000 < v2.bytes_total
    again = publish(build_pong(tmp_path, "1.2.0", assets={"level.bin": big}), store)  # back to v1's content
    assert again.chunks_new == 0 and again.delta is not None
    assert again.bytes_uploaded == again.delta.size < 200  # only the patch from 1.1.0's module


def test_a_version_never_changes(local_store: LocalStore, pong_versions: Callable[..., Path]) -> None:
    first = publish(pong_versions("1.0.0"), local_store)
    same = publish(pong_versions("1.0.0"), local_store)  # same content: a no-op apart from the channel
    assert same.chunks_new == 0 and same.manifest == first.manifest
    with pytest.raises(VersionExists, match="raise \\[game\\] version"):
        publish(pong_versions("1.0.0", "9"), local_store)
    assert local_store.manifest("pong", "1.0.0") == first.manifest


def test_a_damaged_previous_version_costs_the_delta_not_the_publish(local_store: LocalStore,
                                                                     pong_versions: Callable[..., Path]) -> None:
    v1 = publish(pong_versions("1.0.0"), local_store)
    local_store.delete(chunk_key(v1.manifest.module.chunks[0].id))
    v2 = publish(pong_versions("1.1.0", "5"), local_store)
    assert v2.delta is None and local_store.channel("pong", "latest").version == "1.1.0"


def test_interrupted_local_publish_resumes_and_hides_the_half_version(local_store: LocalStore, tmp_path: Path) -> None:
    publish(build_pong(tmp_path, "1.0.0"), local_store)
    build = build_pong(tmp_path, "2.0.0", "4", assets={"big.bin": noise(3 << 20, seed=9)})
    counter = itertools.count(1)  # callbacks run on the upload threads: next() is atomic

    def crash(size: int, reused: bool) -> None:
        assert [v.version for v in local_store.versions("pong")] == ["1.0.0"]
        if next(counter) == 15:
            raise Interrupt

    with pytest.raises(Interrupt):
        publish(build, local_store, on_chunk=crash)
    assert local_store.channel("pong", "latest").version == "1.0.0"
    with pytest.raises(NotPublished):
        local_store.manifest("pong", "2.0.0")
    resumed = publish(build, local_store)
    assert resumed.chunks_reused >= 14 and resumed.manifest.version == "2.0.0"
    assert local_store.channel("pong", "latest").version == "2.0.0"


def test_s3_publish_survives_the_server_dying_midway(seaweed: Seaweed, tmp_path: Path, cache_dir: Path) -> None:
    store = seaweed.store("interrupted", retries=2, parallelism=4)
    publish(build_pong(tmp_path, "1.0.0"), store)
    big = noise(4 << 20, seed=11)
    build = build_pong(tmp_path, "2.0.0", "4", assets={"big.bin": big})
    counter = itertools.count(1)

    def kill_midway(size: int, reused: bool) -> None:
        n = next(counter)
        if n == 5:
            assert [v.version for v in store.versions("pong")] == ["1.0.0"]  # nothing of 2.0.0 visible
            assert store.channel("pong", "latest").version == "1.0.0"
        if n == 20:
            seaweed.kill()

    try:
        with pytest.raises(StoreUnavailable):
            publish(build, store, on_chunk=kill_midway)
    finally:
        seaweed.start()
    assert next(counter) > 20
    assert [v.version for v in store.versions("pong")] == ["1.0.0"]
    assert store.channel("pong", "latest").version == "1.0.0"
    assert not store.exists(f"{MANIFESTS}pong/2.0.0.json")
    resumed = publish(build, store)
    assert resumed.chunks_reused >= 15
    assert store.channel("pong", "latest").version == "2.0.0"
    with StoreBundle(store.url, "pong", options=store.options, cache_dir=cache_dir) as bundle:
        assert bundle.read_asset("big.bin") == big
    store.close()


def layerw(*args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "layerw.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def last_hash(output: str) -> str:
    line = [x for x in output.splitlines() if x.startswith("state-hash ")][-1]
    return line.split()[1]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_cli_publish_then_run_from_the_store_gives_the_build_dirs_state(
        kind: str, pong_versions: Callable[..., Path], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # the run in a watchdog worker below is about the store's bytes, not pong's 100 ms deadline (wall-clock
    # time, which a starved worker overran at load 19 in test_cli)
    build = with_roomy_deadline(pong_versions("1.0.0"), tmp_path / "pong")
    env = {"LAYERW_CACHE_DIR": str(tmp_path / "cache")}
    if kind == "local":
        url = str(tmp_path / "store")
    else:
        seaweed: Seaweed = request.getfixturevalue("seaweed")
        url, env["AWS_ENDPOINT_URL"] = f"s3://{BUCKET}/cli-{tmp_path.name}", seaweed.endpoint
    out = layerw("publish", str(build), "--store", url, env=env)
    assert "published pong 1.0.0" in out and "2 new / 0 reused" in out
    assert layerw("versions", "pong", "--store", url, env=env).split()[0] == "1.0.0"
    run = ["--headless", "--ticks", "120", "--seed", "3"]
    expected = last_hash(layerw("run", str(build), *run))
    assert last_hash(layerw("run", "pong", "--store", url, *run, "--cpu-limit", "watchdog", env=env)) == expected
    assert last_hash(layerw("run", "pong", "--store", url, "--version", "1.0.0", *run, env=env)) == expected
    assert "now points at 1.0.0" in layerw("promote", "pong", "1.0.0", "--channel", "beta", "--store", url, env=env)
    assert "deleted 0 chunks" in layerw("gc", "--store", url, env=env)
