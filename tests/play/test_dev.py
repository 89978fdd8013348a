"""The edit-run loop (``layerw dev``): real builds of a small C game that the tests edit as it runs."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw.errors import SnapshotError
from layerw.gfx.renderer import WgpuRenderer
from layerw.play.dev import DevLoop, DevOptions
from layerw.toolchain.scaffold import scaffold

MARK = 0xC0FFEE11  # the counter lives right after this word, so a test finds it in a snapshot
GAME = """#include "layerw.h"
static volatile uint32_t state[2] = {0xC0FFEE11u, 0};
%(extra)s
void lw_game_init(uint64_t seed) { (void)seed; }
void lw_game_tick(const lw_input *in) {
    (void)in;
    state[1] += %(step)s;
%(tick)s
}
void lw_game_render(lw_frame *f) { lw_clear(f, LW_RGB(0, 0, 0)); }
"""


def write_game(game_dir: Path, step: int = 1, extra: str = "", tick: str = "") -> None:
    source = game_dir / "main.c"
    before = source.stat().st_mtime_ns if source.exists() else 0
    source.write_text(GAME % {"step": step, "extra": extra, "tick": tick})
    if source.stat().st_mtime_ns == before:  # a coarse clock: make the edit visible to the watcher
        os.utime(source, ns=(before + 1_000_000, before + 1_000_000))


def counter(loop: DevLoop) -> int:
    memory = loop.game.snapshot().memory
    at = memory.index(struct.pack("<I", MARK))
    return int(struct.unpack_from("<I", memory, at + 4)[0])


@pytest.fixture
def game_dir(tmp_path: Path) -> Path:
    path = tmp_path / "devgame"
    scaffold(path)
    write_game(path)
    return path


def run(loop: DevLoop, ticks: int) -> None:
    for _ in range(ticks):
        loop.step()


def test_edit_keeps_state_and_runs_the_new_code(game_dir: Path) -> None:
    lines: list[str] = []
    with DevLoop(game_dir, DevOptions(), lines.append) as loop:
        run(loop, 40)
        assert counter(loop) == 40
        assert not loop.poll()  # nothing changed: no build
        write_game(game_dir, step=100)
        assert loop.poll()
        assert loop.game.tick_count == 40 and counter(loop) == 40  # the state came over
        run(loop, 5)
        assert counter(loop) == 40 + 500  # the new code runs
        assert loop.game.tick_count == 45
    assert any("state kept at tick 40" in line for line in lines), lines


def test_layout_change_restarts_from_the_seed_and_says_so(game_dir: Path) -> None:
    lines: list[str] = []
    with DevLoop(game_dir, DevOptions(), lines.append) as loop:
        run(loop, 20)
        write_game(game_dir, extra="static volatile uint32_t trail[20000];", tick="    trail[state[1] % 20000u] = 1;")
        assert loop.poll()
        assert loop.game.tick_count == 0 and counter(loop) == 0
        run(loop, 3)
        assert counter(loop) == 3
    restarted = [line for line in lines if "restarted from seed 0" in line]
    assert len(restarted) == 1 and "state layout" in restarted[0], lines


def test_compile_error_keeps_the_old_build_running(game_dir: Path) -> None:
    lines: list[str] = []
    with DevLoop(game_dir, DevOptions(), lines.append) as loop:
        run(loop, 10)
        write_game(game_dir, step=2, tick="    not_a_function(;")
        assert not loop.poll()
        run(loop, 10)
        assert loop.game.tick_count == 20 and counter(loop) == 20  # the old code, still counting by one
        write_game(game_dir, step=2)
        assert loop.poll()  # fixed: the next change swaps in
        run(loop, 1)
        assert counter(loop) == 22
    failed = "\n".join(lines)
    assert "build failed; devgame keeps running build 1" in failed
    assert "main.c:8:" in failed and "error" in failed, failed  # the compiler's file:line


def test_crash_keeps_the_last_good_state_and_pauses(game_dir: Path) -> None:
    lines: list[str] = []
    with DevLoop(game_dir, DevOptions(snapshot_every=10), lines.append) as loop:
        run(loop, 25)
        write_game(game_dir, tick="    if (state[1] == 33) __builtin_trap();")
        assert loop.poll()
        run(loop, 20)  # tick 32 (state 33) traps: back to the last snapshot, at tick 30
        assert loop.paused
        assert loop.game.tick_count == 30 and counter(loop) == 30
        run(loop, 5)
        assert loop.game.tick_count == 30  # paused: the same inputs would trap again
        write_game(game_dir, step=1)
        assert loop.poll() and not loop.paused
        run(loop, 5)
        assert loop.game.tick_count == 35 and counter(loop) == 35
    crash = next(line for line in lines if line.startswith("crash:"))
    assert "at tick 32" in crash and "unreachable" in crash, crash
    assert any("kept the last good state (tick 30)" in line for line in lines), lines


def test_restore_refuses_another_build_unless_allowed(game_dir: Path) -> None:
    with DevLoop(game_dir, DevOptions(), lambda line: None) as loop:
        run(loop, 5)
        snap = loop.game.snapshot()
        other = snap.__class__(**{**snap.__dict__, "module_sha256": "0" * 64})
        with pytest.raises(SnapshotError, match="another module"):
            loop.game.restore(other)
        loop.game.restore(other, allow_other_build=True)
        assert loop.game.tick_count == 5 and counter(loop) == 5
        moved = snap.__class__(**{**other.__dict__, "hole_at": snap.hole_at + 16})
        with pytest.raises(SnapshotError, match="state layout"):
            loop.game.restore(moved, allow_other_build=True)


def test_cli_dev_reloads_while_it_runs(game_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "layerw.cli", "dev", str(game_dir), "--headless", "--ticks", "240",
                             "--poll", "0.05"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("dev: running devgame (build 1)"), first
        write_game(game_dir, step=100)
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen.append(line)
            if "reloaded build 2" in line or not line:
                break
        assert "state kept at tick" in seen[-1], seen
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "tick 240" in out.splitlines()


def test_worker_restore_takes_another_build_only_when_allowed(game_dir: Path, built: Callable[[Path], Path]) -> None:
    from layerw.bundle import Bundle
    from layerw.runtime.inputs import InputState
    from layerw.runtime.worker import WorkerGame

    with WorkerGame(Bundle.open(built(game_dir))) as game:
        for _ in range(7):
            game.tick(InputState())
        snap = game.snapshot()
        other = snap.__class__(**{**snap.__dict__, "module_sha256": "0" * 64})
        with pytest.raises(SnapshotError, match="another module"):
            game.restore(other)
        game.restore(other, allow_other_build=True)
        assert game.tick_count == 7 and game.snapshot().memory == snap.memory
        moved = snap.__class__(**{**other.__dict__, "hole_at": snap.hole_at + 16})
        with pytest.raises(SnapshotError, match="state layout"):
            game.restore(moved, allow_other_build=True)


def test_warnings_are_reported_when_the_build_succeeds(game_dir: Path) -> None:
    lines: list[str] = []
    with DevLoop(game_dir, DevOptions(), lines.append) as loop:
        assert not any("compiler warnings" in line for line in lines), lines  # the first build is clean
        write_game(game_dir, step=2, extra="static int unused(void) { return 1; }")
        assert loop.poll()  # a warning does not stop the swap
    warned = [line for line in lines if "compiler warnings" in line]
    assert len(warned) == 1 and warned[0].startswith("build 2: compiler warnings:"), lines
    assert "main.c:3:" in warned[0] and "unused function 'unused'" in warned[0]


def test_the_window_shows_what_needs_a_look_until_f2(game_dir: Path) -> None:
    """Problems, warnings and failed builds are notes drawn over the game (after its own commands,
    never reaching its state) until F2 dismisses them; lines that need no look stay in the terminal."""
    from layerw.gfx.commands import parse
    from layerw.gfx.renderer import WgpuRenderer
    from layerw.play.devnotes import DISMISS_CODE
    from layerw.runtime.inputs import InputState

    lines: list[str] = []
    missing = '    if (in->tick == 3) lw_asset("missing.png");'
    write_game(game_dir, tick=missing)
    with DevLoop(game_dir, DevOptions(), lines.append) as loop:
        config = loop.game.config
        assert loop.overlay() == b"" and not loop.notes.notes  # a clean start: nothing to show
        run(loop, 5)
        write_game(game_dir, step=2, tick=missing)
        assert loop.poll()
        assert len(loop.notes.notes) == 1  # "reloaded ...: state kept" is the terminal's only
        write_game(game_dir, step=2, tick=missing + "\n    not_a_function(;")
        assert not loop.poll()
        assert [n.split(";")[0].split(" at ")[0] for n in loop.notes.notes] == ["check missing-asset", "build failed"]
        overlay = loop.overlay()
        drawn = parse(overlay)
        assert drawn.batches and drawn.batches[0].viewport is None  # drawn over the whole frame, not the game's camera
        text = " ".join(loop.notes.lines(config.width))
        assert "layerw dev: 2 notes (F2 dismisses)" in overlay.decode("latin-1")
        assert loop.notes.notes[0].startswith("check missing-asset at tick 3: asset_request: no asset named 'missing.png'")
        assert "main.c:9:" in text and len(loop.notes.lines(config.width)) == 10  # the newest lines, wrapped
        with WgpuRenderer(config.width, config.height) as renderer:
            loop.renderer = renderer
            state = loop.game.state_hash()
            loop.frame()
            shown = renderer.read_pixels()
            loop.take_devices(InputState(1), {"keys": frozenset({DISMISS_CODE})})
            loop.take_devices(InputState(1), {"keys": frozenset({DISMISS_CODE})})  # held: one dismissal
            assert not loop.notes.notes and loop.overlay() == b""
            loop.frame()
            plain = renderer.read_pixels()
            loop.renderer = None
            assert loop.game.state_hash() == state
        bottom = (slice(config.height - 30, config.height), slice(0, config.width))
        assert np.any(shown[bottom] != plain[bottom]), "the notes drew nothing"


TILE_GAME = """#include "layerw.h"
static int32_t tile; static int ready; static uint32_t ticks;
void lw_game_init(uint64_t seed) { (void)seed; tile = lw_asset("tile.png"); }
void lw_game_tick(const lw_input *in) {
    ticks += 1;
    for (uint32_t i = 0; i < in->event_count; i++)
        if (in->events[i].kind == LW_EVENT_ASSET_READY && (int32_t)in->events[i].a == tile) ready = 1;
}
void lw_game_render(lw_frame *f) {
    lw_clear(f, LW_RGB(0, 0, 0));
    if (ready) lw_sprite(f, (uint32_t)tile, 0, 0, 320, 180, 0, 0, 16, 16, 0, LW_RGB(255, 255, 255), 0);
}
"""


def write_tile(game_dir: Path, rgb: tuple[int, int, int]) -> None:
    """Write the 16x16 tile in one colour (the web tests' hot reload uses it too)."""
    path = game_dir / "assets" / "tile.png"
    before = path.stat().st_mtime_ns if path.exists() else 0
    Image.new("RGBA", (16, 16), (*rgb, 255)).save(path)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_a_changed_asset_is_drawn_without_a_restart(tmp_path: Path) -> None:
    """The window's renderer gets the new image of a texture the restored state already holds."""
    game_dir = scaffold(tmp_path / "tiles")
    (game_dir / "main.c").write_text(TILE_GAME)
    write_tile(game_dir, (0, 200, 0))
    with DevLoop(game_dir, DevOptions(), lambda line: None) as loop, WgpuRenderer(320, 180) as renderer:
        loop.renderer = renderer

        def centre() -> tuple[int, ...]:
            loop.frame()
            return tuple(int(v) for v in renderer.read_pixels()[90, 160, :3])

        run(loop, 5)
        assert centre() == (0, 200, 0)
        state = loop.game.state_hash()
        write_tile(game_dir, (200, 0, 200))
        assert loop.poll()
        assert loop.game.tick_count == 5 and loop.game.state_hash() == state  # the same module: the state came over
        assert centre() == (200, 0, 200)  # the new bytes
        run(loop, 1)
        assert centre() == (200, 0, 200)
