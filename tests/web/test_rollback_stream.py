"""A rollback whose resimulation needs a streamed sound's frames that have not arrived: the page waits
for them (``rollback.js`` ``ready``) instead of mixing memory they have not reached, so it hears
sample for sample what the native predicting client hears (which loads a streamed sound whole), with
the same audio hash.

The client predicts AHEAD ticks; the room's frame for SPACE_AT says Space was held (its guess: not),
so it rolls back to SPACE_AT and resimulates AHEAD + 1 ticks, now with the 2 s streamed blip starting
(1200 of its frames a tick), which the predictions did not play. The frames held back are those past
the heal test's HELD_FRAMES: the join's fast-forward (the WELCOME's snapshot is older than START) and
the predictions need none of them, so neither waits (a join that did would hang the page before the
rollback came, as a first attempt at this test did), and the resimulation's fifteenth tick needs them.
The page must not finish that rollback until they are in; what it hears and hashes is the native
client's."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import numpy as np

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from tests.session.test_heal_sound import SPACE_AT, START, heard, messages
from tests.web.conftest import PlayPage, StaticServer
from tests.web.test_heal_stream import FOLLOW, HELD_FRAMES, streamed  # noqa: F401  (streamed: a fixture)

AHEAD = 16
END = SPACE_AT + 14


def test_a_rollback_waits_for_the_streamed_frames_its_resimulation_mixes(
        streamed: Path, server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine) -> None:  # noqa: F811
    bundle = Bundle.open(streamed)
    data = messages(bundle, engine, heal=False, end=END)
    native, native_hash = heard(bundle, engine, data, AHEAD, end=END)
    hold = next(i for i, m in enumerate(data) if isinstance(msg := p.decode_server(m), p.Frame) and msg.tick == SPACE_AT)
    src = server.add_game(streamed, "rollback-stream")
    page = play_page().open(src, ticks=1, fast=True, renderer="webgl2", worker=0)  # only for its modules
    page.wait_stopped()
    result = page.page.evaluate(FOLLOW, [src, [base64.b64encode(m).decode() for m in data], 44 + HELD_FRAMES * 4, hold,
                                         AHEAD])
    assert result["failure"] is None and result["tick"] == END + AHEAD and result["heals"] == 0
    assert result["atHold"]["blocked"] and result["doneAtHold"] is False  # mid-resimulation, waiting for the frames
    assert result["rollbacks"] > result["atHold"]["rollbacks"]  # ... then that rollback ended
    assert result["blockedAt"] == [] and result["fetches"] == 1  # nothing else waited on them; one stream
    ours = np.array(result["heard"], dtype="<i2").tobytes()
    assert np.frombuffer(native[SPACE_AT + AHEAD + 1], dtype="<i2").any()  # the blip is in what both hear
    assert ours == b"".join(native[t] for t in range(START, END + AHEAD))
    assert result["hash"] == native_hash
