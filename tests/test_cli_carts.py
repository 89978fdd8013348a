"""The command line with WASM-4 carts: `layerw build` a cart directory (--replay-twin: its twin), `layerw run` the build or the
bare cart file (no layerw.toml of its own), headless (PNG and state-hash) and in a window, `layerw
publish` it and run it from the store, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerw.cart import CartBundle
from layerw.config import GameConfig
from layerw.runtime import open_game
from layerw.runtime.inputs import InputState
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, twin_of
from tests.runtime.wasm4.conftest import CARTS
from tests.test_cli import layerw


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-cart") / "watris-build"
    proc = layerw("build", str(CARTS / "watris"), "-o", str(out), "--cart-version", "1.2.0", "--players", "2")
    assert "built cart" in proc.stderr
    config = GameConfig.load(out)
    assert (config.name, config.version, config.players, config.width, config.tick_rate) == ("watris", "1.2.0", 2, 160, 60)
    return out


@pytest.fixture(scope="module")
def watris(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bare cart file, away from its layerw.toml."""
    path = tmp_path_factory.mktemp("bare") / "watris.wasm"
    path.write_bytes((build_dir / "game.wasm").read_bytes())
    return path


def host_frame(path: Path, ticks: int) -> np.ndarray:
    with open_game(CartBundle(path)) as game:
        assert isinstance(game, CartGame)
        for _ in range(ticks):
            game.tick(InputState(1))
        return game.frame()


def test_run_a_cart_headless_prints_one_state_hash_and_the_exact_picture(watris: Path, tmp_path: Path) -> None:
    lines = []
    for i in range(2):
        shot = tmp_path / f"s{i}.png"
        proc = layerw("run", str(watris), "--headless", "--ticks", "45", "--screenshot", str(shot))
        out = proc.stdout.strip().splitlines()
        assert out[-2] == "tick 45" and out[-1].startswith("state-hash ") and len(out[-1].split()[1]) == 64
        lines.append(out[-1])
        pixels = np.asarray(Image.open(shot).convert("RGBA"))
        assert pixels.shape == (160, 160, 4)
        assert np.array_equal(pixels, host_frame(watris, 45))  # one texture, 1:1, nearest: exactly the framebuffer
    assert lines[0] == lines[1]


def test_the_build_directory_and_its_store_copy_run_the_same_as_the_bare_cart(build_dir: Path, watris: Path,
                                                                             tmp_path: Path) -> None:
    bare = layerw("run", str(watris), "--headless", "--ticks", "30").stdout.splitlines()[-1]
    built = layerw("run", str(build_dir), "--headless", "--ticks", "30").stdout.splitlines()[-1]
    store = tmp_path / "store"
    layerw("publish", str(build_dir), "--store", str(store))
    stored = layerw("run", "watris", "--store", str(store), "--headless", "--ticks", "30").stdout.splitlines()[-1]
    assert bare == built == stored and bare.startswith("state-hash ")


def test_a_cart_file_builds_too(watris: Path, tmp_path: Path) -> None:
    layerw("build", str(watris), "-o", str(tmp_path / "b"), "--name", "my-watris")
    assert GameConfig.load(tmp_path / "b").name == "my-watris"
    assert (tmp_path / "b" / "game.wasm").read_bytes() == watris.read_bytes()


def test_a_cart_builds_with_its_replay_twin(watris: Path, tmp_path: Path) -> None:
    layerw("build", str(watris), "-o", str(tmp_path / "b"), "--replay-twin")
    assert ((tmp_path / "b" / TWIN_NAME).read_bytes(), (tmp_path / "b" / MAP_NAME).read_bytes()) == twin_of(watris.read_bytes())


def test_a_cart_with_the_watchdog_is_a_one_line_typed_error(watris: Path) -> None:
    proc = layerw("run", str(watris), "--headless", "--cpu-limit", "watchdog", check=False)
    assert proc.returncode == 1 and "UnsupportedCpuLimit" in proc.stderr and "Traceback" not in proc.stderr


def test_a_file_that_is_not_a_cart_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\0asm\x01\0\0\0")
    proc = layerw("run", str(junk), "--headless", check=False)
    assert proc.returncode == 1 and "not a WASM-4 cart" in " ".join(proc.stderr.split())


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for a virtual display")
def test_run_a_cart_in_a_window_on_a_virtual_display(watris: Path, tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "layerw.cli", "run", str(watris),
                           "--ticks", "60", "--screenshot", str(shot)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2] == "tick 60"
    assert np.array_equal(np.asarray(Image.open(shot).convert("RGBA")), host_frame(watris, 60))


def test_run_keeps_a_carts_disk_in_saves_across_runs(tmp_path: Path) -> None:
    """`layerw run --saves DIR`: each run finds the disk the last one wrote; --headless alone keeps none."""
    import wasmtime

    from layerw.saves import Saves, Slot
    from tests.runtime.wasm4.test_cartgame import DISK_COUNTER

    cart = tmp_path / "counter.wasm"
    cart.write_bytes(wasmtime.wat2wasm(DISK_COUNTER))
    saves = tmp_path / "saves"
    hashes = [layerw("run", str(cart), "--headless", "--ticks", "2", "--saves", str(saves)).stdout.splitlines()[-1]
              for _ in range(3)]
    assert len(set(hashes)) == 3 and Saves(saves).read("disk") == Slot(0, b"\0\0\x03")
    bare = {layerw("run", str(cart), "--headless", "--ticks", "2").stdout.splitlines()[-1] for _ in range(2)}
    assert bare == {layerw("run", str(cart), "--headless", "--ticks", "2", "--saves", "none").stdout.splitlines()[-1]}
    assert Saves(saves).read("disk") == Slot(0, b"\0\0\x03")
