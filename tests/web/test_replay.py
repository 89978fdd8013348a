"""A game worker's timeout in real Chromium names the guest frame where the time went: the page replays
the call on the build's replay twin (web/replay.js, replay-worker.js; tests/runtime/crash/crash.c spins at
a known line) and shows its function and file:line, as a trap's; from the worker's last snapshot where it
posted one (a module without symbols: the frame is the loop's code offset); on a store's page, with the twin
`layerw publish` stored (a player's page at default serve settings, whose telemetry the server names in its
log) or, for a version published without, the one the server makes where the operator serves debug files;
in a room, from the last confirmed state the worker posted and the ticks as the page last ran them, rollbacks
included. A WASM-4 cart's update is replayed on its twin too (a cart backend, from the worker's last snapshot:
its memory and globals), and its frames take the names of the cart's own name section, as natively; a cart
without one (a player's page, on the twin `layerw publish` stored) gets them by function index."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameTimedOut
from layerw.runtime.aot.namesection import function_names
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.session.client import OnlineClient, Prediction, RoomAddress
from layerw.toolchain.cart import build_cart
from layerw.toolchain.replaytwin import MAP_NAME, TWIN_NAME, instructions, make_twin, twin_of
from layerw.toolchain.wasmtools import wabt
from tests.runtime.test_symbols import CRASH, line_of
from tests.runtime.test_symbols import SPIN as SPIN_SEED
from tests.session.test_online import script
from tests.toolchain.test_replaytwin import spin_cart
from tests.wat import INPUT_PTR, bundle, contract_wat
from tests.web.conftest import PlayPage, StaticServer
from tests.web.store_server import store_server
from tests.web.test_telemetry import wait_for
from tests.web.test_worker import COUNTED, SPIN

# The page's deadline: long enough that a loaded machine's page never stops the calm ticks before the spin
DEADLINE_MS = 500


def slow_crash(built: Callable[[Path], Path], tmp_path: Path) -> Path:
    """crash.c's build with a DEADLINE_MS deadline."""
    build = tmp_path / "crash"
    shutil.copytree(built(CRASH), build)
    toml = build / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_ms = 50", f"tick_ms = {DEADLINE_MS}"))
    return build


def test_a_worker_timeout_shows_the_frame_it_spun_in(built: Callable[[Path], Path], server: StaticServer,
                                                     play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    build = slow_crash(built, tmp_path)
    make_twin(build / "game.wasm", build / TWIN_NAME, build / MAP_NAME)  # as `layerw dev` builds do
    page = play_page().open(server.add_game(build, name="crash-replay"), worker=1, renderer="webgl2", seed=SPIN_SEED)
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    name, error, shown, frames = page.page.evaluate(
        "[window.layerw.errorName, window.layerw.error, document.getElementById('error').textContent, window.layerw.errorFrames]")
    assert name == "GameTimedOut"
    assert error == shown and "replayed in a fresh worker from tick 0, it ran past" in error, error
    top = frames[0]
    assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin")), frames
    assert "lw_game_tick" in [f["function"] for f in frames]
    assert f"\n  at spin (crash.c:{line_of('spin')})" in error


def test_the_replay_starts_from_the_worker_s_last_snapshot(server: StaticServer, play_page: Callable[..., PlayPage],
                                                          tmp_path: Path) -> None:
    # spins in tick 89, when its own counter (in the memory a snapshot keeps) reaches 90: the worker posted a
    # snapshot a second (60 ticks) in, and the replay from it spins at tick 89 too
    tick = f"{COUNTED} (if (i32.eq (i32.load (i32.const 4096)) (i32.const 90)) (then {SPIN}))"
    game = bundle(tmp_path / "spins-late", contract_wat(tick=tick), name="spins-late", tick_ms=DEADLINE_MS)
    module = game.path / "game.wasm"
    make_twin(module, game.path / TWIN_NAME, game.path / MAP_NAME)
    [loop] = [offset for body in instructions(wabt("wasm-objdump", "-d", str(module))) for offset, op in body if op == "loop"]
    page = play_page().open(server.add_game(game.path), worker=1, renderer="webgl2")
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    name, error, frames = page.page.evaluate("[window.layerw.errorName, window.layerw.error, window.layerw.errorFrames]")
    assert name == "GameTimedOut" and error.startswith("spins-late at tick 89 in lw_tick"), error
    since = re.search(r"replayed in a fresh worker from tick (\d+), it ran past", error)
    assert since and 0 < int(since.group(1)) <= 89, error
    assert frames[0]["offset"] == loop and frames[0]["function"].startswith("wasm-function["), frames


def test_a_store_page_replays_on_the_twin_the_server_makes(built: Callable[[Path], Path], tmp_path: Path,
                                                           play_page: Callable[..., PlayPage],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    build = slow_crash(built, tmp_path)  # published without a twin: the server makes it
    with store_server(tmp_path / "closed") as s:
        s.publish(build)
        assert httpx.get(f"{s.url}/debug/crash/1.0.0/replay.json").status_code == 403  # debug files, as the symbols
    with store_server(tmp_path / "store", serve_symbols=True) as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        s.publish(build)
        page = play_page().goto(s.play_url("crash", seed=SPIN_SEED))
        page.wait("window.layerw.status === 'failed'", timeout=30_000)
        error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        assert page.page.evaluate("window.layerw.host") == "worker"
        assert "replayed in a fresh worker from tick 0" in error and f"at spin (crash.c:{line_of('spin')})" in error, error
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    top = report.frames[0]
    assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin"))
    assert top["offset"] == frames[0]["offset"] and "replayed in a fresh worker" in report.getMessage()


def test_a_player_s_page_replays_on_the_twin_publish_stored(built: Callable[[Path], Path], tmp_path: Path,
                                                            play_page: Callable[..., PlayPage],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    build = slow_crash(built, tmp_path)
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        replay = s.publish(build, replay_twin=twin_of).manifest.replay  # as `layerw publish`; default serve settings
        assert replay is not None
        page = play_page().goto(s.play_url("crash", seed=SPIN_SEED))
        page.wait("window.layerw.status === 'failed'", timeout=30_000)
        error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        assert page.page.evaluate("window.layerw.host") == "worker"
        assert "replayed in a fresh worker from tick 0, it ran past" in error, error
        assert frames[0]["function"].startswith("wasm-function["), frames  # a player's page has no symbols
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
        asked = {path for path, _ in s.recorder.requests}
    assert {f"/chunks/{c.id}" for c in replay.twin.chunks + replay.map.chunks} <= asked  # read as the manifest's chunks
    assert not any(path.startswith("/debug/crash/1.0.0/replay") for path in asked)
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    top = report.frames[0]
    assert (top["function"], top["file"], top["line"]) == ("spin", "crash.c", line_of("spin"))  # the server names it
    assert top["offset"] == frames[0]["offset"] and "replayed in a fresh worker" in report.getMessage()


def test_a_room_page_replays_from_the_room_s_confirmed_state(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    # lw_render spins once the last tick is 90..119: only the page renders (the room never does), so the room runs
    # on; the page heard a confirmed state a second (60 ticks) in, and the replay from it spins too (the page predicts
    # at most 8 ticks ahead, so the room confirmed tick 82 by then; it joined the room this test made at its tick 0)
    last_tick = "(i32.load (i32.const 2048))"
    in_range = f"(i32.and (i32.ge_u {last_tick} (i32.const 90)) (i32.lt_u {last_tick} (i32.const 120)))"
    game = bundle(tmp_path / "renders-late", contract_wat(render=f"(if {in_range} (then {SPIN})) (i32.const 0)"),
                  name="renders-late", tick_ms=DEADLINE_MS)
    [loop] = [offset for body in instructions(wabt("wasm-objdump", "-d", str(game.path / "game.wasm")))
              for offset, op in body if op == "loop"]
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        s.publish(game.path, replay_twin=twin_of)
        page = play_page().goto(s.play_url("renders-late", room="spin", worker=1))
        page.wait("window.layerw.status === 'failed'", timeout=30_000)
        error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
    at = re.search(r"renders-late at tick (\d+) in lw_render: .*replayed in a fresh worker from tick (\d+), it ran past", error)
    assert at and 90 <= int(at.group(1)) and 0 < int(at.group(2)) <= int(at.group(1)), error
    assert frames[0]["offset"] == loop, frames
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    assert report.frames[0]["offset"] == loop


def test_a_room_page_that_rolled_back_replays_the_ticks_it_ran(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                                engine: Engine) -> None:
    # lw_tick counts the ticks on which any player holds a key; lw_render spins once the count reaches 40. A native
    # client holds a key for 25 ticks every 60 (from room tick 20) and the page predicts 4 ticks ahead, so it guesses
    # each press and release wrong and rolls back (the press at tick 80 lands between the confirmed state of tick 60
    # and the spin, near tick 95, where the room started at the page's join); the replay, from the latest confirmed
    # state and the ticks as the page last ran them, reaches the same count and spins in the same loop.
    players = INPUT_PTR + abi.INPUT.offsets["players"]
    words = [f"(i32.load (i32.const {players + seat * abi.PLAYER.size + 4 * w}))"
             for seat in (0, 1) for w in range(abi.KEY_WORDS)]
    any_key = words[0]
    for word in words[1:]:
        any_key = f"(i32.or {any_key} {word})"
    render = f"(if (i32.ge_u (i32.load (i32.const 4096)) (i32.const 40)) (then {SPIN})) (i32.const 0)"
    game = bundle(tmp_path / "held", contract_wat(tick=f"(if {any_key} (then {COUNTED}))", render=render), name="held",
                  tick_ms=DEADLINE_MS)
    [loop] = [offset for body in instructions(wabt("wasm-objdump", "-d", str(game.path / "game.wasm")))
              for offset, op in body if op == "loop"]
    with store_server(tmp_path / "store", input_delay=0) as s:
        s.publish(game.path, replay_twin=twin_of)
        url = s.play_url("held", room="held", worker=1, window=8, lead=4)
        page = play_page().goto(url)
        page.wait_running()
        client = OnlineClient(Bundle.open(game.path), engine, prediction=Prediction(window=8))
        ended: list[BaseException] = []

        def native() -> None:
            try:
                asyncio.run(client.play(RoomAddress.parse(url), ticks=600, recording=script("ArrowDown")))
            except BaseException as e:  # closed once the page failed: what it plays after is not the test's
                ended.append(e)

        thread = threading.Thread(target=native)
        thread.start()
        try:
            page.wait("window.layerw.status === 'failed'", timeout=60_000)
        finally:
            client.close()
            thread.join(30)
        assert not thread.is_alive(), "the native client did not stop once closed"
        error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        session = dict(page.page.evaluate("({...window.layerw.session})"))
    print(f"page: {session}; {error}")
    assert session["rollbacks"] >= 1, session  # it guessed the native player's keys wrong
    assert re.search(r"held at tick \d+ in lw_render: .*replayed in a fresh worker from tick \d+, it ran past", error), error
    assert frames[0]["offset"] == loop, frames


def cart_loop(build: Path) -> int:
    """The code offset of the cart's one loop, in its own bytes."""
    [loop] = [offset for body in instructions(wabt("wasm-objdump", "-d", str(build / "game.wasm")))
              for offset, op in body if op == "loop"]
    return loop


def spinning_cart(tmp_path: Path, name: str, wat: str, *, replay_twin: bool = False) -> Path:
    """A cart's build directory with a DEADLINE_MS deadline."""
    cart = tmp_path / f"{name}.wasm"
    cart.write_bytes(wasmtime.wat2wasm(wat))
    build = build_cart(cart, tmp_path / f"{name}-build", name=name, replay_twin=replay_twin)
    toml = build / "layerw.toml"
    toml.write_text(toml.read_text().replace("tick_ms = 1000", f"tick_ms = {DEADLINE_MS}"))
    return build


# update counts its calls in a mutable global (a snapshot's host state) and draws; at the 90th (tick 89: past the
# snapshot the worker posts a second in) it calls $spin. Two env functions and a global: its twin moves under
# exportGlobals, as a real cart's does.
NAMED_CART = spin_cart(90)


def test_a_cart_s_timeout_names_the_functions_it_spun_in(server: StaticServer, play_page: Callable[..., PlayPage],
                                                          tmp_path: Path, engine: Engine) -> None:
    build = spinning_cart(tmp_path, "cart-spins", NAMED_CART, replay_twin=True)  # as `layerw build --replay-twin`
    loop = cart_loop(build)
    page = play_page().open(server.add_game(build), worker=1, renderer="webgl2")
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    name, error, shown, frames = page.page.evaluate(
        "[window.layerw.errorName, window.layerw.error, document.getElementById('error').textContent, window.layerw.errorFrames]")
    assert name == "GameTimedOut" and error == shown and error.startswith("cart-spins at tick 89 in update: "), error
    since = re.search(r"replayed in a fresh worker from tick (\d+), it ran past", error)
    assert since and 0 < int(since.group(1)) <= 89, error
    assert [(f["function"], f["file"], f["line"]) for f in frames] == [("spin", "", 0), ("update", "", 0)], frames
    assert frames[0]["offset"] == loop and f"\n  at spin @0x{loop:x}\n  at update @0x" in error, error
    with start_game(Bundle.open(build), engine) as game, pytest.raises(GameTimedOut) as native:
        for _ in range(90):
            game.tick(InputState(1))
    assert [f["function"] for f in native.value.frames] == ["spin", "update"]  # as natively (wasmtime's names)
    assert native.value.frames[0]["offset"] == loop  # and offsets: both count the cart's bytes as built


def test_a_player_s_page_names_a_nameless_cart_s_frames_by_index(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    # no $names: no name section; update (function 1) calls function 0, which spins, at its 30th call
    build = spinning_cart(tmp_path, "nameless", """(module (import "env" "memory" (memory 1))
      (func (loop (br 0)))
      (func (export "update") (i32.store (i32.const 0x2000) (i32.add (i32.load (i32.const 0x2000)) (i32.const 1)))
        (if (i32.eq (i32.load (i32.const 0x2000)) (i32.const 30)) (then (call 0)))))""")
    assert function_names((build / "game.wasm").read_bytes()) == {}
    with store_server(tmp_path / "store") as s, caplog.at_level(logging.WARNING, logger="layerw.client"):
        assert s.publish(build, replay_twin=twin_of).manifest.replay is not None  # as `layerw publish`
        page = play_page().goto(s.play_url("nameless"))
        page.wait("window.layerw.status === 'failed'", timeout=30_000)
        error, frames = page.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        wait_for(lambda: any(r.name == "layerw.client" and getattr(r, "frames", None) for r in caplog.records))
    assert "nameless at tick 29 in update: " in error and "replayed in a fresh worker from tick 0, it ran past" in error
    assert [(f["function"], f["offset"]) for f in frames[:1]] == [("wasm-function[0]", cart_loop(build))], frames
    assert [f["function"] for f in frames] == ["wasm-function[0]", "wasm-function[1]"], frames
    report = next(r for r in caplog.records if r.name == "layerw.client" and getattr(r, "frames", None))
    assert [(f["function"], f["offset"]) for f in report.frames] == [(f["function"], f["offset"]) for f in frames]


def test_a_cart_no_snapshot_holds_plays_on_beside_its_twin(server: StaticServer, play_page: Callable[..., PlayPage],
                                                           tmp_path: Path) -> None:
    # a mutable v128 global, which no snapshot holds (cart-game.js): the snapshots a twin asks the worker for stop
    # at the first (tick 60), with a warning, and the cart plays on
    build = spinning_cart(tmp_path, "v128-cart", """(module (import "env" "memory" (memory 1))
      (global $v (mut v128) (v128.const i32x4 0 0 0 0))
      (func (export "update") (global.set $v (i32x4.add (global.get $v) (v128.const i32x4 1 1 1 1)))))""",
                          replay_twin=True)
    page = play_page().open(server.add_game(build), worker=1, renderer="webgl2", ticks=90, fast=True)
    page.wait("window.layerw.status === 'stopped'", timeout=30_000)
    assert page.page.evaluate("[window.layerw.tick, window.layerw.error]") == [90, None]
    assert any("v128-cart keeps state in 1 mutable wasm globals" in line and "not restored from a snapshot" in line
               for line in page.console), page.console


def test_a_cart_room_page_replays_its_own_player_s_view(tmp_path: Path, play_page: Callable[..., PlayPage]) -> None:
    # update spins from its 180th call only while NETPLAY shows player 1 (0b101): the room's own copy and the first
    # page (player 0) run on, and the second page (player 1) times out; its replay runs as player 1 too, so it spins
    # where the page did (as player 0, or alone, NETPLAY 0 or 0b100, it would finish: "the machine, not the game")
    build = spinning_cart(tmp_path, "views", """(module
      (import "env" "memory" (memory 1))
      (global $n (mut i32) (i32.const 0))
      (func $spin (loop $l (br $l)))
      (func $update (export "update")
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (if (i32.and (i32.ge_u (global.get $n) (i32.const 180)) (i32.eq (i32.load8_u (i32.const 0x20)) (i32.const 0x5)))
          (then (call $spin)))))""")
    loop = cart_loop(build)
    with store_server(tmp_path / "store") as s:
        s.publish(build, replay_twin=twin_of)
        url = s.play_url("views", room="views", worker=1)
        first = play_page().goto(url)
        first.wait_running()
        second = play_page().goto(url)
        second.wait("window.layerw.status === 'failed'", timeout=60_000)
        error, frames = second.page.evaluate("[window.layerw.error, window.layerw.errorFrames]")
        assert first.page.evaluate("[window.layerw.status, window.layerw.session.seat]") == ["running", 0]
    assert re.search(r"views at tick \d+ in update: .*replayed in a fresh worker from tick \d+, it ran past", error), error
    assert [(f["function"], f["offset"]) for f in frames[:1]] == [("spin", loop)], frames
