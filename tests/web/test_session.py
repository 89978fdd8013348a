"""Rooms in the browser: a Chromium page and a native client (play_online) in one pong room apply
the same confirmed frames and reach the same state hash; the server sees no desync."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import Recording
from layerw.session.client import Outcome, RoomAddress, play_online
from tests.conftest import GAMES
from tests.waiting import wait_until
from tests.web.conftest import PlayPage
from tests.web.store_server import StoreServer

# Twelve seconds of a room at 60 Hz: the page then holds a key (after its rejoin, in the dropped connection's
# test), and each of hold's six page round trips took 380 ms at load 22; a page that predicted in a 480-tick
# room began its second hold only at tick 460 at load 23 (test_rollback.py)
TICKS = 720
# A page that loads while the room runs (here after tick 60): one took 11 s to load at load 17 (test_cart_rooms.py)
LATE_TICKS = 1200
NATIVE_KEYS = [{"tick": 100, "down": ["ArrowUp"]}, {"tick": 160, "up": ["ArrowUp"]}]


def test_browser_and_native_client_agree_in_a_room(store_server: StoreServer, play_page: Callable[..., PlayPage],
                                                   built: Callable[[Any], Any], engine: Engine) -> None:
    url = store_server.play_url("pong", room="mixed", ticks=TICKS)
    page = play_page().goto(url)
    page.wait_running()
    assert page.tick < TICKS

    recording = Recording()
    for change in NATIVE_KEYS:
        recording.changes[int(change["tick"])].append(change)  # type: ignore[call-overload]
    outcome: list[Outcome | BaseException] = []

    def native() -> None:
        try:
            outcome.append(asyncio.run(play_online(RoomAddress.parse(url), Bundle.open(built(GAMES / "pong")), engine,
                                                   ticks=TICKS, recording=recording)))
        except BaseException as e:  # reported below
            outcome.append(e)

    thread = threading.Thread(target=native)
    thread.start()
    page.hold("KeyW", 30)  # the browser's player moves too: its input travels as frames
    page.wait_stopped()
    thread.join(30)
    assert outcome and not isinstance(outcome[0], BaseException), outcome
    native_outcome = outcome[0]
    assert isinstance(native_outcome, Outcome)
    session = dict(page.page.evaluate("({...window.layerw.session})"))
    print(f"room: browser seat {session['seat']}, native seat {native_outcome.seat}; {session}")
    assert page.tick == native_outcome.tick == TICKS
    assert page.state_hash() == native_outcome.state_hash
    assert session["seat"] != native_outcome.seat
    assert session["inputsSent"] >= 2 and session["hashesSent"] >= TICKS // 30 - 2
    assert session["heals"] == 0 and native_outcome.heals == 0  # the server found no desync


def test_browser_joins_mid_game_and_heals_a_desync(tmp_path: Any, play_page: Callable[..., PlayPage],
                                                   built: Callable[[Any], Any], engine: Engine) -> None:
    """Snapshots every 60 ticks: the page joins late from a mid-game snapshot (rng and asset state
    restored in JS), then a byte flipped in its memory is caught by its next HASH and healed."""
    from tests.web.store_server import store_server

    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(built(GAMES / "asteroids"))
        url = server.play_url("asteroids", room="late", ticks=LATE_TICKS, worker=0)  # its game's memory is changed
        outcome: list[Outcome | BaseException] = []

        def native() -> None:
            try:
                outcome.append(asyncio.run(play_online(RoomAddress.parse(url), Bundle.open(built(GAMES / "asteroids")),
                                                       engine, ticks=LATE_TICKS)))
            except BaseException as e:  # reported below
                outcome.append(e)

        thread = threading.Thread(target=native)
        thread.start()
        page = play_page()
        wait_until(lambda: server.room_tick("asteroids", "late") > 60, "the native player's room is past its first snapshots")
        page.goto(url).wait_running()
        joined = page.tick
        page.desync_until_healed("(() => { const g = window.layerw.client().game;"
                                 " new Uint8Array(g.memory.buffer)[g.stateBegin + 16] += 1; })()", LATE_TICKS - 30)
        page.wait_stopped()
        thread.join(30)
        assert outcome and isinstance(outcome[0], Outcome), outcome
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        print(f"late join at tick {joined}: {session}")
        assert joined >= 60
        assert session["heals"] >= 1  # the server resent the state after the flipped byte's hash
        assert page.tick == outcome[0].tick == LATE_TICKS
        assert page.state_hash() == outcome[0].state_hash


def test_browser_rejoins_its_seat_after_a_dropped_connection(tmp_path: Any, play_page: Callable[..., PlayPage],
                                                             built: Callable[[Any], Any], engine: Engine) -> None:
    """The page's socket is closed mid-game: it shows "reconnecting…", rejoins with its seat token
    and newest snapshot tick, loads a block-delta STATE, and ends with the native client's hash."""
    from tests.web.store_server import store_server

    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(built(GAMES / "pong"))
        url = server.play_url("pong", room="drop", ticks=TICKS, worker=0)  # its Session's socket is closed
        page = play_page().goto(url)
        page.wait_running()
        outcome: list[Outcome | BaseException] = []

        def native() -> None:
            try:
                outcome.append(asyncio.run(play_online(RoomAddress.parse(url), Bundle.open(built(GAMES / "pong")),
                                                       engine, ticks=TICKS)))
            except BaseException as e:  # reported below
                outcome.append(e)

        thread = threading.Thread(target=native)
        thread.start()
        page.wait("window.layerw.tick >= 150")  # the page holds its snapshots of ticks 60 .. 120 (or later)
        seat = page.page.evaluate("window.layerw.session.seat")
        page.page.evaluate("""(() => {
          const el = document.getElementById('status');
          window.statusSeen = [];
          new MutationObserver(() => window.statusSeen.push(el.hidden ? '' : el.textContent))
            .observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
          window.layerw.client().loop.ws.close();
        })()""")
        page.wait("window.layerw.session.reconnects === 1")
        sent = page.page.evaluate("window.layerw.session.inputsSent")
        page.hold("KeyW", 18)  # input still travels after the rejoin
        page.wait_stopped()
        thread.join(30)
        assert outcome and isinstance(outcome[0], Outcome), outcome
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        seen = page.page.evaluate("window.statusSeen")
        print(f"rejoin: {session}; status shown: {seen}")
        assert any(text.startswith("reconnecting…") for text in seen), seen
        assert seen[-1] == ""  # the status went away again; no error was shown
        assert page.page.evaluate("document.getElementById('error').hidden")
        assert session["seat"] == seat != outcome[0].seat
        assert session["lastStateKind"] == "delta" and session["deltaStates"] == 1
        assert session["inputsSent"] > sent and session["heals"] == 0 and outcome[0].heals == 0
        assert page.tick == outcome[0].tick == TICKS
        assert page.state_hash() == outcome[0].state_hash
