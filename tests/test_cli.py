"""The command line, end to end: build, then run headless with a screenshot, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw.runtime.aot.compiler import unavailable
from tests.conftest import GAMES
from tests.roomy import with_roomy_deadline
from tests.runtime.test_symbols import CRASH, SPIN, WILD_STORE, line_of


def layerw(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "layerw.cli", *args], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def pong(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "pong"
    layerw("build", str(GAMES / "pong"), "-o", str(out))
    # These tests are about what `layerw run` prints and draws, not the deadline: pong's 100 ms per call is
    # wall-clock time, which a worker process starved at load 19 overran (GameTimedOut at tick 39 in lw_tick).
    return with_roomy_deadline(out)


def test_run_prints_the_same_state_hash_every_time_and_a_real_picture(pong: Path, tmp_path: Path) -> None:
    runs = []
    for i, limit in enumerate(("watchdog", "watchdog", "epoch", "off")):
        shot = tmp_path / f"s{i}.png"
        proc = layerw("run", str(pong), "--headless", "--ticks", "120", "--screenshot", str(shot), "--cpu-limit", limit)
        last = proc.stdout.strip().splitlines()[-1]
        assert last.startswith("state-hash ") and len(last.split()[1]) == 64
        runs.append(last)
        pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
        assert pixels.shape == (240, 320, 3)
        assert pixels.std() > 10 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 3  # not blank
    assert len(set(runs)) == 1


def test_inputs_recording_changes_the_hash(pong: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    rec.write_text('{"tick": 5, "player": 0, "down": ["KeyW"]}\n')
    still = layerw("run", str(pong), "--headless", "--ticks", "60").stdout.splitlines()[-1]
    moved = layerw("run", str(pong), "--headless", "--ticks", "60", "--inputs", str(rec)).stdout.splitlines()[-1]
    assert still != moved


def test_frames_are_written_every_n_ticks(pong: Path, tmp_path: Path) -> None:
    proc = layerw("run", str(pong), "--headless", "--ticks", "90", "--frames", str(tmp_path / "f"), "--every", "30")
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["pong-000030.png", "pong-000060.png", "pong-000090.png"]
    assert proc.stdout.count("frame ") == 3


def test_errors_are_one_line_and_exit_nonzero(tmp_path: Path) -> None:
    proc = layerw("run", str(tmp_path / "nothing"), "--headless", check=False)
    assert proc.returncode == 1
    assert "ConfigError" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad"
    (bad / "assets").mkdir(parents=True)
    (bad / "layerw.toml").write_text('[game]\nname = "bad"\n')
    (bad / "game.wasm").write_bytes(b"MZ not wasm")
    for limit in ("epoch", "watchdog"):
        proc = layerw("run", str(bad), "--headless", "--cpu-limit", limit, check=False)
        assert proc.returncode == 1 and "InvalidModule" in proc.stderr, proc.stderr


def test_window_mode_on_a_virtual_display(pong: Path, tmp_path: Path) -> None:
    """Without --headless the game opens a real window (here on Xvfb) and runs at its tick rate."""
    shot = tmp_path / "window.png"
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "layerw.cli", "run", str(pong),
                           "--ticks", "90", "--screenshot", str(shot)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2] == "tick 90"
    assert proc.stdout.splitlines()[-1].startswith("state-hash ")
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 10


@pytest.mark.parametrize("display", [{}, {"DISPLAY": ":97"}], ids=["unset", "unreachable"])
def test_windowed_without_a_display_points_to_headless(pong: Path, tmp_path: Path, display: dict[str, str]) -> None:
    """No display (none set, or one nobody serves): each windowed command says so and names --headless,
    exiting 1 before glfw could assert (exit 134)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")} | display
    game = tmp_path / "g"
    layerw("new", str(game))
    for args in (("run", str(pong), "--ticks", "5"), ("dev", str(game), "--ticks", "5")):
        proc = subprocess.run([sys.executable, "-m", "layerw.cli", *args], capture_output=True, text=True,
                              timeout=120, env=env)
        assert proc.returncode == 1, (args, proc.returncode, proc.stderr)
        assert "RenderError" in proc.stderr and "--headless" in proc.stderr and "Traceback" not in proc.stderr
        assert ("DISPLAY and WAYLAND_DISPLAY are unset" if not display else "no usable display") in " ".join(proc.stderr.split())


@pytest.mark.parametrize(("limit", "seed", "error", "frame"), [
    ("epoch", WILD_STORE, "GameCrashed", f"at store_far (crash.c:{line_of('wild store')})"),
    ("watchdog", WILD_STORE, "GameCrashed", f"at store_far (crash.c:{line_of('wild store')})"),
    ("epoch", SPIN, "GameTimedOut", "at spin (crash.c:"),
])
def test_a_crash_names_its_source_lines_in_the_terminal(built: Callable[[Path], Path], tmp_path: Path, limit: str,
                                                         seed: int, error: str, frame: str) -> None:
    crash = Path(shutil.copytree(built(CRASH), tmp_path / "crash"))
    toml = crash / "layerw.toml"  # a deadline no loaded machine reaches before the crash it waits for
    toml.write_text(toml.read_text().replace("tick_ms = 50", "tick_ms = 2000"))
    proc = layerw("run", str(crash), "--headless", "--ticks", "10", "--seed", str(seed), "--cpu-limit", limit,
                  check=False)
    said = " ".join(proc.stderr.split())  # the console wraps long lines
    assert proc.returncode == 1 and error in said and frame in said and "Traceback" not in said, proc.stderr


def test_a_watchdog_timeout_names_its_source_lines_in_the_terminal(tmp_path: Path) -> None:
    """The worker is killed with its stack; the replay in the parent names the loop (runtime/replay.py).
    Built with --replay-twin, which also writes the browser's twin and its map."""
    crash = tmp_path / "crash"
    layerw("build", str(CRASH), "-o", str(crash), "--replay-twin")
    assert (crash / "game.replay.wasm").is_file() and (crash / "game.replay.json").is_file()
    toml = crash / "layerw.toml"  # a CPU-time deadline, which a loaded machine's waits do not use up
    toml.write_text(toml.read_text().replace("tick_ms = 50", "tick_ms = 300"))
    proc = layerw("run", str(crash), "--headless", "--ticks", "10", "--seed", str(SPIN), "--cpu-limit", "watchdog",
                  check=False)
    said = " ".join(proc.stderr.split())  # the console wraps long lines
    assert proc.returncode == 1 and "GameTimedOut" in said and "replayed in this process from tick 0" in said, proc.stderr
    assert f"at spin (crash.c:{line_of('spin')})" in said and "Traceback" not in said, proc.stderr


@pytest.mark.parametrize(("seed", "error", "frame"), [
    (WILD_STORE, "GameCrashed", f"at store_far (crash.c:{line_of('wild store')})"),
    (SPIN, "GameTimedOut", f"at spin (crash.c:{line_of('spin')})"),
])
def test_an_aot_crash_names_its_source_lines_in_the_terminal(built: Callable[[Path], Path], seed: int, error: str,
                                                              frame: str) -> None:
    if unavailable() is not None:
        pytest.skip(str(unavailable()))
    proc = layerw("run", str(built(CRASH)), "--headless", "--ticks", "10", "--seed", str(seed), "--tier", "aot",
                  check=False)
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and error in said and frame in said and "at lw_game_tick (crash.c:" in said, proc.stderr
