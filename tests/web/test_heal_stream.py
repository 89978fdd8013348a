"""A heal that arrives while a streamed sound is still arriving: the page waits for the frames its
fade needs (what the voices before the heal would play next) instead of fading from memory those
frames have not reached, so it hears sample for sample what the native client hears (which loads a
streamed sound whole), with the same audio hash.

The sound test game's blip is streamed here and 2 s long; the client's frames (not the room's)
start it at SPACE_AT, and the room's STATE heals it at HEAL_AT, when the blip plays past the frames
in. The page's stream is the served asset's real bytes, the rest held back by the test until the
page waits for it (or, without the wait, went on without it)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from layerw.toolchain.build import build
from tests.runtime.sound.game import blip, game_dir, write_wav
from tests.session.test_heal_sound import START, heard, messages
from tests.web.conftest import PlayPage, StaticServer

HEAL_AT = 120  # the client's blip (rate 1.5: 1200 frames a tick) has played 14 ticks: 16,800 frames in
END = 128
HELD_FRAMES = 16_810  # in before the heal: all tick HEAL_AT - 1 reads (and more than a voice starting may)

FOLLOW = """async ([base, data, heldBytes, hold, ahead]) => {
  const { dirSource } = await import("/web/source.js");
  const { Game } = await import("/web/game.js");
  const { Session } = await import("/web/session.js");
  const source = await dirSource(base);
  let release = () => {};
  const released = new Promise((r) => { release = r; });
  let fetches = 0, heldIn = false; // heldIn: the frames before heldBytes are in
  source.readStream = async (name, sink) => { // the real bytes; past heldBytes only once released
    fetches++;
    const bytes = new Uint8Array(await source.readAsset(name));
    sink.begin(bytes.length);
    sink.part(0, bytes.subarray(0, heldBytes));
    heldIn = true;
    await released;
    sink.part(heldBytes, bytes.subarray(heldBytes));
    sink.finish();
  };
  const game = await Game.create(source, { seed: 0 }); // a fresh mixer: no frame of the stream in its memory
  let failure = null;
  const session = new Session({ game, renderer: null, base: location.href, room: "r", window: ahead, lead: ahead || null,
                                onError: (e) => { failure = String(e); } });
  session.onJoinFailed = (e) => { failure = String(e); };
  const heard = [], blockedAt = []; // blockedAt: other messages the page waited on the held frames at
  let atHold = null, doneAtHold = null, polls = 0;
  const blocked = game.blocked.bind(game);
  game.blocked = () => { const b = blocked(); if (b && heldIn) polls++; return b; }; // the session asks: held frames due
  for (const [i, b64] of data.entries()) {
    session.queue.push(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    polls = 0;
    let done = false;
    const pumping = session.pump().then(() => { done = true; });
    if (i === hold) { // the message that needs the frames held back: release them once the page waits, or went on
      const until = performance.now() + 30000; // a bound only: a loaded machine may take long to get there
      while (!done && !blocked() && performance.now() < until) await new Promise((r) => setTimeout(r, 4));
      atHold = { blocked: blocked(), states: session.stats.states, rollbacks: session.rollback.rollbacks };
      doneAtHold = done;
      release();
    }
    while (!done) { // a page that waits (ready() polls) on the held frames at another message is released too, and says so
      if (polls >= 5 && heldIn && !blockedAt.includes(i)) { blockedAt.push(i); release(); }
      await Promise.race([pumping, new Promise((r) => setTimeout(r, 4))]);
    }
    heard.push(...game.takeSamples());
  }
  release();
  session.close();
  return { heard, failure, atHold, doneAtHold, blockedAt, fetches, tick: game.tickCount, heals: session.stats.heals,
           rollbacks: session.rollback.rollbacks, hash: game.audioHash() };
}"""


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sound test game with a 2 s blip, streamed ([assets] stream) instead of preloaded."""
    root = tmp_path_factory.mktemp("sound-stream")
    src = game_dir(root / "src")
    write_wav(src / "assets" / "blip.wav", np.tile(blip(), (20, 1)))
    toml = src / "layerw.toml"
    toml.write_text(toml.read_text().replace('preload = ["blip.wav"]', 'stream = ["blip.wav"]'))
    return build(src, root / "build").out


def test_a_heal_while_the_stream_arrives_sounds_as_natively(streamed: Path, server: StaticServer,
                                                             play_page: Callable[..., PlayPage], engine: Engine) -> None:
    bundle = Bundle.open(streamed)
    assert "blip.wav" in bundle.config.stream
    data = messages(bundle, engine, heal_at=HEAL_AT, end=END)
    native, native_hash = heard(bundle, engine, data, end=END)
    hold = next(i for i, m in enumerate(data) if isinstance(p.decode_server(m), p.State))
    src = server.add_game(streamed, "sound-stream")
    page = play_page().open(src, ticks=1, fast=True, renderer="webgl2", worker=0)  # only for its modules
    page.wait_stopped()
    result = page.page.evaluate(FOLLOW, [src, [base64.b64encode(m).decode() for m in data], 44 + HELD_FRAMES * 4, hold, 0])
    assert result["failure"] is None and result["heals"] == 1 and result["tick"] == END
    assert result["fetches"] == 1  # the restores went on with the stream already flowing
    ours = np.array(result["heard"], dtype="<i2").tobytes()
    assert np.frombuffer(native[HEAL_AT], dtype="<i2").any()  # the fade from the blip is in what both hear
    assert ours == b"".join(native[t] for t in range(START, END))
    assert result["hash"] == native_hash
    assert result["atHold"] == {"blocked": True, "states": 1, "rollbacks": 0}  # the heal waited for the frames
