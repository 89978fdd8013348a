"""A component build's game-worker timeout in real Chromium names the guest frame where the time went, as a
core build's does (test_replay.py): the page replays the call with the component's glue on the twin of its
core module that holds the game's code (tests/runtime/crash/crash.c, built with --component, spins at a known
line from tick 3), from a build directory (as `layerw dev` serves it, with that module's symbols) and from a
store, on the twin `layerw publish` stored (a player's page: its report carries the frames' offsets) or on the one the
server makes where its operator serves debug files (with the symbols publish stored: the page and the server name the
frames); and from the worker's last snapshot, restored through the component's `state`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.toolchain.build import build
from layerw.toolchain.replaytwin import twin_of
from tests.runtime.test_symbols import CRASH, line_of
from tests.runtime.test_symbols import SPIN as SPIN_SEED
from tests.web.conftest import PlayPage, StaticServer
from tests.web.store_server import store_server
from tests.web.test_replay import DEADLINE_MS
from tests.web.test_telemetry import wait_for


@pytest.fixture(scope="module")
def crash_component(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """crash.c built with --component and its replay twin (as `layerw dev` builds), with a DEADLINE_MS deadline."""
    out = build(CRASH, tmp_path_factory.mktemp("crash-component") / "crash", component=True, replay_twin=True).out
    toml = out / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_ms = 50", f"tick_ms = {DEADLINE_MS}"))
    return out


# Spins in the tick its own counter (in the memory a snapshot keeps) reaches 90: past the snapshot the worker posted
# a second (60 ticks) in, so the replay starts from a snapshot restored through the component's `state`
SPINS_LATE = """#include <stdint.h>

#include "layerw.h"

static uint32_t ticks;
static volatile uint32_t sink;

__attribute__((noinline)) static void spin(void) {
    for (;;) sink++;
}

void lw_game_init(uint64_t seed) { (void)seed; }

void lw_game_tick(const lw_input *in) {
    (void)in;
    if (++ticks == 90) spin();
}

void lw_game_render(lw_frame *f) { lw_clear(f, 0xFF000000u); }
"""


def failed(page: PlayPage) -> tuple[str, str, list[dict[str, object]]]:
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    assert page.page.evaluate("window.layerw.host") == "worker"
    name, error, frames = page.page.evaluate("[window.layerw.errorName, window.layerw.error, window.layerw.errorFrames]")
    assert name == "GameTimedOut" and "replayed in a fresh worker from tick 0, it ran past" in error, error
    return name, error, frames


def test_a_component_build_s_worker_timeout_names_the_frame_it_spun_in(crash_component: Path, server: StaticServer,
                                                                        play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(server.add_game(crash_component, name="crash-component-replay"), worker=1, renderer="webgl2",
                            seed=SPIN_SEED)
    _, error, frames = failed(page)
    top = frames[0]
    assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin")), frames
    assert "lw_game_tick" in [f["function"] for f in frames]
    assert error.startswith("crash at tick 3 in tick:") and f"\n  at spin (crash.c:{line_of('spin')})" in error, error


def reported(caplog: pytest.LogCaptureFixture) -> logging.LogRecord | None:
    """The page's telemetry report with frames, as the server logged it."""
    return next((r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None)), None)


def test_a_player_s_page_replays_a_component_on_the_twin_publish_stored(crash_component: Path, tmp_path: Path,
                                                                       play_page: Callable[..., PlayPage],
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        replay = s.publish(crash_component, replay_twin=twin_of).manifest.replay  # as `layerw publish`; default settings
        assert replay is not None
        twin_chunks = {f"/chunks/{c.id}" for c in replay.twin.chunks + replay.map.chunks}
        _, _, frames = failed(play_page().goto(s.play_url("crash", seed=SPIN_SEED)))
        wait_for(lambda: reported(caplog) is not None)
        asked = {path for path, _ in s.recorder.requests}
    assert twin_chunks <= asked and not any(p.startswith("/debug/crash/1.0.0/replay") for p in asked)  # as chunks
    assert frames[0]["function"].startswith("wasm-function["), frames  # a player's page has no symbols
    report = reported(caplog)
    assert report is not None and report.frames[0]["offset"] == frames[0]["offset"]


def test_a_store_page_replays_a_component_on_the_twin_the_server_makes(crash_component: Path, tmp_path: Path,
                                                                       play_page: Callable[..., PlayPage],
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    with store_server(tmp_path / "store", serve_symbols=True) as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        assert s.publish(crash_component).manifest.replay is None  # published without a twin: the server makes it
        _, _, frames = failed(play_page().goto(s.play_url("crash", seed=SPIN_SEED)))
        wait_for(lambda: reported(caplog) is not None)
    spin = ("spin", "crash.c", line_of("spin"))
    assert (frames[0]["function"], frames[0]["file"], frames[0]["line"]) == spin, frames  # the stored symbols name it
    report = reported(caplog)
    assert report is not None and tuple(report.frames[0][k] for k in ("function", "file", "line")) == spin  # the server too


def test_a_component_s_replay_starts_from_the_worker_s_last_snapshot(tmp_path: Path, server: StaticServer,
                                                                    play_page: Callable[..., PlayPage]) -> None:
    game = tmp_path / "spins-late"
    game.mkdir()
    (game / "spins.c").write_text(SPINS_LATE)
    (game / "layerw.toml").write_text(f'[game]\nname = "spins-late"\nversion = "1.0.0"\n\n[limits]\ntick_ms = {DEADLINE_MS}\n')
    out = build(game, tmp_path / "build", component=True, replay_twin=True).out
    page = play_page().open(server.add_game(out, name="spins-late-component"), worker=1, renderer="webgl2")
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
    assert error.startswith("spins-late at tick 89 in tick:"), error
    since = re.search(r"replayed in a fresh worker from tick (\d+), it ran past", error)
    assert since and 0 < int(since.group(1)) <= 89, error
    line = SPINS_LATE.splitlines().index("    for (;;) sink++;") + 1
    assert (frames[0]["function"], frames[0]["file"], frames[0]["line"]) == ("spin", "spins.c", line), frames
