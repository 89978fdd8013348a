"""A heal in the browser sounds as it does natively: the page's Session, given the server messages of
tests/session/test_heal_sound.py (a client whose frames held a Space the room never had, then the
room's STATE), hears sample for sample what the native Replica hears (the blip ramps into the room's
silence over 5 ms), and its audio hash is the native one."""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from tests.session.test_heal_sound import AHEAD, END, HEAL_AT, heard, messages
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.test_rollback import sound_src  # noqa: F401  (a fixture: the sound test game, served)

FOLLOW = """async ([data, ahead, lost = []]) => {  // lost: indexes of the messages the connection was lost before
  const { Session } = await import("/web/session.js");
  const game = window.layerw.client().game;
  game.takeSamples();
  let failure = null;
  const session = new Session({ game, renderer: null, base: location.href, room: "r", window: ahead, lead: ahead || null,
                                onError: (e) => { failure = String(e); } });
  session.onJoinFailed = (e) => { failure = String(e); };
  const heard = [];
  for (const [i, b64] of data.entries()) {
    if (lost.includes(i)) session.to("reconnecting");  // as Session.retry does
    session.queue.push(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    await session.pump();
    heard.push(...game.takeSamples());
  }
  session.close();
  return { heard, failure, tick: game.tickCount, heals: session.stats.heals, hash: game.audioHash(),
           skipped: game.audio.framesSkipped, reconnects: session.stats.reconnects };
}"""


@pytest.mark.parametrize("ahead", [0, AHEAD], ids=["confirmed", "predicting"])
def test_the_page_hears_a_heal_as_the_native_client_does(ahead: int, sound_src: str, server: StaticServer,  # noqa: F811
                                                          play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """Following confirmed frames, or a tick ahead of them (the heal predicts again, unheard, up to
    where the screen was): the same samples as the native Replica, tick for tick."""
    bundle = Bundle.open(served_build(server, sound_src))
    data = messages(bundle, engine)
    native, native_hash = heard(bundle, engine, data, ahead)
    page = play_page().open(sound_src, ticks=1, fast=True, renderer="webgl2", worker=0)  # FOLLOW drives the page-hosted game
    page.wait_stopped()
    result = page.page.evaluate(FOLLOW, [[base64.b64encode(m).decode() for m in data], ahead])
    assert result["failure"] is None and result["tick"] == END + ahead and result["heals"] == 1 and result["skipped"] > 0
    ours = np.array(result["heard"], dtype="<i2").tobytes()
    assert ours == b"".join(native[t] for t in sorted(native))
    assert np.frombuffer(native[HEAL_AT + ahead], dtype="<i2").any()  # the ramp is in what both heard
    assert result["hash"] == native_hash
