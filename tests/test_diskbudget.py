"""DiskBudget and the caches that use it: bounded, least recently used first, bad settings refused."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from layerw.diskbudget import DiskBudget, max_bytes_from_env
from layerw.errors import ConfigError
from layerw.runtime.engine import CpuLimit, Engine
from layerw.store.cache import ChunkCache
from tests.wat import contract_wat


def aged(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_a_write_past_the_bound_removes_the_least_recently_used(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    for i in range(10):  # 10 x 100 bytes, file 0 the oldest
        (folder / f"f{i}").write_bytes(bytes(100))
        aged(folder / f"f{i}", 100 - i)
    budget = DiskBudget([folder], max_bytes=1000)
    budget.used(folder / "f0")  # read just now: the newest
    (folder / "new").write_bytes(bytes(100))
    budget.added(100)  # 1100 > 1000: trims to 90 %
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["f0", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "new"]


def test_temporary_files_are_neither_counted_nor_removed(tmp_path: Path) -> None:
    (tmp_path / ".tmp-x").write_bytes(bytes(5000))
    (tmp_path / "a.123.tmp").write_bytes(bytes(5000))
    (tmp_path / "keep").write_bytes(bytes(10))
    budget = DiskBudget([tmp_path], max_bytes=100)
    budget.added(10)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-x", "a.123.tmp", "keep"]


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_bad_bound_is_a_config_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERW_CACHE_MAX_MB", value)
    with pytest.raises(ConfigError, match="LAYERW_CACHE_MAX_MB"):
        max_bytes_from_env()


def test_the_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERW_CACHE_MAX_MB", "3")
    assert max_bytes_from_env() == 3 << 20
    monkeypatch.delenv("LAYERW_CACHE_MAX_MB")
    assert max_bytes_from_env() == 2048 << 20


def test_chunk_cache_stays_bounded_and_keeps_what_was_read(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, max_bytes=10_000)
    blobs = [os.urandom(1000) for _ in range(30)]
    ids = [hashlib.sha256(b).hexdigest() for b in blobs]
    for i, (id_, blob) in enumerate(zip(ids, blobs, strict=True)):
        cache.put_chunk(id_, blob)
        aged(tmp_path / "chunks" / id_[:2] / id_, 100 - i)  # mtime has a coarse grain: make the order explicit
        assert cache.chunk(ids[0]) == blobs[0]  # read every time: always the most recent
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk <= 10_000
    assert cache.chunk(ids[0]) == blobs[0] and cache.chunk(ids[-1]) == blobs[-1]
    assert cache.chunk(ids[1]) is None  # long unused: gone, fetched again when needed


def test_compiled_module_cache_stays_bounded(tmp_path: Path) -> None:
    import wasmtime

    engine = Engine(CpuLimit.OFF, cache=tmp_path / "compiled", cache_max_bytes=1)
    try:
        for i in range(3):
            engine.compile(wasmtime.wat2wasm(contract_wat(tick=f"(drop (i32.const {i}))")))
        assert len(list((tmp_path / "compiled").glob("*.cwasm"))) <= 1  # each write trims to the bound
    finally:
        engine.close()


def test_a_budget_pickles_for_a_worker_process(tmp_path: Path) -> None:
    import pickle

    budget = pickle.loads(pickle.dumps(DiskBudget([tmp_path], 123)))
    assert budget.folders == [tmp_path] and budget.max_bytes == 123
    budget.added(1)  # usable: counts afresh
