"""A page in a room whose game changes state in lw_render (the room never renders, the page does):
the room heals it, and the page says why in session.firstHeal and on the console."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold
from tests.session.test_room_desync import DRAWS_STATE
from tests.web.conftest import PlayPage
from tests.web.store_server import store_server


def test_a_healed_page_names_render(play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    src = scaffold(tmp_path / "drawstate")
    (src / "main.c").write_text(DRAWS_STATE)
    out = build(src, tmp_path / "out").out
    with store_server(tmp_path / "store", hash_every=10) as server:
        server.publish(out)
        page = play_page().goto(server.play_url("drawstate", room="d", ticks=240))
        page.wait("window.layerw.session && window.layerw.session.heals >= 1", timeout=60_000)
        session = dict(page.page.evaluate("({...window.layerw.session})"))
        assert session["firstHeal"]["renderChangesState"] is True, session
        assert any("desync: the room's state replaces this page's" in line and "lw_render changes the game state"
                   in line for line in page.console), page.console
