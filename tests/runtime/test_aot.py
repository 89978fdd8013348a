"""The AOT tier against wasmtime: the same frames, hashes and errors, and its own sandbox (deadline
in every entry point and inside host imports, memory cap, stack overflow, cache)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from layerw import abi
from layerw.bundle import Bundle
from layerw.errors import GameCrashed, GameError, GameExited, GameOutOfMemory, GameTimedOut, UnsupportedTier
from layerw.runtime import Tier, open_game
from layerw.runtime.aot import translation
from layerw.runtime.aot.aotgame import AotGame
from layerw.runtime.aot.compiler import AotCompiler
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.gamehost import GameHost
from layerw.runtime.inputs import InputState
from layerw.runtime.start import start_game
from tests.conftest import GAMES
from tests.hostile.modules import GROW_BOMB, LOOP, LOOPS, RECURSE
from tests.waiting import SlowLog
from tests.wat import bundle, contract_wat

LIMITS = {"memory_mb": 4, "tick_ms": 50}
TICKS = 240
CORE_GAMES = ["sprites", "pong", "asteroids"]


def scripted(tick: int) -> InputState:
    """Inputs that change every few ticks: keys held and released, the pointer moving."""
    state = InputState()
    for i, key in enumerate(("ArrowLeft", "ArrowRight", "ArrowUp", "Space")):
        state.key(0, key, (tick // (7 + 3 * i)) % 2 == 1)
    state.pointer(0, (tick * 5) % 320, (tick * 3) % 240, buttons=1 if tick % 11 < 4 else 0)
    return state


@pytest.mark.parametrize("name", CORE_GAMES)
def test_sample_game_matches_wasmtime(name: str, built: Callable[[Path], Path], engine: Engine,
                                      aot_compiler: AotCompiler) -> None:
    b = Bundle.open(built(GAMES / name))
    with Game(b, engine, seed=7) as wasm, AotGame(b, engine, aot_compiler, seed=7) as aot:
        for tick in range(TICKS):
            inputs = scripted(tick)
            wasm.tick(inputs)
            aot.tick(inputs)
            assert bytes(aot.render()) == bytes(wasm.render()), f"{name}: command lists differ at tick {tick}"
            if tick % 60 == 59:
                assert aot.state_hash() == wasm.state_hash(), f"{name}: state hashes differ at tick {tick}"
        assert aot.audio_hash() == wasm.audio_hash()
        snap = aot.snapshot()
        assert snap.memory == wasm.snapshot().memory
        wasm.restore(snap)  # a snapshot taken on one tier continues on the other
        wasm.tick(scripted(TICKS))
        aot.tick(scripted(TICKS))
        assert aot.state_hash() == wasm.state_hash()


def test_open_game_runs_the_aot_tier(built: Callable[[Path], Path]) -> None:
    b = Bundle.open(built(GAMES / "pong"))
    with open_game(b, tier=Tier.AOT, seed=3) as game:
        assert isinstance(game, AotGame) and isinstance(game, GameHost)
        game.tick(InputState())
        assert game.tick_count == 1


def test_components_are_refused(built: Callable[[Path], Path], engine: Engine, aot_compiler: AotCompiler) -> None:
    b = Bundle.open(built(GAMES / "orbs"))
    with pytest.raises(UnsupportedTier, match="the AOT tier runs core modules"):
        start_game(b, engine, tier=Tier.AOT, compiler=aot_compiler)


def _run(b: Bundle, engine: Engine, compiler: AotCompiler, ticks: int = 3) -> GameError | None:
    try:
        with AotGame(b, engine, compiler) as game:
            for _ in range(ticks):
                game.tick(InputState())
            game.render()
    except GameError as e:
        return e
    return None


@pytest.mark.parametrize("entry", list(LOOPS))
def test_infinite_loop_in_every_entry_point(entry: str, tmp_path: Path, engine: Engine,
                                            aot_compiler: AotCompiler) -> None:
    err = _run(bundle(tmp_path, LOOPS[entry], **LIMITS), engine, aot_compiler)
    assert isinstance(err, GameTimedOut), err
    where, tick = {"start": ("instantiate", 0), "lw_render": ("lw_render", 3)}.get(entry, (entry, 0))
    assert f"hostile at tick {tick} in {where}: ran past its CPU deadline of 50 ms" in str(err)


def test_deadline_inside_a_host_import_waits_for_it(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """A guest that spends its time calling the host: the deadline passes while Python runs the
    import, and the trap is taken when the import returns to guest code."""
    log_forever = "(loop (call $log (i32.const 1) (i32.const 0) (i32.const 0)) (br 0))"
    wat = contract_wat(imports='(import "layerw" "log" (func $log (param i32 i32 i32)))', tick=log_forever)
    b = bundle(tmp_path, wat, **LIMITS)
    with AotGame(b, engine, aot_compiler) as game:
        with pytest.raises(GameTimedOut, match="in lw_tick: ran past its CPU deadline"):
            game.tick(InputState())
        with pytest.raises(GameError, match="already failed"):
            game.tick(InputState())


def test_the_deadline_counts_cpu_time_not_waiting(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """The deadline is the calling thread's CPU time: a tick that waits four times its deadline in a
    host import (as a thread the scheduler keeps waiting on a loaded machine would) is not timed out,
    while one that spins is (test_deadline_inside_a_host_import_waits_for_it)."""
    log_twice = "(call $log (i32.const 3) (i32.const 0) (i32.const 0)) (call $log (i32.const 3) (i32.const 0) (i32.const 0))"
    wat = contract_wat(imports='(import "layerw" "log" (func $log (param i32 i32 i32)))', tick=log_twice)
    with AotGame(bundle(tmp_path, wat, **LIMITS), engine, aot_compiler) as game:
        with SlowLog(2 * LIMITS["tick_ms"] / 1000).on(game.log.logger) as waits:
            game.tick(InputState())
        assert waits.records == 2 and game.tick_count == 1


def test_restore_after_a_timeout(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    counter = "(i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))"
    loop_at_3 = f"{counter} (if (i32.eq (i32.load (i32.const 4096)) (i32.const 3)) (then {LOOP}))"
    b = bundle(tmp_path, contract_wat(tick=loop_at_3), **LIMITS)
    with AotGame(b, engine, aot_compiler) as game:
        game.tick(InputState())
        snap = game.snapshot()
        game.tick(InputState())
        with pytest.raises(GameTimedOut):
            game.tick(InputState())
        game.restore(snap)
        assert game.tick_count == 1
        game.tick(InputState())
        assert int.from_bytes(game.memory.read(None, 4096, 4100), "little") == 2


def test_memory_cap(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    err = _run(bundle(tmp_path / "grow", contract_wat(tick=GROW_BOMB), **LIMITS), engine, aot_compiler)
    assert isinstance(err, GameOutOfMemory) and "cap of 4 MiB" in str(err), err
    err = _run(bundle(tmp_path / "big", contract_wat(pages=65536), **LIMITS), engine, aot_compiler)
    assert isinstance(err, GameOutOfMemory) and "initial memory" in str(err), err
    grow_one = "(drop (memory.grow (i32.const 1)))"  # grows answer -1 at the cap, as on wasmtime
    with AotGame(bundle(tmp_path / "ok", contract_wat(tick=grow_one), **LIMITS), engine, aot_compiler) as game:
        for _ in range(200):
            game.tick(InputState())
        assert game.memory.data_len() == 4 << 20


def test_stack_overflow(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    wat = contract_wat(tick="(drop (call $down (i32.const 0)))", extra=RECURSE)
    err = _run(bundle(tmp_path, wat, **LIMITS), engine, aot_compiler)
    assert isinstance(err, GameCrashed) and err.trap_code == "stack_overflow", err
    assert "in lw_tick: trapped: call stack exhausted" in str(err)


def test_stack_overflow_on_another_thread(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    wat = contract_wat(tick="(drop (call $down (i32.const 0)))", extra=RECURSE)
    errors: list[BaseException | None] = []
    thread = threading.Thread(target=lambda: errors.append(_run(bundle(tmp_path, wat, **LIMITS), engine, aot_compiler)))
    thread.start()
    thread.join()
    assert isinstance(errors[0], GameCrashed) and errors[0].trap_code == "stack_overflow", errors


def test_proc_exit_and_traps_match_wasmtime(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    exit_ = contract_wat(imports=f'(import "{abi.WASI_MODULE}" "proc_exit" (func $exit (param i32)))',
                         tick="(call $exit (i32.const 5))")
    div = contract_wat(tick="(drop (i32.div_s (i32.const 1) (i32.const 0)))")
    oob = contract_wat(tick="(drop (i32.load (i32.const -4)))")
    for i, wat in enumerate((exit_, div, oob)):
        b = bundle(tmp_path / str(i), wat, **LIMITS)
        aot = _run(b, engine, aot_compiler)
        try:
            with Game(b, engine) as game:
                game.tick(InputState())
            wasm: GameError | None = None
        except GameError as e:
            wasm = e
        # the same words, and the same guest frames of the backtrace (names from the name section)
        assert type(aot) is type(wasm) and str(aot) == str(wasm), (aot, wasm)
        assert getattr(aot, "trap_code", None) == getattr(wasm, "trap_code", None)
    assert isinstance(aot, GameCrashed) and not isinstance(aot, GameExited)


def test_timeouts_on_two_threads_at_once(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """The watchdog's signal reaches each late thread's own guest: two runaway games time out independently."""
    b = bundle(tmp_path, LOOPS["lw_tick"], **LIMITS)
    errors: list[GameError | None] = []
    threads = [threading.Thread(target=lambda: errors.append(_run(b, engine, aot_compiler))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 2 and all(isinstance(e, GameTimedOut) for e in errors), errors


def test_second_start_hits_the_cache(tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    compiler = AotCompiler(cache=tmp_path / "cache")
    b = bundle(tmp_path / "game", contract_wat(tick="(nop)"), **LIMITS)
    with caplog.at_level(logging.INFO, logger="layerw.aot"):
        AotGame(b, engine, compiler).close()
    assert any("compiled hostile to native code in" in r.getMessage() for r in caplog.records)
    assert compiler.is_cached(b.module)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="layerw.aot"):
        AotGame(b, engine, compiler).close()
    assert not [r for r in caplog.records if "compil" in r.getMessage()]



def test_a_changed_translation_misses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the translation's rewrites are code, not only the patterns in its FINGERPRINT: any change recompiles
    b = bundle(tmp_path / "game", contract_wat(tick="(nop)"), **LIMITS)
    AotCompiler(cache=tmp_path / "cache").module(b.module, "hostile")
    assert AotCompiler(cache=tmp_path / "cache").is_cached(b.module)
    changed = tmp_path / "translation.py"
    changed.write_bytes(Path(translation.__file__).read_bytes() + b"# changed\n")
    monkeypatch.setattr(translation, "__file__", str(changed))
    assert not AotCompiler(cache=tmp_path / "cache").is_cached(b.module)


def test_deadline_in_a_forked_child(tmp_path: Path, engine: Engine, aot_compiler: AotCompiler) -> None:
    """A child forked after the tier started (the watchdog thread does not survive fork) still
    times out a runaway call."""
    b = bundle(tmp_path, LOOPS["lw_tick"], **LIMITS)
    assert isinstance(_run(b, engine, aot_compiler), GameTimedOut)  # the parent's watchdog is running
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only on the expected timeout; killed by SIGALRM if it hangs
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(10)
        os._exit(0 if isinstance(_run(b, engine, aot_compiler), GameTimedOut) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
