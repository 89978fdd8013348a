"""Store fixtures: a real S3 server (SeaweedFS from PyPI) on loopback, stores of both kinds, games.

One SeaweedFS per test session (it takes a few seconds to start); each test gets its own prefix
in one bucket. Tests that kill the server (interrupted publish) restart it on the same ports and
data directory, as a crashed server would be restarted.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.store import open_store
from layerw.store.local import LocalStore
from layerw.store.s3 import S3Store
from layerw.store.store import Store
from layerw.toolchain.build import build
from tests.conftest import GAMES
from tests.store.seaweed import BUCKET, KEY, SECRET, Seaweed, free_ports

__all__ = ["BUCKET", "Seaweed", "build_pong", "free_ports", "noise"]


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for the test server only, and no endpoint leaking in from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_store(seaweed: Seaweed) -> Iterator[S3Store]:
    with seaweed.store(uuid.uuid4().hex[:12], retries=2) as store:
        yield store


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "store") as store:
        yield store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each test using it runs against both backends."""
    if request.param == "local":
        with open_store(str(tmp_path / "store")) as local:
            yield local
    else:
        seaweed: Seaweed = request.getfixturevalue("seaweed")
        with seaweed.store(uuid.uuid4().hex[:12], retries=2) as s3:
            yield s3


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh chunk cache for this test (LAYERW_CACHE_DIR, as worker processes read it too)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("LAYERW_CACHE_DIR", str(path))
    return path


def build_pong(root: Path, version: str, variant: str = "", assets: dict[str, bytes] | None = None) -> Path:
    """games/pong built as ``version``; ``variant`` changes one function (a code update) and
    ``assets`` adds (non-preload) assets."""
    src = root / f"src-{version}-{variant}"
    shutil.copytree(GAMES / "pong", src)
    toml = src / "layerw.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', f'version = "{version}"'))
    if variant:
        c = src / "pong.c"
        old = "        g.over_timer = 0;"  # in point_to()
        assert c.read_text().count(old) == 1
        c.write_text(c.read_text().replace(old, f"        g.over_timer = {variant};"))
    for name, data in (assets or {}).items():
        (src / "assets" / name).parent.mkdir(parents=True, exist_ok=True)
        (src / "assets" / name).write_bytes(data)
    return build(src, root / f"build-{version}-{variant}").out


@pytest.fixture(scope="session")
def pong_versions(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``pong_versions(version, variant="")``: pong builds shared by the whole session."""
    cache: dict[tuple[str, str], Path] = {}

    def get(version: str, variant: str = "") -> Path:
        if (version, variant) not in cache:
            cache[version, variant] = build_pong(tmp_path_factory.mktemp("pong"), version, variant)
        return cache[version, variant]

    return get


def noise(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)
