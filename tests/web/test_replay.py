"""A game worker's timeout in real Chromium names the guest frame where the time went: the page replays
the call on the build's replay twin (web/replay.js, replay-worker.js; tests/runtime/crash/crash.c spins at
a known line) and shows its function and file:line, as a trap's."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, make_twin
from tests.runtime.test_symbols import CRASH, SPIN, line_of
from tests.web.conftest import PlayPage, StaticServer

# The page's deadline: long enough that a loaded machine's page never stops the calm ticks before the spin
DEADLINE_MS = 500


def test_a_worker_timeout_shows_the_frame_it_spun_in(built: Callable[[Path], Path], server: StaticServer,
                                                     play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    build = tmp_path / "crash"
    shutil.copytree(built(CRASH), build)
    toml = build / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_ms = 50", f"tick_ms = {DEADLINE_MS}"))
    make_twin(build / "game.wasm", build / TWIN_NAME, build / MAP_NAME)  # as `layerw dev` builds do
    page = play_page().open(server.add_game(build, name="crash-replay"), worker=1, renderer="webgl2", seed=SPIN)
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    name, error, shown, frames = page.page.evaluate(
        "[window.layerw.errorName, window.layerw.error, document.getElementById('error').textContent, window.layerw.errorFrames]")
    assert name == "GameTimedOut"
    assert error == shown and "replayed in a fresh worker, it ran past" in error, error
    top = frames[0]
    assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin")), frames
    assert "lw_game_tick" in [f["function"] for f in frames]
    assert f"\n  at spin (crash.c:{line_of('spin')})" in error
