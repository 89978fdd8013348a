"""Sound in a room, in real Chromium: two pages in one asteroids room (its autopilot fires and
explodes rocks all along) hear the same samples for the same ticks, and a page that joins mid-game
fast-forwards without a burst: what it mixed catching up is dropped unheard, its sound starts at
the room's present.

A join is an event both pages may have predicted past: each rolls back at the join's tick, hears
its predicted ticks as it mixed them and cross-fades the next one (rollback.js); so the same ticks
sound the same from the first tick no rollback at the join can reach, `window` + 1 ticks on."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import numpy as np

from layerw import abi
from tests.web.conftest import PlayPage
from tests.web.store_server import StoreServer

# The second page has (TICKS - JOIN_AFTER - 40) / 60 s, over 18 s, to load and join: it took 4.6 s at load 19,
# and pages loading into a running room took over 10 s at load 25 (test_cart_rooms.py), past 480 ticks' 6 s
TICKS = 1200
JOIN_AFTER = 60  # the second page joins once the room is past this tick
KEPT = 2 * abi.SAMPLE_RATE  # what a page keeps for nobody (audio.js MAX_PENDING_FRAMES): the last 2 s
SAMPLES = """() => { const game = window.layerw.client().game, s = game.takeSamples();
    const u = new Uint8Array(s.buffer, s.byteOffset, s.byteLength); let t = "";
    for (let i = 0; i < u.length; i += 0x8000) t += String.fromCharCode(...u.subarray(i, i + 0x8000));
    return {samples: btoa(t), skipped: game.audio.framesSkipped, skippedTo: game.audio.skippedTo, mixed: game.audio.framesMixed,
            tick: game.tickCount, window: window.layerw.session.window}; }"""


def test_two_pages_in_a_room_hear_the_same_ticks(store_server: StoreServer, play_page: Callable[..., PlayPage]) -> None:
    url = store_server.play_url("asteroids", room="duet", ticks=TICKS, sound=0, worker=0)  # SAMPLES reads the page's game
    first = play_page().goto(url)
    seen_running = first.first("window.layerw.status === 'running' ? window.layerw.tick : null")  # its join or later
    first.wait(f"window.layerw.tick >= {JOIN_AFTER}")
    second = play_page().goto(url)
    second.wait_stopped()
    first.wait_stopped()
    a, b = first.page.evaluate(SAMPLES), second.page.evaluate(SAMPLES)
    assert a["tick"] == b["tick"] == TICKS
    ours, theirs = (np.frombuffer(base64.b64decode(x["samples"]), "<i2").reshape(-1, 2) for x in (a, b))
    per_tick = abi.SAMPLE_RATE // 60
    # the joiner mixed its fast-forward (from the room's tick-0 snapshot) and dropped it unheard:
    # what it kept starts at the tick it joined
    joined = b["skippedTo"] // per_tick
    print(f"room audio: joiner fast-forwarded to tick {joined} unheard ({b['skipped']} frames dropped), "
          f"then mixed {TICKS - joined} ticks to hear")
    assert JOIN_AFTER <= joined < TICKS - 10 and b["skipped"] > 0 and b["mixed"] == TICKS * per_tick
    # the room's first page hears all from its own join: the room may have ticked before its WELCOME
    # (while the join's state was encoded on a loaded machine), and only that catch-up is dropped
    assert a["skipped"] == a["skippedTo"] and a["skippedTo"] // per_tick <= seen_running and len(ours) == KEPT
    assert len(theirs) == min(TICKS - joined, KEPT // per_tick) * per_tick, "no sound from before the join"
    tail = ours[-len(theirs):]  # the same ticks
    # a rollback at the join's tick reaches the `window` ticks predicted past it and fades the next
    settled = max(0, joined + max(a["window"], b["window"]) + 1 - (TICKS - len(theirs) // per_tick)) * per_tick
    assert len(theirs) - settled >= 30 * per_tick, "half a second of the same ticks to compare"
    assert np.abs(theirs[settled:].astype(np.int32)).max() > 1000, "shots and explosions are heard"
    assert hashlib.sha256(tail[settled:].tobytes()).hexdigest() == hashlib.sha256(theirs[settled:].tobytes()).hexdigest()
