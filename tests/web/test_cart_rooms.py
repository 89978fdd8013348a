"""WASM-4 carts in rooms, in real Chromium: two pages and a native client (play_online) in one
multiplayer-cart room stay in step by inputs alone, and a page that joins mid-game restores the
room's native cart snapshot (64 KiB, disk, tones, globals, mixer) and converges; a byte flipped in
its memory is caught by its next HASH and healed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.toolchain.cart import build_cart
from tests.runtime.wasm4.conftest import CARTS
from tests.web.conftest import PlayPage
from tests.web.native_player import NativePlayer

TICKS = 1200  # twenty seconds of a room at 60 Hz: the late page loads while it runs (11 s at load 17)
NATIVE_KEYS = [{"tick": 40, "down": ["ArrowLeft", "ArrowUp"]}, {"tick": 120, "up": ["ArrowUp"]},
               {"tick": 200, "up": ["ArrowLeft"], "down": ["KeyX"]}, {"tick": 260, "up": ["KeyX"]}]


def test_pages_and_a_native_client_share_a_cart_room(tmp_path: Path, play_page: Callable[..., PlayPage],
                                                    engine: Engine) -> None:
    from tests.web.store_server import store_server

    build = build_cart(CARTS / "multiplayer", tmp_path / "multiplayer")
    with store_server(tmp_path / "store", snapshot_every=60) as server:
        server.publish(build)
        url = server.play_url("multiplayer", room="carts", ticks=TICKS, sound=0)
        first = play_page().goto(url)
        first.wait_running()
        native = NativePlayer(url, Bundle.open(build), engine, ticks=TICKS, keys=NATIVE_KEYS)
        first.hold("ArrowRight", 42)  # the first page's player walks: its input travels as frames
        first.wait("window.layerw.tick >= 120")
        late = play_page().goto(url)
        late.wait_running()
        joined = late.tick
        late.page.evaluate("window.layerw.client().game.ram[0x3000] ^= 0xff")  # a desync the room heals
        late.hold("ArrowDown", 18)
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
