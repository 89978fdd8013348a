"""Sound through the game host: a C game's sound block mixed by the one mixer, the same samples on
every backend and every run, exactly SAMPLE_RATE / tick_rate frames a tick, voices in snapshots."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw import abi, pcm
from layerw.bundle import Bundle
from layerw.runtime import CpuLimit, open_game
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState, Recording
from layerw.runtime.start import start_game
from tests import wat
from tests.roomy import with_roomy_deadline
from tests.runtime.sound.game import PLAYBACK, RECORDING, SCORE, blip, build_game

TICKS = 120


@pytest.fixture(scope="module")
def sound_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # these tests are about samples, not the deadline: 200 ms of wall-clock time, which a watchdog worker
    # starved at load 21 overran (GameTimedOut at tick 66 in lw_tick)
    return with_roomy_deadline(build_game(tmp_path_factory.mktemp("sound")))


def recording() -> Recording:
    rec = Recording()
    for change in RECORDING:
        rec.changes[int(change["tick"])].append(change)  # type: ignore[call-overload]
    return rec


def run(game: GameHost, ticks: int, rec: Recording | None = None, start: int = 0) -> bytes:
    """Tick ``game`` from tick ``start`` (its input replayed from there) and return every sample mixed."""
    state, out = InputState(), []
    for tick in range(ticks):
        if rec is not None:
            for t in range(start + 1 if tick else 0, start + tick + 1):
                rec.apply(state, t)
        game.tick(state)
        out.append(game.take_samples())
    return b"".join(out)


def frames(samples: bytes) -> np.ndarray:
    return np.frombuffer(samples, dtype="<i2").reshape(-1, 2)


def test_score_is_the_same_samples_on_every_run_and_backend(sound_build: Path, engine: Engine) -> None:
    bundle = Bundle.open(sound_build)
    outputs, hashes = [], []
    for limit in (CpuLimit.EPOCH, CpuLimit.EPOCH, CpuLimit.WATCHDOG):
        with open_game(bundle, cpu_limit=limit, seed=SCORE) as game:
            outputs.append(run(game, TICKS, recording()))
            hashes.append(game.audio_hash())
    assert len(outputs[0]) == TICKS * abi.SAMPLE_RATE // 60 * 4
    assert outputs[0] == outputs[1] == outputs[2]
    assert hashes[0] == hashes[1] == hashes[2] == hashlib.sha256(outputs[0]).hexdigest()
    mix = frames(outputs[0])
    assert np.abs(mix).max() > 10000, "the score is audible"
    assert not np.array_equal(mix[:, 0], mix[:, 1]), "pan separates left and right"
    silent = run(Game(bundle, engine, seed=SCORE), TICKS)  # the same score without Space: other samples
    assert silent != outputs[0]


def test_input_changes_the_mix_only_from_its_tick(sound_build: Path, engine: Engine) -> None:
    bundle = Bundle.open(sound_build)
    with Game(bundle, engine, seed=SCORE) as a, Game(bundle, engine, seed=SCORE) as b:
        with_space, without = frames(run(a, 40, recording())), frames(run(b, 40))
    first = int(np.flatnonzero(np.any(with_space != without, axis=1))[0])
    # the blip starts at sin(0) = 0, so its first frame adds nothing: heard from the tick's 2nd frame
    assert first == 20 * 800 + 1, "Space at tick 20 is heard from the start of tick 20"


def test_wav_asset_plays_back_as_its_source(sound_build: Path, engine: Engine) -> None:
    """A 48 kHz stereo s16 source at volume 1, centre, rate 1 comes out bit for bit (tolerance 0)."""
    with Game(Bundle.open(sound_build), engine, seed=PLAYBACK) as game:
        out = frames(run(game, 10))
    source = blip()
    assert np.array_equal(out[:len(source)], source)
    assert not out[len(source):].any(), "a one-shot voice ends with its sound"


def test_canonical_asset_is_what_the_build_wrote(sound_build: Path) -> None:
    data = (sound_build / "assets" / "blip.wav").read_bytes()
    assert np.array_equal(pcm.decode("blip.wav", data), blip())


@pytest.mark.parametrize("tick_rate", [60, 7, 144])
def test_frames_per_tick_carry_the_remainder(tmp_path: Path, engine: Engine, tick_rate: int) -> None:
    bundle = Bundle.open(build_game(tmp_path, tick_rate=tick_rate))
    with Game(bundle, engine, seed=SCORE) as game:
        per_tick = [len(run(game, 1)) // 4 for _ in range(tick_rate)]
    assert sum(per_tick) == abi.SAMPLE_RATE
    assert max(per_tick) - min(per_tick) <= 1


@pytest.mark.parametrize("limit", [CpuLimit.EPOCH, CpuLimit.WATCHDOG])
def test_restore_continues_the_voices_in_step(sound_build: Path, limit: CpuLimit) -> None:
    bundle = Bundle.open(sound_build)
    with open_game(bundle, cpu_limit=limit, seed=SCORE) as game:
        run(game, 52, recording())  # voices playing: a looping blip, a tone, PCM queued
        snap = game.snapshot()
        assert "audio" in snap.host
        after = run(game, 40, recording(), start=52)
        game.restore(snap)
        again = run(game, 40, recording(), start=52)
    assert after == again and frames(after).any()
    with open_game(bundle, cpu_limit=CpuLimit.EPOCH, seed=SCORE) as other:  # another host, from the snapshot's bytes
        other.restore(type(snap).from_bytes(snap.to_bytes()))
        assert run(other, 40, recording(), start=52) == after


def test_samples_are_bounded_for_a_host_nobody_listens_to(sound_build: Path, engine: Engine) -> None:
    with Game(Bundle.open(sound_build), engine, seed=SCORE) as game:
        state = InputState()
        for _ in range(300):
            game.tick(state)
        kept = game.take_samples()
        assert len(kept) // 4 <= 2 * abi.SAMPLE_RATE
        assert game.audio is not None and game.audio.frames_mixed == 300 * 800


def test_cli_writes_the_mix_and_its_hash(sound_build: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import wave

    from layerw.cli import main

    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("\n".join(json.dumps(c) for c in RECORDING) + "\n")
    out = tmp_path / "out.wav"
    assert main(["run", str(sound_build), "--headless", "--ticks", "100", "--seed", str(SCORE),
                 "--inputs", str(inputs), "--audio", str(out)]) == 0
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (48000, 2, 2, 100 * 800)
        data = w.readframes(w.getnframes())
    assert lines["audio-hash"] == hashlib.sha256(data).hexdigest()
    with Game(Bundle.open(sound_build), Engine(CpuLimit.EPOCH), seed=SCORE) as game:
        assert run(game, 100, recording()) == data


def test_a_game_without_sound_mixes_silence(tmp_path: Path, engine: Engine) -> None:
    """A module whose lw_io has no sound block (snd_ptr 0, as every game built before sound) is silent."""
    with Game(wat.bundle(tmp_path, wat.contract_wat()), engine) as game:
        out = run(game, 3)
    assert len(out) == 3 * 800 * 4 and not any(out)


def test_the_mixers_own_hash_is_sha256_of_its_samples(sound_build: Path, engine: Engine) -> None:
    """Browsers report the mixer's running SHA-256: it equals hashlib's over the same samples."""
    with Game(Bundle.open(sound_build), engine, seed=SCORE) as game:
        assert game.audio is not None
        mixer, mix_batch = game.audio.mixer, game.audio.mixer.mix_batch

        def mix_and_hash(blocks: list[bytes]) -> tuple[int, bytes]:
            done, samples = mix_batch(blocks)
            mixer.hash_out()  # as the browser's Mixer.mix does after each mix
            return done, samples

        mixer.mix_batch = mix_and_hash  # type: ignore[method-assign]
        out = run(game, 61, recording())
        assert game.audio.mixer.digest().hex() == hashlib.sha256(out).hexdigest() == game.audio_hash()


def test_pong_is_heard_at_its_hits_walls_and_points(built: Callable[[Path], Path], engine: Engine) -> None:
    from tests.conftest import GAMES

    with Game(Bundle.open(built(GAMES / "pong")), engine) as game:
        mix = frames(run(game, 900))  # the AI plays both paddles: rallies, walls and points
    per_tick = np.abs(mix.astype(np.int32)).reshape(900, 800, 2).max(axis=(1, 2))
    starts = np.flatnonzero((per_tick[1:] > 1000) & (per_tick[:-1] <= 1000))
    assert len(starts) >= 5, f"pong made {len(starts)} distinct sounds in 15 s"
    assert not np.array_equal(mix[:, 0], mix[:, 1]), "sounds are panned to the ball"


def test_the_new_game_template_beeps_at_the_walls(tmp_path: Path, engine: Engine) -> None:
    from layerw.toolchain.build import build
    from layerw.toolchain.scaffold import scaffold

    out = build(scaffold(tmp_path / "mine"), tmp_path / "build").out
    rec = Recording()
    rec.changes[1].append({"down": ["ArrowRight"]})
    with Game(Bundle.open(out), engine) as game:
        mix = frames(run(game, 200, rec))
    assert np.abs(mix).max() > 5000 and mix[:, 1].astype(np.int64).sum() != mix[:, 0].astype(np.int64).sum()


@pytest.mark.parametrize("limit", [CpuLimit.EPOCH, CpuLimit.WATCHDOG])
def test_asteroids_music_streams_and_restores_in_step(built: Callable[[Path], Path], limit: CpuLimit,
                                                      tmp_path: Path) -> None:
    """Asteroids asks for its streamed music ([assets] stream) when a player first moves (tick 5 of
    the recording): the mixer is given it at the next tick, it gets no ASSET_READY and stays
    unreadable by the game; a snapshot carries that, so a restore (on every backend, and in another
    host) continues the music in step."""
    from tests.conftest import GAMES
    from tests.web.recordings import RECORDINGS

    def played() -> Recording:
        rec = Recording()
        for change in RECORDINGS["asteroids"]:
            rec.changes[int(change["tick"])].append(change)  # type: ignore[call-overload]
        return rec

    # a copy with a roomy deadline: asteroids' 100 ms is wall-clock time, which a watchdog worker starved at
    # load 21 overran (GameTimedOut at tick 5 in lw_tick)
    bundle = Bundle.open(with_roomy_deadline(built(GAMES / "asteroids"), tmp_path / "asteroids"))
    assert bundle.config.stream == ("music.ogg",)
    with open_game(bundle, cpu_limit=limit) as game:
        silent = run(game, 5, played())
        assert game.snapshot().host["assets"]["requested"] == ["ship.png", "asteroid.png"]  # attract mode: no music
        run(game, 25, played(), start=5)
        snap = game.snapshot()
        assert snap.host["assets"]["streams"] == [[6, 3, 1]] and snap.host["assets"]["ready"][2] is False
        after = run(game, 40, played(), start=30)
        game.restore(snap)
        again = run(game, 40, played(), start=30)
    assert after == again and len(silent) == 5 * 800 * 4
    music = pcm.decode("music.ogg", bundle.read_asset("music.ogg"))
    assert np.abs(frames(after).astype(np.int32)).max() > 0 and len(music) == 16 * abi.SAMPLE_RATE
    with open_game(bundle, cpu_limit=CpuLimit.EPOCH) as other:
        other.restore(type(snap).from_bytes(snap.to_bytes()))
        assert run(other, 40, played(), start=30) == after



def test_a_host_nobody_hears_leaves_its_sound_blocks_unread(sound_build: Path, engine: Engine) -> None:
    """Without audio a host keeps each tick's sound block for a worker's parent to mix; after
    ``drop_sound`` (a room's authoritative game) ticks read no block at all."""
    kept, dropped = (start_game(Bundle.open(sound_build), engine, seed=SCORE, audio=False) for _ in range(2))
    dropped.drop_sound()
    try:
        state, heard = InputState(), 0
        for _ in range(60):
            kept.tick(state)
            dropped.tick(state)
            heard += len(kept.last_sound[0])
            assert dropped.last_sound == (b"", 0, [])
        assert heard > 0 and kept.state_hash() == dropped.state_hash()  # the same game, only unheard
    finally:
        kept.close()
        dropped.close()
