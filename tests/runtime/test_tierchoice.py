"""Tier.AUTO, the default: the AOT tier where it keeps every guarantee, wasmtime elsewhere, and the
log line that says which and why."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from layerw.bundle import Bundle
from layerw.errors import ContractError, InvalidModule, ToolchainError
from layerw.runtime import DEFAULT_TIER, Tier, open_game
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import CpuLimit, Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from layerw.runtime.tierchoice import choose
from layerw.runtime.worker import WorkerGame
from tests.conftest import GAMES
from tests.runtime.wasm4.conftest import wat_cart
from tests.wat import bundle, contract_wat

CART = '(module (import "env" "memory" (memory 1 1)) (func (export "update")))'


def tier_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "layerw.tier"]


def test_a_core_module_under_the_default_runs_on_the_aot_tier(tmp_path: Path, aot_compiler: AotCompiler,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    assert DEFAULT_TIER is Tier.AUTO
    b = bundle(tmp_path / "g", contract_wat(tick="(nop)"))
    with caplog.at_level(logging.INFO, logger="layerw.tier"), open_game(b) as game:
        assert isinstance(game, AotGame)
        game.tick(InputState())
    assert tier_lines(caplog) == [f"tier: aot for hostile ({choose(b, CpuLimit.EPOCH).reason})"]


@pytest.mark.parametrize("limit", [CpuLimit.FUEL, CpuLimit.OFF, CpuLimit.WATCHDOG])
def test_a_cpu_limit_asked_for_runs_on_wasmtime(limit: CpuLimit, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = bundle(tmp_path / "g", contract_wat(tick="(nop)"))
    with caplog.at_level(logging.INFO, logger="layerw.tier"), open_game(b, cpu_limit=limit) as game:
        assert isinstance(game, WorkerGame if limit is CpuLimit.WATCHDOG else Game)
    assert tier_lines(caplog) == [f"tier: wasmtime for hostile (cpu limit {limit.value} asked for: a wasmtime bound; "
                                  "the AOT tier has its own per-call deadline, which stands for the default epoch limit)"]


def test_components_carts_and_debuggers_run_on_wasmtime(built: Callable[[Path], Path], tmp_path: Path) -> None:
    component = choose(Bundle.open(built(GAMES / "orbs")), CpuLimit.EPOCH)
    assert (component.tier, component.reason) == (Tier.WASMTIME, "a component: the AOT tier runs core modules")
    cart = choose(wat_cart(tmp_path, CART), CpuLimit.EPOCH)
    assert (cart.tier, cart.reason) == (Tier.WASMTIME, "a WASM-4 cart: the AOT tier runs core modules")
    debugged = choose(bundle(tmp_path / "g", contract_wat()), CpuLimit.OFF, debug_info=True)
    assert (debugged.tier, debugged.reason) == (Tier.WASMTIME, "a debugger follows the guest only on wasmtime")


class LongerDeadline(Engine):
    """An engine that arms every call with a deadline of its own (as a replay's does)."""

    def arm(self, store: wasmtime.Store, deadline_ms: int) -> None:
        super().arm(store, 10 * deadline_ms)


def test_an_engine_with_its_own_bound_runs_its_games_on_wasmtime(tmp_path: Path) -> None:
    with LongerDeadline(CpuLimit.EPOCH, cache=tmp_path / "modules") as engine, \
            start_game(bundle(tmp_path / "g", contract_wat(tick="(nop)")), engine) as game:
        assert isinstance(game, Game)


@pytest.mark.parametrize("error", [InvalidModule("the AOT tier cannot translate this module (x)"),
                                   ToolchainError("zig cc failed to compile the module for the AOT tier")])
def test_a_module_the_aot_tier_cannot_compile_runs_on_wasmtime_with_a_warning(
        error: Exception, tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    compiler = AotCompiler(cache=tmp_path / "aot")

    def refuse(*args: object, **kwargs: object) -> Path:
        raise error

    monkeypatch.setattr(compiler, "module", refuse)
    b = bundle(tmp_path / "g", contract_wat(tick="(nop)"))
    with caplog.at_level(logging.INFO, logger="layerw.tier"), start_game(b, engine, compiler=compiler) as game:
        assert isinstance(game, Game)
    [warning] = [r for r in caplog.records if r.name == "layerw.tier"]
    assert warning.levelno == logging.WARNING and str(error) in warning.getMessage()
    with pytest.raises(type(error), match=re.escape(str(error))):  # asked for by name, the tier's error stands
        start_game(b, engine, compiler=compiler, tier=Tier.AOT)


def test_a_bad_module_fails_under_the_default_as_on_wasmtime(tmp_path: Path, engine: Engine) -> None:
    b = bundle(tmp_path / "g", contract_wat(exports=("lw_init", "lw_tick")))
    with pytest.raises(ContractError) as on_wasmtime:
        start_game(b, engine, tier=Tier.WASMTIME)
    with pytest.raises(ContractError, match=re.escape(str(on_wasmtime.value))):
        start_game(b, engine)
