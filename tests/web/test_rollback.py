"""Prediction in the browser: a predicting Chromium page and a predicting native client in one pong
room (input delay 0) each run ahead of the room, guess the other's keys wrong and roll back, show
their own input on the next tick, and report the same confirmed hash chain; the server heals nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.session.client import OnlineClient, Outcome, Prediction, RoomAddress
from layerw.session.replica import Replica
from tests.conftest import GAMES
from tests.session.test_online import script
from tests.waiting import wait_until
from tests.web.conftest import PlayPage, StaticServer, served_build

TICKS = 960  # sixteen seconds of a room at 60 Hz: at load 23 the page began its second hold at tick 460


class Chain:
    """A frame hook: every confirmed hash the native client reported, and how many frames it had."""

    def __init__(self) -> None:
        self.reported: dict[int, str] = {}
        self.frames = 0

    def __call__(self, replica: Replica, local: InputState) -> None:
        self.reported.update(replica.reported)
        self.frames += 1


def test_a_predicting_page_and_native_client_agree_on_every_confirmed_hash(
        tmp_path: Path, play_page: Callable[..., PlayPage], built: Callable[[Any], Any], engine: Engine) -> None:
    from tests.web.store_server import store_server

    with store_server(tmp_path / "store", hash_every=30, input_delay=0) as server:
        server.publish(built(GAMES / "pong"))
        url = server.play_url("pong", room="ahead", ticks=TICKS, window=8)
        page = play_page().goto(url)
        page.wait_running()
        chain = Chain()
        outcome: list[Outcome | BaseException] = []
        client = OnlineClient(Bundle.open(built(GAMES / "pong")), engine, prediction=Prediction(window=8))

        def native() -> None:
            try:
                outcome.append(asyncio.run(client.play(RoomAddress.parse(url), ticks=TICKS, recording=script("ArrowDown"),
                                                       on_frame=chain)))
            except BaseException as e:  # reported below
                outcome.append(e)

        thread = threading.Thread(target=native)
        thread.start()
        try:
            wait_until(lambda: chain.frames > 0, "the native client plays in the room")  # and sees the page's keys
            # The page's player moves: the native client guesses it wrong and rolls back. As many holds as land
            # before the room's last tick (at least two: inputsSent below): each takes six page round trips too,
            # and at load 23 the second waited for its key-down at tick 460 when a 480-tick page stopped.
            for _ in range(4):
                page.hold("KeyW", 15, then=21, or_stop=True)
            page.wait_stopped()
            thread.join(30)
        finally:
            client.close()
        assert outcome and isinstance(outcome[0], Outcome), outcome
        native_outcome = outcome[0]
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        reported = {int(t): str(h) for t, h in page.page.evaluate("window.layerw.reported()")}
        print(f"predicting page: {session}; native: {native_outcome}")
        assert page.tick == native_outcome.tick == TICKS and page.state_hash() == native_outcome.state_hash
        assert session["heals"] == 0 and native_outcome.heals == 0  # the server found no desync
        assert session["window"] == 8 and session["predicted"] > TICKS // 2 and native_outcome.predicted > 0
        assert session["rollbacks"] >= 1 and native_outcome.rollbacks >= 1  # each guessed the other's keys wrong
        assert session["resimulated"] >= session["rollbacks"]
        assert session["inputsSent"] >= 4
        assert session["ownChecked"] > TICKS // 4 and session["ownMissed"] == 0  # own input on the very next tick
        assert session["rttMs"] > 0  # measured with PING/PONG
        shared = reported.keys() & chain.reported.keys()
        assert len(shared) >= 8 and all(reported[t] == chain.reported[t] for t in shared)


LEAD_SCRIPT = [  # (what, round trip, now): rises at once, falls a tick a second, grows while frames are late
    ("rtt", 0.030, 0.0), ("frame", 0, 0.0), ("target", 0, 0.0), ("rtt", 0.090, 0.5), ("frame", 0, 0.5), ("target", 0, 0.5),
    ("rtt", 0.010, 1.6), ("rtt", 0.010, 2.7), ("rtt", 0.010, 3.8), ("frame", 0, 3.8), ("target", 0, 3.8),
    ("target", 0, 3.85), ("target", 0, 3.9), ("rtt", 0.010, 4.9), ("frame", 0, 4.9), ("target", 0, 4.9)]
LEAD_RUN = """async (script) => {
  const { Lead } = await import("/web/lead.js");
  const lead = new Lead(60, 1, 8);
  const out = [];
  for (const [what, value, now] of script) {
    if (what === "rtt") lead.roundTrip(value, now);
    else if (what === "frame") lead.frame(now);
    else out.push([lead.target(now), lead.rtt]);
  }
  return out;
}"""


def test_lead_js_follows_lead_py(server: Any, play_page: Callable[..., PlayPage]) -> None:
    """The browser's Lead gives the native one's targets for the same round trips, frames and times."""
    from layerw.session.lead import Lead

    lead = Lead(60, 1, 8)
    expected: list[list[float]] = []
    for what, value, now in LEAD_SCRIPT:
        if what == "rtt":
            lead.round_trip(value, now)
        elif what == "frame":
            lead.frame(now)
        else:
            expected.append([lead.target(now), lead.rtt])
    page = play_page().goto(f"{server.url}/web/play.html")
    got = page.page.evaluate(LEAD_RUN, LEAD_SCRIPT)
    assert got == expected and len({t for t, _ in expected}) > 2  # several leads: rising, late, falling


RESIMULATE = """async ([ticks, every]) => {
  const { Rollback } = await import("/web/rollback.js");
  const { InputState } = await import("/web/input.js");
  const game = window.layerw.client().game;
  const start = game.snapshot();
  const size = new InputState(2).player(1) - new InputState(2).player(0);
  const remote = (tick) => {  // the remote seat's input from `tick` on: ArrowUp held every other `every` ticks
    const s = new InputState(2);
    s.key(1, "ArrowUp", Math.floor(tick / every) % 2 === 1);
    return s.bytes.slice(s.player(1), s.player(1) + size);
  };
  const plain = new InputState(2);
  for (let t = start.tick; t < start.tick + ticks; t++) {
    plain.bytes.set(remote(t), plain.player(1));
    game.tick(plain);
  }
  const expected = await game.stateHash();
  await game.restore(start);
  const rollback = new Rollback(game, new InputState(2), { seat: 0, window: 8, hashEvery: every });
  const hashes = [];
  while (rollback.confirmed < start.tick + ticks) {
    while (rollback.present < start.tick + ticks && rollback.predict()) { /* ahead */ }
    const tick = rollback.confirmed;
    await rollback.confirm({ tick, changes: tick % every === 0 ? [[1, remote(tick)]] : [], events: [] });
    if (rollback.confirmed % every === 0) hashes.push([rollback.confirmed, await rollback.confirmedHash()]);
  }
  const plainHashes = [];  // the same hash ticks, without prediction
  await game.restore(start);
  const again = new InputState(2);
  for (let t = start.tick; t < start.tick + ticks; t++) {
    again.bytes.set(remote(t), again.player(1));
    game.tick(again);
    if (game.tickCount % every === 0) plainHashes.push([game.tickCount, await game.stateHash()]);
  }
  return { expected, got: await rollback.confirmedHash(), rollbacks: rollback.rollbacks, resimulated: rollback.resimulated,
           predicted: rollback.predicted, hashes, plainHashes };
}"""


def test_rollback_js_resimulates_to_the_state_a_plain_run_reaches(published: Callable[[str], str],
                                                                  play_page: Callable[..., PlayPage]) -> None:
    """The remote player's key changes every 20 ticks, each one guessed wrong 8 ticks ahead: after
    every rollback the page's pong reaches the state the same inputs reach without prediction."""
    page = play_page().open(published("pong"), ticks=1, sound=0, worker=0)  # RESIMULATE drives the page-hosted game
    page.wait_stopped()
    result = page.page.evaluate(RESIMULATE, [240, 20])
    print(f"rollback.js: {result['rollbacks']} rollbacks, {result['resimulated']} ticks resimulated")
    assert result["got"] == result["expected"]
    assert result["hashes"] == result["plainHashes"] and len(result["hashes"]) == 240 // 20  # every confirmed hash tick
    rollbacks = result["rollbacks"]
    assert rollbacks == 240 // 20  # one per change: ticks 20, 40 .. 240 (the page starts at tick 1)
    assert 8 * (rollbacks - 1) <= result["resimulated"] <= 8 * rollbacks  # 8 ahead, less near the end
    assert result["predicted"] >= 240 - 8


IN_PLACE = """async ([ticks, every]) => {
  const { Rollback } = await import("/web/rollback.js");
  const { InputState } = await import("/web/input.js");
  const game = window.layerw.client().game;
  const instance = game.exports;
  const size = new InputState(2).player(1) - new InputState(2).player(0);
  const remote = (tick) => {  // the remote seat's input from `tick` on: ArrowUp held every other `every` ticks
    const s = new InputState(2);
    s.key(1, "ArrowUp", Math.floor(tick / every) % 2 === 1);
    return s.bytes.slice(s.player(1), s.player(1) + size);
  };
  const start = game.tickCount;
  const rollback = new Rollback(game, new InputState(2), { seat: 0, window: 8, hashEvery: every });
  const hashes = [];
  while (rollback.confirmed < start + ticks) {
    while (rollback.present < start + ticks && rollback.predict()) { /* ahead */ }
    const tick = rollback.confirmed;
    await rollback.confirm({ tick, changes: tick % every === 0 ? [[1, remote(tick)]] : [], events: [] });
    if (rollback.confirmed % every === 0) hashes.push([rollback.confirmed, await rollback.confirmedHash()]);
  }
  return { start, hashes, rollbacks: rollback.rollbacks, sameInstance: game.exports === instance,
           spare: rollback.spare.length };
}"""


def test_rollback_js_restores_in_place_to_the_native_hashes(published: Callable[[str], str], server: Any,
                                                             play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """Every rollback in the page restores into the live instance (no new one) and reaches, at every
    hash tick, the state hash the native host reaches with the same inputs and no prediction."""
    from layerw.play.runner import Runner
    from layerw.runtime.game import Game

    src = published("pong")
    page = play_page().open(src, ticks=1, sound=0, worker=0)  # IN_PLACE drives the page-hosted game
    page.wait_stopped()
    every = 20
    result = page.page.evaluate(IN_PLACE, [240, every])
    assert result["rollbacks"] == 240 // every and result["sameInstance"]  # every change guessed wrong, restored in place
    assert 0 < result["spare"] <= 9  # snapshot memory reused, bounded by the window
    native: list[list[Any]] = []
    with Game(Bundle.open(served_build(server, src)), engine, seed=0) as game:
        Runner(game, None).run_headless(result["start"])  # the page's first tick, as `layerw run` makes it
        inputs = InputState(players=2)
        for tick in range(result["start"], result["start"] + 240):
            inputs.key(1, "ArrowUp", (tick // every) % 2 == 1)
            game.tick(inputs)
            if game.tick_count % every == 0:
                native.append([game.tick_count, game.state_hash()])
    assert result["hashes"] == native and len(native) == 240 // every


HEARD = """async ([start, end, ahead, spaceAt, changes]) => {
  const { Rollback } = await import("/web/rollback.js");
  const { InputState } = await import("/web/input.js");
  const game = window.layerw.client().game;
  const size = new InputState(2).player(1) - new InputState(2).player(0);
  const player = (seat, key, down) => {
    const s = new InputState(2);
    s.key(seat, key, down);
    return s.bytes.slice(s.player(seat), s.player(seat) + size);
  };
  if (game.tickCount !== start) throw new Error(`the page stopped at tick ${game.tickCount}`);
  game.takeSamples();
  const rollback = new Rollback(game, new InputState(2), { seat: 0, window: ahead });
  rollback.local(spaceAt, player(0, "Space", true));
  rollback.local(spaceAt + 1, player(0, "Space", false));
  const heard = [];
  const hear = () => heard.push(...game.takeSamples());
  while (rollback.confirmed < end) {
    while (rollback.present < end && rollback.predict()) hear();
    const tick = rollback.confirmed;
    const frame = (changes[tick] || []).map(([seat, key, down]) => [seat, player(seat, key, down)]);
    await rollback.confirm({ tick, changes: frame, events: [] });
    hear();
  }
  return { heard, rollbacks: rollback.rollbacks, resimulated: game.audio.framesResimulated };
}"""


@pytest.fixture(scope="module")
def sound_src(server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.runtime.sound.game import build_game

    return server.add_game(build_game(tmp_path_factory.mktemp("sound")), "sound")


@pytest.mark.parametrize("case", ["taken-back", "started-again", "nothing-audible"])
def test_the_page_hears_a_rollback_as_the_native_client_does(case: str, sound_src: str, server: StaticServer,
                                                             play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """The sound test game under the page's rollback.js: a blip the room never applied fades out, one
    the resimulation starts again is heard once, one starting just after a rollback that changed
    nothing audible is heard whole; sample for sample what the native Rollback hears."""
    from tests.session.test_rollback_sound import END, SPACE_AT, START, UNCHANGED_KEYS, WINDOW, player, predicted

    changes = {"taken-back": {}, "nothing-audible": UNCHANGED_KEYS,
               "started-again": {SPACE_AT: [(0, "Space", True), (1, "KeyW", True)], SPACE_AT + 1: [(0, "Space", False)]}}[case]
    page = play_page().open(sound_src, ticks=START, fast=True, renderer="webgl2", worker=0)  # HEARD drives its game
    page.wait_stopped()
    result = page.page.evaluate(HEARD, [START, END, WINDOW, SPACE_AT, {str(t): c for t, c in changes.items()}])
    native, rollbacks = predicted(Bundle.open(served_build(server, sound_src)), engine,
                                  {t: [(seat, player(seat, key, down)) for seat, key, down in c] for t, c in changes.items()})
    heard = np.array(result["heard"], dtype="<i2").tobytes()
    assert result["rollbacks"] == rollbacks == 1 and result["resimulated"] > 0
    assert heard == b"".join(native[t] for t in sorted(native)) and np.frombuffer(heard, dtype="<i2").any()


PATCH = """async () => {
  const { patch } = await import("/web/blocks.js");
  const run = (offset, size, changed) => {  // a live view at `offset` (unaligned when odd), `changed` bytes differing
    const live = new Uint8Array(new ArrayBuffer(size + offset + 8), offset, size), want = new Uint8Array(size);
    for (let i = 0; i < size; i++) live[i] = want[i] = (i * 7) & 255;
    for (const at of changed) want[at] ^= 0x5a;
    const copied = patch(live, want);
    return [copied, live.every((v, i) => v === want[i])];
  };
  return [run(0, 5 * 4096 + 100, [3, 4096 * 3 + 17]), run(1, 5 * 4096 + 100, [5 * 4096 + 99]), run(4, 3 * 4096, []),
          run(3, 2 * 4096, [0, 4095, 4096])];
}"""


def test_blocks_js_copies_only_the_blocks_that_differ(server: Any, play_page: Callable[..., PlayPage]) -> None:
    """blocks.js's patch (the browser's copy of runtime/blocks.py) on aligned and unaligned views."""
    page = play_page().goto(f"{server.url}/web/play.html")
    assert page.page.evaluate(PATCH) == [[2 * 4096, True], [100, True], [0, True], [2 * 4096, True]]
