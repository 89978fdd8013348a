"""ReplayTwin: the module with a poll at every loop head, and the map from its code offsets back to the
module's, checked on wasmtime: a poll that gives up after some calls stops crash.c's endless loop, and
the twin's frames, mapped back, are named at the loop's line by the build's symbols."""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import pytest
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.runtime.inputs import InputState
from layerw.symbols import Symbols
from layerw.toolchain.build import build
from layerw.toolchain.replaytwin import MAP_NAME, POLL_MODULE, POLL_NAME, TWIN_NAME
from tests.runtime.test_symbols import CRASH, SPIN, line_of

POLLS = 1000  # the polls before the twin's poll stops the call


def module_offset(runs: list[list[int]], offset: int) -> int:
    twin_at, module_at = runs[bisect.bisect_right([r[0] for r in runs], offset) - 1]
    return module_at + offset - twin_at


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(CRASH, tmp_path_factory.mktemp("twin") / "crash", replay_twin=True).out


def test_the_twin_s_frames_map_to_the_module_s_loop_line(crash: Path) -> None:
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    twin = wasmtime.Module(engine, (crash / TWIN_NAME).read_bytes())
    offsets = json.loads((crash / MAP_NAME).read_text())
    module = (crash / "game.wasm").read_bytes()
    assert offsets["format"] == "layerw-replay-map"
    assert [(i.module, i.name) for i in twin.imports][0] == (POLL_MODULE, POLL_NAME)
    assert len(twin.exports) == len(wasmtime.Module(engine, module).exports)
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)
    polls = [0]

    def poll() -> None:
        polls[0] += 1
        if polls[0] >= POLLS:
            engine.increment_epoch()  # the loop's next check traps, with the twin's frames (a host's Trap has none)

    linker = wasmtime.Linker(engine)
    linker.define_func(POLL_MODULE, POLL_NAME, wasmtime.FuncType([], []), poll)
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, twin)
    exports = instance.exports(store)
    exports["_initialize"](store)  # type: ignore[operator]
    io = exports["lw_init"](store, SPIN, 0)  # type: ignore[operator]
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.Memory)
    at = io + abi.IO.offsets["input_ptr"]
    input_ptr = int.from_bytes(memory.read(store, at, at + 4), "little")  # where the host writes each tick's lw_input
    state = InputState()
    with pytest.raises(wasmtime.Trap) as info:
        for tick in range(10):
            memory.write(store, state.pack(tick, []), input_ptr)
            exports["lw_tick"](store)  # type: ignore[operator]
    assert polls[0] == POLLS
    symbols = Symbols.from_bytes((crash / "game.symbols.json").read_bytes())
    frames = symbols.symbolize([module_offset(offsets["runs"], f.module_offset) for f in info.value.frames])
    assert (frames[0].function, frames[0].file, frames[0].line) == ("spin", "crash.c", line_of("spin")), frames
    assert "lw_game_tick" in [f.function for f in frames]
    assert Bundle.open(crash).module == module  # the twin leaves the module as it was
