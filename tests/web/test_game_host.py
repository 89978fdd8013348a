"""GameHost in Chromium: one host, two backends. A C game built once as a core module and as a
component reaches the same state hashes on both backends (and natively), traps with the same typed
error at the same tick, and stays failed; a module whose lw_io block lies is refused with the
native host's message."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerw import abi
from layerw.bundle import MODULE_NAME, Bundle
from layerw.errors import GameCrashed, InvalidModule
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.toolchain.build import build
from layerw.toolchain.scaffold import scaffold
from tests.wat import CMD_CAP, CMD_PTR, INPUT_PTR, STATE_BEGIN, bundle, contract_wat
from tests.web.conftest import PlayPage, StaticServer

SEED = (1 << 40) + 777  # both 32-bit halves non-zero
TRAP_TICK = 40  # the game traps in its 40th lw_tick, while the host's tick count is 39
HASH_EVERY = 10
# Seeded state that every tick changes, and a trap at TRAP_TICK.
TRAPPER = rf"""
#define TRAP_TICK {TRAP_TICK}
#include "layerw.h"
static struct {{ uint64_t rng; uint32_t ticks; uint32_t sum; }} g;
void lw_game_init(uint64_t seed) {{ g.rng = seed ^ 0x9E3779B97F4A7C15ull; }}
void lw_game_tick(const lw_input *in) {{
    g.rng = g.rng * 6364136223846793005ull + 1442695040888963407ull;
    g.sum += (uint32_t)(g.rng >> 33) + in->tick;
    if (++g.ticks == TRAP_TICK) __builtin_trap();
}}
void lw_game_render(lw_frame *f) {{ lw_rect(f, (float)(g.sum % 300), 10, 4, 4, 0, 0, LW_RGB(200, 100, 50)); }}
"""

# Runs in the page: start the game through main.js's openGame (the one place a backend is picked),
# tick it, hash every HASH_EVERY ticks, then tick on until it traps and once more after.
RUN = """async ({src, seed, hashEvery}) => {
  const { openGame } = await import("/web/main.js");
  const { dirSource } = await import("/web/source.js");
  const { InputState } = await import("/web/input.js");
  const errors = await import("/web/errors.js");
  const game = await openGame(await dirSource(src), { seed: BigInt(seed) });
  const inputs = new InputState(1);
  const hashes = [];
  let crash = null;
  for (let i = 0; i < 1000 && !crash; i++) {
    try {
      game.tick(inputs);
    } catch (e) {
      crash = { name: e.name, crashed: e instanceof errors.GameCrashed, trapCode: e.trapCode, game: e.game, tick: e.tick,
                message: e.message };
      break;
    }
    if (game.tickCount % hashEvery === 0) hashes.push(await game.stateHash());
  }
  let latched = null;
  try { game.tick(inputs); } catch (e) { latched = { name: e.name, message: e.message }; }
  game.close();
  let closed = null;
  try { await game.stateHash(); } catch (e) { closed = { name: e.name, message: e.message }; }
  return { kind: game.constructor.name, hashes, crash, latched, closed };
}"""

OPEN = """async (src) => {
  const { openGame } = await import("/web/main.js");
  const { dirSource } = await import("/web/source.js");
  try {
    await openGame(await dirSource(src));
    return null;
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}"""


def harness(server: StaticServer, play_page: Callable[..., PlayPage]) -> Any:
    """A blank page on the test server (a secure context, for WebCrypto) to import the client in."""
    return play_page().goto(server.url + server.add_file("host.html", "<!doctype html><title>host</title>")).page


@pytest.fixture(scope="module")
def trapper_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The trapping game built with --component, and a core build of the same compile."""
    root = tmp_path_factory.mktemp("trapper")
    game = scaffold(root / "trapper")
    (game / "main.c").write_text(TRAPPER)
    both = build(game, root / "both", component=True).out
    core = root / "core"
    core.mkdir()
    shutil.copy(both / MODULE_NAME, core / MODULE_NAME)
    shutil.copytree(both / "assets", core / "assets")
    (core / "layerw.toml").write_text((both / "layerw.toml").read_text().replace("enabled = true", "enabled = false"))
    return both, core


def test_core_and_component_backends_hash_alike_and_trap_alike(
        trapper_builds: tuple[Path, Path], server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine) -> None:
    both, core = trapper_builds
    page = harness(server, play_page)
    runs = {kind: page.evaluate(RUN, {"src": server.add_game(build_dir, f"trapper-{kind}"), "seed": str(SEED),
                                      "hashEvery": HASH_EVERY})
            for kind, build_dir in (("component", both), ("core", core))}
    assert runs["core"]["kind"] == "Game" and runs["component"]["kind"] == "ComponentGame"
    # natively: the same hashes, and the same trap
    native = []
    with Game(Bundle.open(core), engine, seed=SEED) as game:
        with pytest.raises(GameCrashed) as crashed:
            for _ in range(TRAP_TICK):
                game.tick(InputState())
                if game.tick_count % HASH_EVERY == 0:
                    native.append(game.state_hash())
    assert len(native) == (TRAP_TICK - 1) // HASH_EVERY
    assert runs["core"]["hashes"] == runs["component"]["hashes"] == native
    name = Bundle.open(core).config.name
    for kind, call in (("core", "lw_tick"), ("component", "tick")):
        crash, latched, closed = runs[kind]["crash"], runs[kind]["latched"], runs[kind]["closed"]
        assert crash is not None, f"{kind}: the game never trapped"
        assert crash["name"] == "GameCrashed" and crash["crashed"], crash
        assert (crash["game"], crash["tick"], crash["trapCode"]) == (name, TRAP_TICK - 1, crashed.value.trap_code), crash
        assert crash["message"].startswith(f"{name} at tick {TRAP_TICK - 1} in {call}: trapped: "), crash
        assert latched is not None and latched["name"] == "GameError", latched
        assert latched["message"].startswith(f"{name} already failed at tick {TRAP_TICK - 1}"), latched
        assert closed == {"name": "GameError", "message": f"{name} is closed: start it again"}
    assert crashed.value.tick == TRAP_TICK - 1 and crashed.value.trap_code == "unreachable"


def lying_io(**fields: int) -> bytes:
    """An lw_io block with some fields replaced."""
    io = {"magic": abi.IO_MAGIC, "abi_version": abi.ABI_VERSION, "input_ptr": INPUT_PTR, "input_size": abi.INPUT.size,
          "cmd_ptr": CMD_PTR, "cmd_capacity": CMD_CAP, "state_begin": STATE_BEGIN, "reserved": 0}
    io.update(fields)
    return struct.pack("<8I", *io.values())


LW_INIT_OUTSIDE = '(func (export "lw_init") (param i32 i32) (result i32) (i32.const 70000))'
LIARS = {
    "magic": (contract_wat(io=lying_io(magic=0xDEADBEEF)), "speaks ABI"),
    "abi": (contract_wat(io=lying_io(abi_version=abi.ABI_VERSION + 1)), "speaks ABI"),
    "input-size": (contract_wat(io=lying_io(input_size=abi.INPUT.size - 4)), "input block is"),
    "input-outside": (contract_wat(io=lying_io(input_ptr=65536 - 64)), "outside memory"),
    "commands-outside": (contract_wat(io=lying_io(cmd_ptr=60000, cmd_capacity=8192)), "outside memory"),
    "commands-tiny": (contract_wat(io=lying_io(cmd_capacity=abi.COMMAND_SCRATCH - 1)), "outside memory or out of order"),
    "state-after-commands": (contract_wat(io=lying_io(state_begin=CMD_PTR + 4)), "out of order"),
    "io-outside": (contract_wat(exports=("lw_tick", "lw_render"), extra=LW_INIT_OUTSIDE), "not an lw_io address"),
}


def test_lying_lw_io_is_refused_as_natively(server: StaticServer, play_page: Callable[..., PlayPage], engine: Engine,
                                           tmp_path: Path) -> None:
    page = harness(server, play_page)
    for case, (wat, words) in LIARS.items():
        liar = bundle(tmp_path / case, wat, name=f"liar-{case}")
        with pytest.raises(InvalidModule) as native:
            Game(liar, engine)
        got = page.evaluate(OPEN, server.add_game(tmp_path / case))
        assert got is not None, f"{case}: the browser started a lying module"
        assert got["name"] == "InvalidModule", (case, got)
        assert words in got["message"], (case, got)
        assert got["message"] == str(native.value), case
