"""Dev checks in the page (?dev=1): the game that makes each silent mistake gets each reported once,
as the native host reports it, in window.layerw.devProblems and on the console; without ?dev nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.runtime.test_devchecks import SLOPPY, build_sloppy
from tests.web.conftest import PlayPage, StaticServer

TICK_KINDS = {"missing-asset": 2, "host-call": 3, "guard-write": 6}  # found by lw_tick: the same tick as natively
RENDER_KINDS = ("render-state", "unknown-texture", "source-rect")  # found by lw_render: when the page draws


def test_the_page_reports_what_the_native_host_does(server: StaticServer, play_page: Callable[..., PlayPage],
                                                     tmp_path: Path) -> None:
    src = server.add_game(build_sloppy(tmp_path))
    page = play_page().open(src, ticks=40, renderer="webgl2", dev=1)
    page.wait_stopped()
    problems = page.page.evaluate("window.layerw.devProblems")
    kinds = {p["kind"]: p for p in problems}
    assert len(problems) == len(kinds) == 6, problems
    for kind, tick in TICK_KINDS.items():
        assert kinds[kind]["tick"] == tick, problems
    assert all(kinds[k]["tick"] >= 7 for k in RENDER_KINDS), problems  # the game makes them from tick 6 on
    assert "no asset named 'sprit.png'" in kinds["missing-asset"]["message"]
    assert "asset_read refused: handle 99" in kinds["host-call"]["message"]
    assert "first at address 8" in kinds["guard-write"]["message"]
    assert "texture 77: no asset has this handle" in kinds["unknown-texture"]["message"]
    assert "source rect (4, 4, 8, 8)" in kinds["source-rect"]["message"]
    assert sum("dev check" in line for line in page.console) == 6
    plain = play_page().open(src, ticks=40, renderer="webgl2")
    plain.wait_stopped()
    assert plain.page.evaluate("window.layerw.devProblems") == [] and not any("dev check" in line for line in plain.console)


def test_the_page_lists_each_problem_once_with_its_tick_and_source_line(server: StaticServer,
                                                                        play_page: Callable[..., PlayPage],
                                                                        tmp_path: Path) -> None:
    src = server.add_game(build_sloppy(tmp_path), "sloppy-overlay")
    page = play_page().open(src, ticks=40, renderer="webgl2", dev=1)
    page.wait_stopped()
    lines = SLOPPY.splitlines()
    misspelt = next(i for i, line in enumerate(lines, 1) if "sprit.png" in line)
    bad_handle = next(i for i, line in enumerate(lines, 1) if "lw_asset_read(99" in line)
    page.wait("document.querySelectorAll('#dev-problems li .where:not(:empty)').length === 2")
    rows = page.page.evaluate("""[...document.querySelectorAll('#dev-problems li')].map((li) => ({
        kind: li.dataset.kind, tick: li.querySelector('.tick').textContent, where: li.querySelector('.where').textContent,
        message: li.querySelector('.message').textContent}))""")
    problems = page.page.evaluate("window.layerw.devProblems")
    assert [r["kind"] for r in rows] == [p["kind"] for p in problems] and len(rows) == 6  # each once, as found
    assert all(r["tick"] == f"tick {p['tick']}" and r["message"] == p["message"] for r, p in zip(rows, problems, strict=True))
    where = {r["kind"]: r["where"] for r in rows}
    assert where["missing-asset"] == f"at lw_game_tick (main.c:{misspelt})"  # the game's line, not layerw.h's lw_asset
    assert where["host-call"] == f"at lw_game_tick (main.c:{bad_handle})"
    assert {p["kind"]: p.get("source") for p in problems}["missing-asset"] == f"main.c:{misspelt}"
    assert all(where[k] == "" for k in RENDER_KINDS)  # found after lw_render: no call site to name
    page.page.click("#dev-problems li[data-kind='guard-write'] button.dismiss")
    kinds = page.page.evaluate("[...document.querySelectorAll('#dev-problems li')].map((li) => li.dataset.kind)")
    assert len(kinds) == 5 and "guard-write" not in kinds
    assert page.page.is_visible("#dev-problems")
    page.page.click("#dev-problems button.dismiss-all")
    assert page.page.evaluate("document.querySelectorAll('#dev-problems li').length") == 0
    assert not page.page.is_visible("#dev-problems")
    plain = play_page().open(src, ticks=5, renderer="webgl2")
    plain.wait_stopped()
    assert plain.page.evaluate("document.getElementById('dev-problems')") is None


def test_a_game_on_the_page_s_thread_is_checked_alike(server: StaticServer, play_page: Callable[..., PlayPage],
                                                      tmp_path: Path) -> None:
    """?worker=0: boot's checkContract, where the tests above run the checks in a game worker."""
    page = play_page().open(server.add_game(build_sloppy(tmp_path), "sloppy-page"), ticks=40, renderer="webgl2", dev=1,
                            worker=0)
    page.wait_stopped()
    assert page.page.evaluate("window.layerw.host") == "page"
    problems = page.page.evaluate("window.layerw.devProblems")
    ticks = {p["kind"]: p["tick"] for p in problems}
    assert len(problems) == len(ticks) == 6 and set(ticks) == set(TICK_KINDS) | set(RENDER_KINDS), problems
    assert all(ticks[kind] == tick for kind, tick in TICK_KINDS.items()), problems
