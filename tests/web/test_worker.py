"""A game in a game worker (the default host; ?worker=0 is the page: web/game-worker.js,
worker-client.js, watchdog.js) in real Chromium: it plays as on the page (same state hash), a call
stuck in a loop is stopped after the game's per-call deadline with the native host's GameTimedOut
while the page stays responsive, a cart gets the same, and with ?restore=1 the last snapshot goes
into a fresh worker (in a room: the page rejoins its seat)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameTimedOut
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.toolchain.cart import build_cart
from layerw.wire import NO_SEAT
from tests.runtime.sound.game import build_game
from tests.runtime.test_devchecks import build_sloppy
from tests.wat import bundle, contract_wat
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.recordings import native_run, recording_file
from tests.web.store_server import StoreServer
from tests.web.test_devchecks import TICK_KINDS
from tests.web.test_errors import AT_TICK, native_failure
from tests.web.test_input import key_down
from tests.web.test_renderer import webgpu_page
from tests.web.test_speaker import held_blip_taps, played_equals_mix

DEADLINE_MS = 300
SPIN_AT = 3
# The spinning game's deadline: long enough that a loaded machine's page round trips (380 ms each at load 22)
# all land inside the spin, which is what they prove the page answers in.
SPIN_DEADLINE_MS = 3000
SPIN = "(loop $spin (br $spin))"
REJOIN_DEADLINE_MS = 1000  # the runaway render's (room game) deadline: a second of room ticks (60) pass in it
# counts its ticks in guest memory, so a restore (which puts that memory back) changes when it spins
COUNTED = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"


@pytest.fixture
def spinning(server: StaticServer, tmp_path: Path) -> tuple[str, Path]:
    """A game whose lw_tick loops forever at tick SPIN_AT, with a SPIN_DEADLINE_MS deadline."""
    game = bundle(tmp_path / "spins", contract_wat(tick=f"(if {AT_TICK.format(SPIN_AT)} (then {SPIN}))"), name="spins",
                  tick_ms=SPIN_DEADLINE_MS)
    return server.add_game(game.path), game.path


def test_a_game_in_a_worker_plays_as_on_the_page(published: Callable[[str], str], server: StaticServer,
                                                 play_page: Callable[..., PlayPage], engine: Engine) -> None:
    src = published("pong")
    inputs, recording = recording_file(server, "pong")
    on_page = play_page().open(src, ticks=40, fast=True, renderer="webgl2", inputs=inputs)
    on_page.wait_stopped()
    in_worker = play_page().open(src, ticks=40, fast=True, renderer="webgl2", inputs=inputs, worker=1)
    in_worker.wait_stopped()
    assert in_worker.page.evaluate("window.layerw.host") == "worker"
    assert in_worker.tick == on_page.tick == 40
    assert in_worker.state_hash() == on_page.state_hash() == native_run(served_build(server, src), engine, 40, recording)
    audio_hash = "window.layerw.audioHash()"
    assert in_worker.page.evaluate(audio_hash) == on_page.page.evaluate(audio_hash)  # the mix is the worker's
    assert in_worker.renderer()["name"] == "webgl2"
    pixels = in_worker.pixels(*game_size(in_worker))
    assert (pixels == on_page.pixels(*game_size(on_page))).all()
    assert pixels[..., :3].any()  # it drew something


def game_size(page: PlayPage) -> tuple[int, int]:
    width, height = page.page.evaluate("[window.layerw.config.width, window.layerw.config.height]")
    return int(width), int(height)


def test_a_runaway_call_stops_at_its_deadline_with_the_native_error_and_the_page_answers(
        spinning: tuple[str, Path], play_page: Callable[..., PlayPage], engine: Engine) -> None:
    src, path = spinning
    native = native_failure(path, engine)
    assert native["name"] == "GameTimedOut"
    page = play_page().open(src, worker=1, renderer="webgl2")
    page.wait(f"window.layerw.status === 'running' && window.layerw.tick >= {SPIN_AT}")
    spun = time.monotonic()
    answers, seen = [], []
    for _ in range(5):  # the worker is stuck in lw_tick now; the page's thread is not
        t0 = time.monotonic()
        seen.append(tuple(page.page.evaluate("[window.layerw.status, window.layerw.tick]")))
        answers.append((time.monotonic() - t0) * 1000)
    page.wait("window.layerw.status === 'failed'", timeout=10_000)
    failed_after = (time.monotonic() - spun) * 1000
    name, error, shown = page.page.evaluate(
        "[window.layerw.errorName, window.layerw.error, document.getElementById('error').textContent]")
    print(f"page answers while the worker spins: {[round(a) for a in answers]} ms; failed {failed_after:.0f} ms after "
          f"the spin was seen; {error}")
    # Each answer came from the page while the worker was still in the stuck call (a page blocked by the game
    # could answer only once the call was stopped and the game failed); their round trips are printed above.
    assert seen == [("running", seen[0][1])] * 5 and seen[0][1] >= SPIN_AT, seen
    assert name == native["name"] == "GameTimedOut"
    assert error == shown == native["message"].split("\n")[0]  # natively, its wasm frames follow
    assert page.page.evaluate("window.layerw.timeouts.length") == 1


def test_a_cart_stuck_in_update_is_stopped_too(server: StaticServer, play_page: Callable[..., PlayPage],
                                               tmp_path: Path) -> None:
    wat = ('(module (import "env" "memory" (memory 1)) (global $n (mut i32) (i32.const 0))'
           ' (func (export "update") (global.set $n (i32.add (global.get $n) (i32.const 1)))'
           f' (if (i32.eq (global.get $n) (i32.const {SPIN_AT})) (then {SPIN}))))')
    cart = tmp_path / "cart-spins.wasm"
    cart.write_bytes(wasmtime.wat2wasm(wat))
    build = build_cart(cart, tmp_path / "cart-spins-build", name="cart-spins")
    page = play_page().open(server.add_game(build), worker=1, renderer="webgl2")
    page.wait("window.layerw.status === 'failed'", timeout=15_000)
    name, error = page.page.evaluate("[window.layerw.errorName, window.layerw.error]")
    assert name == "GameTimedOut"
    assert error.startswith(f"cart-spins at tick {SPIN_AT - 1} in update: ran past its CPU deadline of")


def test_restore_puts_the_last_snapshot_into_a_fresh_worker(server: StaticServer, play_page: Callable[..., PlayPage],
                                                            tmp_path: Path) -> None:
    # spins in tick 89, when its own counter reaches 90; a restore (of the snapshot the worker took a second in)
    # puts the counter back with the rest of its memory, so each restored run spins at tick 89 again
    tick = f"{COUNTED} (if (i32.eq (i32.load (i32.const 4096)) (i32.const 90)) (then {SPIN}))"
    game = bundle(tmp_path / "spins-late", contract_wat(tick=tick), name="spins-late", tick_ms=DEADLINE_MS)
    page = play_page().open(server.add_game(game.path), worker=1, renderer="webgl2", restore=1)
    page.wait("window.layerw.status === 'failed'", timeout=30_000)
    timeouts = page.page.evaluate("window.layerw.timeouts")
    assert [t["tick"] for t in timeouts] == [89] * 4
    assert [t["restoredAt"] for t in timeouts][:3] == [timeouts[0]["restoredAt"]] * 3
    assert 0 < timeouts[0]["restoredAt"] <= 89 and timeouts[3]["restoredAt"] is None
    assert page.page.evaluate("window.layerw.errorName") == "GameTimedOut"


def test_a_room_game_in_a_worker_rejoins_its_seat_after_a_runaway_render(
        store_server: StoreServer, play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    # lw_render spins while the last tick's input is 30..59: only the page renders (the room never does),
    # and the room's state the rejoined worker loads is past those ticks. Half a second of ticks: a loaded
    # page drew no frame at all in a window of 10 of them. The room runs on through the spin: with a deadline
    # of REJOIN_DEADLINE_MS it has passed tick 30 - 8 + 60 = 82 by the rejoin, even from a page that
    # predicted 8 ticks ahead of it (with 300 ms it could still be inside the window: a second spin).
    last_tick = "(i32.load (i32.const 2048))"
    in_range = f"(i32.and (i32.ge_u {last_tick} (i32.const 30)) (i32.lt_u {last_tick} (i32.const 60)))"
    render = f"(if {in_range} (then {SPIN})) (i32.const 0)"
    game = bundle(tmp_path / "renders-late", contract_wat(render=render), name="renders-late", tick_ms=REJOIN_DEADLINE_MS)
    store_server.publish(game.path)
    page = play_page().goto(store_server.play_url("renders-late", room="spin", ticks=240, worker=1, restore=1))
    # The page's copy of the worker's session stats comes every 250 ms: until the first one after the WELCOME,
    # and again while the rejoined worker connects, it says NO_SEAT (a loaded page read 255 there). The seat is
    # read in the poll that first saw one.
    seat = page.first(f"window.layerw.session && window.layerw.session.seat !== {NO_SEAT}"
                      " && window.layerw.tick >= 5 ? window.layerw.session.seat : null")
    page.wait_stopped()
    timeouts = page.page.evaluate("window.layerw.timeouts")
    session = page.page.evaluate("({...window.layerw.session})")
    print(f"room timeouts {timeouts}; session {session}")
    assert len(timeouts) == 1 and timeouts[0]["call"] == "lw_render" and timeouts[0]["rejoined"]
    assert 30 <= timeouts[0]["tick"] < 65  # in the window (the same 5 ticks' slack past it as before it was widened)
    assert page.tick == 240 and session["seat"] == seat and session["heals"] == 0  # the same seat, in step with the room


def test_dev_checks_report_from_the_worker_as_on_the_page(server: StaticServer, play_page: Callable[..., PlayPage],
                                                          tmp_path: Path) -> None:
    src = server.add_game(build_sloppy(tmp_path))
    found = []
    for worker in (0, 1):
        page = play_page().open(src, ticks=40, renderer="webgl2", dev=1, worker=worker)
        page.wait_stopped()
        problems = page.page.evaluate("window.layerw.devProblems")
        found.append({p["kind"]: (p["tick"] if p["kind"] in TICK_KINDS else None, p["message"]) for p in problems})
    assert found[1] == found[0] and len(found[0]) == 6


def test_the_timing_overlay_shows_the_worker_s_frames(published: Callable[[str], str],
                                                      play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(published("pong"), renderer="webgl2", worker=1)
    page.wait_running()
    page.page.keyboard.press("F3")
    page.wait("window.layerw.timing().shown && window.layerw.timing().ms.render > 0 && window.layerw.tick > 30")
    assert page.page.locator("pre.layerw-timing").is_visible()
    ms = page.page.evaluate("window.layerw.timing().ms")
    assert ms["tick"] > 0 and ms["sound"] > 0 and ms["present"] > 0, ms


def test_the_page_forwards_keyboard_and_pointer_to_the_worker(published: Callable[[str], str],
                                                              play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(published("pong"), renderer="webgl2", worker=1)  # 800x600 viewport; pong is 320x240
    page.wait_running()
    box = page.page.locator("canvas").bounding_box()
    assert box is not None
    page.page.keyboard.down("w")
    page.page.mouse.move(box["x"] + box["width"] / 4, box["y"] + box["height"] / 4)  # game pixel (80, 60)
    page.page.mouse.down()
    start = page.tick
    page.wait(f"window.layerw.tick > {start + 3}")
    player = page.last_input()["players"][0]
    page.page.mouse.up()
    page.page.keyboard.up("w")
    assert key_down(player, "KeyW") and not key_down(player, "KeyS")
    assert abs(float(player["pointer"]["x"]) - 80) <= 0.5 and abs(float(player["pointer"]["y"]) - 60) <= 0.5, player


def test_webgpu_draws_on_the_worker_s_offscreen_canvas(published: Callable[[str], str], server: StaticServer,
                                                       play_page: Callable[..., PlayPage], webgpu_browser: Any) -> None:
    src = published("sprites")
    pages = []
    for worker in (0, 1):
        page = webgpu_page(play_page, webgpu_browser, server).open(src, ticks=30, fast=True, renderer="webgpu", worker=worker)
        page.wait_stopped()
        assert page.renderer()["name"] == "webgpu"
        pages.append(page)
    on_page, in_worker = pages
    assert in_worker.state_hash() == on_page.state_hash()
    assert (in_worker.pixels(*game_size(in_worker)) == on_page.pixels(*game_size(on_page))).all()


def test_a_start_function_that_never_returns_times_out_while_instantiating(
        server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine, tmp_path: Path) -> None:
    wat = contract_wat(extra=f"(func $spin {SPIN}) (start $spin)")
    game = bundle(tmp_path / "starts-spinning", wat, name="starts-spinning", tick_ms=DEADLINE_MS)
    with pytest.raises(GameTimedOut) as native:
        Game(Bundle.open(game.path), engine).close()
    cart = tmp_path / "cart-starts-spinning.wasm"
    cart.write_bytes(wasmtime.wat2wasm(f'(module (import "env" "memory" (memory 1)) (func $spin {SPIN}) (start $spin))'))
    cart_build = build_cart(cart, tmp_path / "cart-starts-spinning-build", name="cart-starts-spinning")
    cart_expected = "cart-starts-spinning at tick 0 in instantiate: ran past its CPU deadline"
    for src, expected in ((server.add_game(game.path), str(native.value).split("\n")[0]),
                          (server.add_game(cart_build), cart_expected)):
        page = play_page().open(src, worker=1, renderer="webgl2")
        page.wait("window.layerw.status === 'failed'", timeout=15_000)
        name, error = page.page.evaluate("[window.layerw.errorName, window.layerw.error]")
        assert name == "GameTimedOut" and error.startswith(expected), (src, error)


WATCHED_CART = """async (b64) => {
  const { CartGame } = await import("/web/cart-game.js");
  const events = [];
  let spans = 0; // the deadline's spans open (CallWatch begin/end)
  const watch = {
    enter: (call) => events.push(`enter ${call}`), leave: () => events.push("leave"),
    begin: (call) => { spans += 1; events.push(`begin ${call}`); }, end: () => { spans -= 1; events.push("end"); },
  };
  const real = { compile: WebAssembly.compile, instantiate: WebAssembly.instantiate };
  WebAssembly.compile = (...args) => { events.push(`compile in ${spans} spans`); return real.compile(...args); };
  WebAssembly.instantiate = (module, imports) => {
    const env = (imports && imports.env) || {};
    const what = imports && imports.host ? "the drawing module" : env.blit ? "the cart" : "other";
    events.push(`instantiate ${what} in ${spans} spans`);
    return real.instantiate(module, imports);
  };
  const config = { name: "watched", tick_rate: 60, width: 160, height: 160, memory_mb: 1, tick_ms: 1000, assets: [] };
  const module = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const game = await CartGame.create({ config, module, readAsset: async (name) => { throw new Error(name); } }, { watch });
  game.close();
  return events;
}"""


def test_a_cart_s_instantiation_deadline_spans_only_the_cart_s_own_instantiation(
        server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    """The call deadline's span over instantiating a cart holds the cart's instantiation alone (its
    wasm start function runs there): the host's drawing module (fetched, compiled, instantiated: a
    second at extreme load) and the cart's compile are outside it, as natively (cartgame.py arms the
    deadline over the cart's instantiation only); its start export is a call of its own."""
    cart = wasmtime.wat2wasm('(module (import "env" "memory" (memory 1)) (global $n (mut i32) (i32.const 0))'
                             ' (func $boot (global.set $n (i32.const 1))) (start $boot)'
                             ' (func (export "start")) (func (export "update")))')
    page = play_page().goto(f"{server.url}/web/abi.js").page  # any page of the server's origin, to import from
    events = [e for e in page.evaluate(WATCHED_CART, base64.b64encode(cart).decode()) if "other" not in e]
    compiles = [e for e in events if e.startswith("compile")]
    assert len(compiles) >= 2 and set(compiles) == {"compile in 0 spans"}, events  # the cart's and the drawing module's
    instantiating = events[next(i for i, e in enumerate(events) if e.startswith("instantiate the drawing module")):]
    assert instantiating[:6] == ["instantiate the drawing module in 0 spans", "begin instantiate",
                                 "instantiate the cart in 1 spans", "end", "enter start", "leave"], events


def test_an_asset_the_source_cannot_read_fails_the_worker_s_game_as_the_page_s(
        published: Callable[[str], str], server: StaticServer, play_page: Callable[..., PlayPage]) -> None:
    src = server.add_game(served_build(server, published("sprites")), "sprites-without-sheet")
    (server.files / "games" / "sprites-without-sheet" / "assets" / "sheet.png").unlink()
    failures = []
    for worker in (0, 1):
        page = play_page().open(src, renderer="webgl2", worker=worker)
        page.wait("window.layerw.status === 'failed'")
        failures.append(page.page.evaluate("[window.layerw.errorName, window.layerw.error]"))
    print(f"missing asset: {failures}")
    assert failures[1] == failures[0] and "sheet.png" in failures[0][1], failures


def test_the_page_s_speaker_plays_the_worker_s_mix(server: StaticServer, play_page: Callable[..., PlayPage],
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    src = server.add_game(build_game(tmp_path_factory.mktemp("worker-speaker")), "worker-speaker")
    taps = held_blip_taps(play_page().open(src, ticks=150, renderer="webgl2", audiotap=True, latency=2000, worker=1))
    assert taps["stats"]["dropped"] == 0
    played_equals_mix(taps, 150 * abi.SAMPLE_RATE // 60)  # what the page played hashes to the worker's audio hash


def test_a_browser_without_offscreen_canvas_plays_on_the_page_and_says_why(published: Callable[[str], str],
                                                                           play_page: Callable[..., PlayPage]) -> None:
    page = play_page()
    page.page.add_init_script("delete window.OffscreenCanvas")  # as in a browser that has none
    page.open(published("pong"), ticks=5, fast=True, renderer="webgl2")
    page.wait_stopped()
    host, note, hidden, said = page.page.evaluate(
        "[window.layerw.host, window.layerw.hostNote, document.getElementById('host').hidden, "
        "document.getElementById('host').textContent]")
    assert host == "page" and "no OffscreenCanvas" in note and not hidden and said == note  # shown, never silent
    page.open(published("pong"), ticks=5, renderer="webgl2", worker=1)  # asked for, it fails with the reason
    page.wait("window.layerw.status === 'failed'")
    assert "cannot run in a game worker" in page.page.evaluate("window.layerw.error")
    assert "no OffscreenCanvas" in page.page.evaluate("window.layerw.error")
