"""A cart's tone() through Layer-W's sound: each tick's calls become that tick's sound block, mixed by
the one mixer, so carts get audible samples, an audio hash that repeats, voices in snapshots, and
tones beyond the block counted as dropped."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi
from layerw.cart import CartBundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.tone import COMMAND_SIZE, tone_command
from tests.runtime.wasm4.conftest import wat_cart

FRAMES_PER_TICK = abi.SAMPLE_RATE // 60
# sound-demo: X plays the tone its menu shows; Down picks the next field, Right raises it (here the
# second frequency: a slide), then X again
PRESSES = [(5, "KeyX", True), (7, "KeyX", False), (20, "ArrowDown", True), (21, "ArrowDown", False),
           (22, "ArrowRight", True), (40, "ArrowRight", False), (45, "KeyX", True), (47, "KeyX", False)]


def play(game: CartGame, until: int) -> None:
    state = InputState(1)
    while game.tick_count < until:
        for tick, key, down in PRESSES:
            if tick == game.tick_count:
                state.key(0, key, down)
        game.tick(state)


def run(path: Path, engine: Engine, ticks: int = 90) -> tuple[str, bytes]:
    with CartGame(CartBundle(path), engine) as game:
        play(game, ticks)
        return game.audio_hash(), game.take_samples()


def test_sound_demo_is_audible_and_its_audio_hash_repeats(cart: Callable[[str], Path], engine: Engine) -> None:
    path = cart("sound-demo")
    first, samples = run(path, engine)
    assert len(samples) == 90 * FRAMES_PER_TICK * 4
    pcm = np.frombuffer(samples, "<i2").reshape(-1, 2)
    loud = np.flatnonzero(np.abs(pcm).max(axis=1))
    assert loud.size and loud[0] >= 5 * FRAMES_PER_TICK  # silent until X is pressed at tick 5
    assert run(path, engine) == (first, samples)
    with CartGame(CartBundle(path), engine) as game:  # no presses: no tone, silence
        game.tick(InputState(1))
        assert not any(game.take_samples())


def test_a_restored_cart_sounds_the_same(cart: Callable[[str], Path], engine: Engine) -> None:
    """A snapshot taken while the tone of tick 5 still sounds carries its voice: the ticks after a
    restore mix the same samples as the ticks after the snapshot did."""
    with CartGame(CartBundle(cart("sound-demo")), engine) as game:
        play(game, 10)
        snap = game.snapshot()
        assert "audio" in snap.host
        game.take_samples()
        play(game, 60)
        after = game.take_samples()
        game.restore(snap)
        play(game, 60)
        again = game.take_samples()
    assert after == again and any(after[:FRAMES_PER_TICK * 4])


def test_tones_are_mixed_in_call_order_and_the_excess_counted(tmp_path: Path, engine: Engine,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    wat = """(module
      (import "env" "memory" (memory 1 1))
      (import "env" "tone" (func $tone (param i32 i32 i32 i32)))
      (func (export "update") (local $i i32)
        (loop $more
          (call $tone (i32.add (i32.const 200) (local.get $i)) (i32.const 4) (i32.const 50) (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 5))))))"""
    with CartGame(wat_cart(tmp_path, wat), engine) as game:
        game.snd_capacity = 3 * COMMAND_SIZE + 10  # room for three commands
        game.tick(InputState(1))
        assert game._sound_block(0) == (b"".join(tone_command(200 + i, 4, 50, i) for i in range(3)), 2)
        assert any(game.take_samples())
    assert "sound block full: 2 commands dropped this tick" in caplog.text


def test_layerw_run_writes_a_carts_sound(cart: Callable[[str], Path], tmp_path: Path) -> None:
    wav = tmp_path / "out.wav"
    out = subprocess.run([sys.executable, "-m", "layerw.cli", "run", str(cart("sound-demo")), "--headless",
                          "--ticks", "30", "--audio", str(wav)], capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.strip().splitlines()
    assert any(line.startswith("audio-hash ") for line in lines), lines
    assert wav.stat().st_size == 44 + 30 * FRAMES_PER_TICK * 4
