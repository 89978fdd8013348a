"""Sound in real Chromium: the browser runs the same mixer module on the same sound blocks, so after
the same recorded inputs its audio hash equals the native host's `audio-hash`; its snapshots carry
the voices, so a restore continues in step."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerw.bundle import Bundle
from layerw.play.runner import Runner
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import Recording
from tests.runtime.sound.game import RECORDING, SCORE, build_game
from tests.web.conftest import PlayPage, StaticServer, served_build

TICKS = 120


@pytest.fixture(scope="module")
def sound_src(server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = build_game(tmp_path_factory.mktemp("sound"))
    return server.add_game(out, "sound"), out


def native_audio_hash(build_dir: Path, engine: Engine, recording: Path | None) -> str:
    with Game(Bundle.open(build_dir), engine, seed=SCORE) as game:
        Runner(game, recording=Recording.load(recording) if recording else None).run_headless(TICKS)
        return game.audio_hash()


def test_audio_hash_matches_native(sound_src: tuple[str, Path], server: StaticServer,
                                   play_page: Callable[..., PlayPage], engine: Engine) -> None:
    src, build_dir = sound_src
    url = server.add_file("sound.jsonl", "\n".join(json.dumps(c) for c in RECORDING) + "\n")
    page = play_page().open(src, ticks=TICKS, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    assert page.tick == TICKS
    browser = str(page.page.evaluate("window.layerw.audioHash()"))
    native = native_audio_hash(build_dir, engine, server.files / "sound.jsonl")
    print(f"sound: {TICKS} ticks, browser {browser[:16]}, native {native[:16]}")
    assert browser == native
    assert native_audio_hash(build_dir, engine, None) != native, "the recording changed the mix"


def test_browser_snapshot_restores_the_voices(sound_src: tuple[str, Path], play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(sound_src[0], ticks=52, fast=True, renderer="webgl2", worker=0)  # ticks its game
    page.wait_stopped()
    same = page.page.evaluate("""async () => {
        const client = window.layerw.client(), game = client.game;
        const run = () => { game.takeSamples(); for (let i = 0; i < 40; i++) game.tick(client.inputs);
                            return Array.from(game.takeSamples()); };
        const snap = game.snapshot();
        const first = run();
        await game.restore(snap);
        const again = run();
        return {same: first.length === again.length && first.every((v, i) => v === again[i]),
                frames: first.length / 2, audible: first.some((v) => v !== 0)};
    }""")
    assert same == {"same": True, "frames": 40 * 800, "audible": True}


@pytest.mark.parametrize("name", ["pong", "asteroids"])
def test_game_audio_hash_matches_native(name: str, published: Callable[[str], str], server: StaticServer,
                                        play_page: Callable[..., PlayPage], engine: Engine) -> None:
    from tests.web.recordings import FIDELITY_TICKS, recording_file

    src = published(name)
    url, path = recording_file(server, name)
    page = play_page().open(src, ticks=FIDELITY_TICKS, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    browser = str(page.page.evaluate("window.layerw.audioHash()"))
    with Game(Bundle.open(served_build(server, src)), engine) as game:
        Runner(game, recording=Recording.load(path)).run_headless(FIDELITY_TICKS)
        native = game.audio_hash()
        assert game.audio is not None and game.audio.frames_mixed == FIDELITY_TICKS * 800
        assert any(game.take_samples()), f"{name} made no sound"
    print(f"{name}: {FIDELITY_TICKS} ticks, audio browser {browser[:16]}, native {native[:16]}")
    assert browser == native


STREAM_TICKS = 240
CHUNK_HOLD_S = 0.1  # the music's chunk i is answered after i * CHUNK_HOLD_S: its last after ~4 s


def test_music_plays_while_it_streams_from_the_store(store_server: Any, built: Callable[[Path], Path],
                                                     play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """Asteroids' music ([assets] stream, asked for at a player's first move) arrives slowly (the
    server holds its chunk i back i * CHUNK_HOLD_S): the game runs and the music plays before its
    last chunk is in, and the mix is still the native host's, sample for sample (a tick that needs
    frames not in yet waits)."""
    from urllib.parse import quote

    from tests.conftest import GAMES
    from tests.web.recordings import RECORDINGS

    manifest = store_server.publish(built(GAMES / "asteroids")).manifest
    music = [c.id for c in manifest.assets["music.ogg"].chunks]
    assert len(music) > 4, "the music spans several chunks"
    store_server.recorder.hold.update({c: i * CHUNK_HOLD_S for i, c in enumerate(music)})
    try:
        lines = "".join(json.dumps(line) + "\n" for line in RECORDINGS["asteroids"])
        inputs = quote("data:application/jsonl," + quote(lines), safe="")
        page = play_page().goto(store_server.play_url("asteroids", ticks=STREAM_TICKS, sound=0, inputs=inputs,
                                                            worker=0))  # reads the page-hosted game's stream
        page.wait("window.layerw.tick >= 30")
        early = page.page.evaluate("""() => { const game = window.layerw.client().game, a = game.assets.get(3);
            return {name: a.name, received: a.stream.received, size: a.stream.bytes.length, done: a.stream.done,
                    firstMs: a.stream.firstMs, voices: game.audio.mixer.counters().voices_on}; }""")
        assert early["name"] == "music.ogg" and not early["done"] and early["received"] < early["size"], early
        assert early["voices"] >= 1, "the music plays"
        page.wait_stopped()
    finally:
        for c in music:
            store_server.recorder.hold.pop(c, None)
    got = page.page.evaluate("""() => { const game = window.layerw.client().game;
        return {hash: game.audioHash(), stalls: game.audio.stalls, done: game.assets.get(3).stream.done}; }""")
    rec = Recording()
    for change in RECORDINGS["asteroids"]:
        rec.changes[int(change["tick"])].append(change)
    with Game(Bundle.open(built(GAMES / "asteroids")), engine) as game:
        Runner(game, recording=rec).run_headless(STREAM_TICKS)
        native = game.audio_hash()
    print(f"music stream: {len(music)} chunks; at tick 30 {early['received']} of {early['size']} bytes in (first "
          f"frames after {early['firstMs']:.0f} ms); {got['stalls']} stalls; all in by tick {STREAM_TICKS}: {got['done']}")
    assert got["hash"] == native


def test_a_corrupt_streamed_sound_is_refused_alike(published: Callable[[str], str], server: StaticServer,
                                                   play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """A streamed sound whose bytes are not a canonical WAV (a store or cache that rotted) is logged
    and left unplayable by both hosts: the game goes on, and the mixes still agree."""
    from tests.web.recordings import RECORDINGS, recording_file

    src = server.add_game(served_build(server, published("asteroids")), "asteroids-rotten",
                          **{"music.ogg": b"RIFF" + bytes(200)})
    url, path = recording_file(server, "asteroids")
    page = play_page().open(src, ticks=60, fast=True, inputs=url, renderer="webgl2")
    page.wait_stopped()
    assert any("music.ogg" in line and "cannot be played" in line for line in page.console), page.console[-5:]
    browser = str(page.page.evaluate("window.layerw.audioHash()"))
    with Game(Bundle.open(served_build(server, src)), engine) as game:
        Runner(game, recording=Recording.load(path)).run_headless(60)
        assert game.audio is not None
        game.audio.flush()
        assert game.audio.mixer.counters()["bad_handles"] == 1  # the music's PLAY
        native = game.audio_hash()
    assert RECORDINGS["asteroids"][0]["tick"] < 60 and browser == native
