"""A failing game is the same named error in the browser as on the native host: the same class
(errors.js is generated from layerw/errors.py), the same parents, tick and trap code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerw.errors import LayerWError
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from tests.wat import bundle, contract_wat
from tests.web.conftest import PlayPage, StaticServer

TICKS = 10
AT_TICK = "(i32.eq (i32.load (i32.const 2048)) (i32.const {}))"  # the input block's tick
PROC_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))'
CASES: dict[str, dict[str, Any]] = {  # each fails at tick 3
    "unreachable": {"tick": f"(if {AT_TICK.format(3)} (then unreachable))"},
    "divide-by-zero": {"tick": f"(if {AT_TICK.format(3)} (then (drop (i32.div_s (i32.const 1) (i32.const 0)))))"},
    "out-of-bounds": {"tick": f"(if {AT_TICK.format(3)} (then (drop (i32.load (i32.const -1)))))"},
    "proc-exit": {"tick": f"(if {AT_TICK.format(3)} (then (call $proc_exit (i32.const 7))))", "imports": PROC_EXIT},
    # up to the 1 MiB cap at tick 2, one page past it at tick 3 (the native host refuses the grow)
    "out-of-memory": {"tick": f"(if {AT_TICK.format(2)} (then (drop (memory.grow (i32.const 15))))) "
                              f"(if {AT_TICK.format(3)} (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) "
                              "(then unreachable))))", "limits": {"memory_mb": 1}},
}
FIELDS = ("game", "tick", "trap_code", "code")

# In the page: load the game, tick until it fails, describe the error.
BROWSER_RUN = """async ([src, ticks]) => {
  const { openGame } = await import("/web/main.js");
  const { dirSource } = await import("/web/source.js");
  const { InputState } = await import("/web/input.js");
  const game = await openGame(await dirSource(src), { log: () => {} });
  const inputs = new InputState(1);
  try {
    for (let i = 0; i < ticks; i++) game.tick(inputs, []);
  } catch (e) {
    const chain = [];
    for (let c = e.constructor; c && c.name !== "ErrorBase" && c !== Error; c = Object.getPrototypeOf(c)) chain.push(c.name);
    const field = (k) => (k in e ? e[k] : null);
    return { name: e.name, chain, message: e.message, game: field("game"), tick: field("tick"),
             trap_code: field("trapCode"), code: field("code") };
  }
  return null;
}"""


def native_failure(path: Path, engine: Engine) -> dict[str, Any]:
    from layerw.bundle import Bundle

    with Game(Bundle.open(path), engine) as game:
        inputs = InputState()
        try:
            for _ in range(TICKS):
                game.tick(inputs)
        except LayerWError as e:
            chain = [c.__name__ for c in type(e).__mro__ if issubclass(c, LayerWError)]
            return {"name": type(e).__name__, "chain": chain, "message": str(e),
                    **{k: getattr(e, k, None) for k in FIELDS}}
    raise AssertionError(f"{path.name} ran {TICKS} ticks natively without failing")


@pytest.mark.parametrize("case", CASES)
def test_a_failing_game_is_the_same_named_error_on_both_hosts(case: str, server: StaticServer, engine: Engine,
                                                               play_page: Callable[..., PlayPage], tmp_path: Path) -> None:
    spec = CASES[case]
    name = f"fails-{case}"
    game_bundle = bundle(tmp_path / name, contract_wat(tick=spec["tick"], imports=spec.get("imports", "")), name=name,
                         **spec.get("limits", {}))
    native = native_failure(game_bundle.path, engine)
    page = play_page().goto(server.url + server.add_file("blank.html", "<!doctype html><title>errors</title>"))
    browser = page.page.evaluate(BROWSER_RUN, [server.url + server.add_game(game_bundle.path), TICKS])
    print(f"{case}: native {native['name']} ({native['message']}); browser {browser and browser['name']} "
          f"({browser and browser['message']})")
    assert browser is not None, f"{name} ran {TICKS} ticks in the browser without failing"
    assert browser["name"] == native["name"]
    assert browser["chain"] == native["chain"]
    assert browser["message"].split(":")[0] == native["message"].split(":")[0]  # "<game> at tick 3 in lw_tick"
    for field in FIELDS:
        assert browser[field] == native[field], field
    assert native["tick"] == 3 and native["game"] == name
