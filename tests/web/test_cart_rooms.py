"""WASM-4 carts in rooms, in real Chromium: two pages and a native client (play_online) in one
multiplayer-cart room stay in step by inputs alone, and a page that joins mid-game restores the
room's native cart snapshot (64 KiB, disk, tones, globals, mixer) and converges; a byte flipped in
its memory is caught by its next HASH and healed. Four seats (two pages, two native clients) each
show their own player's view of a NETPLAY cart on one hash chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import wasmtime

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.inputs import InputState
from layerw.runtime.wasm4.cartgame import CartGame
from layerw.session.replica import Replica
from layerw.toolchain.cart import build_cart
from tests.runtime.wasm4.conftest import CARTS
from tests.runtime.wasm4.netplay_cart import NETPLAY_CART, band, drawn_columns
from tests.web.conftest import LOAD_TIMEOUT_MS, PlayPage
from tests.web.native_player import NativePlayer

BACKGROUND = np.array([0xE0, 0xF8, 0xCF], np.uint8)  # WASM-4's default palette colour 0, what a cleared frame shows
TICKS = 1200  # twenty seconds of a room at 60 Hz: the late page loads while it runs (11 s at load 17)
NATIVE_KEYS = [{"tick": 40, "down": ["ArrowLeft", "ArrowUp"]}, {"tick": 120, "up": ["ArrowUp"]},
               {"tick": 200, "up": ["ArrowLeft"], "down": ["KeyX"]}, {"tick": 260, "up": ["KeyX"]}]


def test_pages_and_a_native_client_share_a_cart_room(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                    engine: Engine) -> None:
    from tests.web.store_server import store_server

    build = build_cart(CARTS / "multiplayer", tmp_path / "multiplayer")
    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(build)
        url = server.play_url("multiplayer", room="carts", ticks=TICKS, sound=0, worker=0)  # the late page's RAM is changed
        first = play_page().goto(url)
        first.wait_running()
        native = NativePlayer(url, Bundle.open(build), engine, ticks=TICKS, keys=NATIVE_KEYS)
        first.hold("ArrowRight", 42)  # the first page's player walks: its input travels as frames
        first.wait("window.layerw.tick >= 120")
        late = play_page().goto(url)
        late.wait_running()
        joined = late.tick
        late.hold("ArrowDown", 18)
        late.desync_until_healed("window.layerw.client().game.ram[0x3000] += 1", TICKS - 120)  # a byte the room heals
        late.wait_stopped()
        first.wait_stopped()
        outcome = native.outcome()
        sessions = [dict(p.page.evaluate("({...window.layerw.session})")) for p in (first, late)]
        print(f"cart room: late page joined at tick {joined}; sessions {sessions}; native seat {outcome.seat}")
        assert 120 <= joined < TICKS - 120
        assert len({sessions[0]["seat"], sessions[1]["seat"], outcome.seat}) == 3
        assert sessions[0]["inputsSent"] >= 2 and sessions[1]["inputsSent"] >= 2
        assert sessions[0]["heals"] == 0 and sessions[1]["heals"] >= 1
        assert first.tick == late.tick == outcome.tick == TICKS
        assert first.state_hash() == late.state_hash() == outcome.state_hash



@pytest.mark.parametrize("worker", [False, True])
def test_each_page_draws_its_own_player_from_netplay(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                      engine: Engine, worker: bool) -> None:
    """Two pages (their games on the page, or in game workers) and a native client in a room of a
    cart that draws the local player's view from NETPLAY: each page shows its own seat's band, and
    every copy keeps the room's hash chain (no heal anywhere, the same final hash)."""
    from tests.web.store_server import store_server

    source = tmp_path / "netplay.wasm"
    source.write_bytes(wasmtime.wat2wasm(NETPLAY_CART))
    build = build_cart(source, tmp_path / "netplay")
    # The first page starts the room; the second page and then the native client join while it runs, and each
    # copy stops at the room's tick `ticks`, so all must join before it: 300 ticks (5 s) was too few at load 20-26,
    # where the room was at tick 741 once both pages ran, before the native client had joined.
    ticks = TICKS
    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(build)
        url = server.play_url("netplay", room="views", ticks=ticks, sound=0, **({"worker": 1} if worker else {}))
        pages = [play_page().goto(url), play_page().goto(url)]
        for page in pages:
            page.wait_running()
        running = [page.tick for page in pages]  # once both run: the native client joins after this
        native = NativePlayer(url, Bundle.open(build), engine, ticks=ticks, keys=NATIVE_KEYS)
        # Inputs change the state the hashes cover (as many as land before the room's last tick: a loaded
        # machine may run the pages late in it; what is asserted holds with any inputs, or none).
        pages[0].hold("KeyX", 12, or_stop=True)
        for page in pages:
            page.wait_stopped()
        outcome = native.outcome()
        sessions = [dict(p.page.evaluate("({...window.layerw.session})")) for p in pages]
        frames = [p.pixels(160, 160) for p in pages]
        hashes = [p.state_hash() for p in pages]
    seats = [int(s["seat"]) for s in sessions]
    print(f"netplay cart room: both pages ran at ticks {running}, seats {seats}; native seat {outcome.seat}")
    assert max(running) < ticks  # every page played in the room before its last tick
    assert len({*seats, outcome.seat}) == 3
    assert [s["heals"] for s in sessions] == [0, 0] and outcome.heals == 0
    assert pages[0].tick == pages[1].tick == outcome.tick == ticks
    assert hashes[0] == hashes[1] == outcome.state_hash
    for seat, frame in zip(seats, frames, strict=True):
        drawn = np.flatnonzero((frame[:, :, :3] != BACKGROUND).any(axis=(0, 2)))  # columns not all palette colour 0
        assert (int(drawn[0]), int(drawn[-1])) == band(seat)  # NETPLAY was 0b100 | seat while update ran


class NativeView:
    """What a native client's screen showed last: the first and last drawn columns (netplay_cart)."""

    def __init__(self) -> None:
        self.columns: tuple[int, int] | None = None

    def seen(self, replica: Replica, local: InputState) -> None:
        assert isinstance(replica.game, CartGame)
        self.columns = drawn_columns(replica.game.ram)


def test_four_seats_two_pages_and_two_native_clients_each_show_their_own_player(
        tmp_path: Path, play_page: Callable[..., PlayPage], engine: Engine) -> None:
    """A full WASM-4 room: two pages and two native clients take its four seats; each copy shows its
    own seat's band (NETPLAY was 0b100 | seat while update ran) and all four keep the room's one hash
    chain (no heal anywhere, the same final hash)."""
    from tests.web.store_server import store_server

    source = tmp_path / "netplay.wasm"
    source.write_bytes(wasmtime.wat2wasm(NETPLAY_CART))
    build = build_cart(source, tmp_path / "netplay")
    # The natives join at once and start the room; both pages load while it runs (9 s at load 25 once, but the
    # room was at tick 1038 of 1200 when both ran at load 20-25 in this test's run beside five other sessions)
    ticks = TICKS * 3 // 2
    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(build)
        url = server.play_url("netplay", room="four", ticks=ticks, sound=0)
        views = [NativeView(), NativeView()]
        natives = [NativePlayer(url, Bundle.open(build), engine, ticks=ticks, keys=NATIVE_KEYS if i == 0 else None,
                                on_frame=view.seen) for i, view in enumerate(views)]
        pages = [play_page().goto(url), play_page().goto(url)]
        for page in pages:
            page.wait_running()
        joined = [page.tick for page in pages]
        pages[1].hold("KeyX", 12, or_stop=True)  # inputs from a page too (as many as land before the last tick)
        for page in pages:
            page.wait_stopped(LOAD_TIMEOUT_MS + ticks * 1000 // 60)  # the room's 30 s may all lie ahead
        outcomes = [native.outcome() for native in natives]
        sessions = [dict(p.page.evaluate("({...window.layerw.session})")) for p in pages]
        frames = [p.pixels(160, 160) for p in pages]
        hashes = [p.state_hash() for p in pages]
    seats = [int(s["seat"]) for s in sessions]
    print(f"four-seat cart room: pages joined at ticks {joined}, seats {seats}; natives' seats {[o.seat for o in outcomes]}")
    assert max(joined) < ticks  # every copy played in the room before its last tick
    assert sorted([*seats, *(o.seat for o in outcomes)]) == [0, 1, 2, 3]
    assert [s["heals"] for s in sessions] == [0, 0] and [o.heals for o in outcomes] == [0, 0]
    assert [p.tick for p in pages] == [o.tick for o in outcomes] == [ticks, ticks]
    assert hashes[0] == hashes[1] == outcomes[0].state_hash == outcomes[1].state_hash
    for seat, frame in zip(seats, frames, strict=True):
        drawn = np.flatnonzero((frame[:, :, :3] != BACKGROUND).any(axis=(0, 2)))
        assert (int(drawn[0]), int(drawn[-1])) == band(seat)
    assert [view.columns for view in views] == [band(o.seat) for o in outcomes]
