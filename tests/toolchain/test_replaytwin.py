"""ReplayTwin: the module with a poll at every loop head, and the map from its code offsets back to the
module's, checked on wasmtime: a poll that gives up after some calls stops crash.c's endless loop, and
the twin's frames, mapped back, are named at the loop's line by the build's symbols; a WASM-4 cart's twin
keeps its env imports (none written compactly), moves each function up by one under its own name, and
maps its frames back to the cart's loop; a stripped C cart's builds with `layerw build --replay-twin`."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.cart import imports
from layerw.runtime.aot.namesection import function_names
from layerw.runtime.inputs import InputState
from layerw.symbols import Symbols
from layerw.toolchain.build import build
from layerw.toolchain.cart import build_cart
from layerw.toolchain.replaytwin import MAP_NAME, POLL_MODULE, POLL_NAME, TWIN_NAME, instructions, twin_of
from layerw.toolchain.wasmtools import wabt
from tests.runtime.test_symbols import CRASH, SPIN, line_of
from tests.runtime.wasm4.conftest import CARTS

POLLS = 1000  # the polls before the twin's poll stops the call


def module_offset(runs: list[list[int]], offset: int) -> int:
    twin_at, module_at = runs[bisect.bisect_right([r[0] for r in runs], offset) - 1]
    return module_at + offset - twin_at


def stopping_poll(engine: wasmtime.Engine) -> tuple[Callable[[], None], list[int]]:
    """A twin's poll that ends the epoch at its POLLS-th call, and its count of calls."""
    polls = [0]

    def poll() -> None:
        polls[0] += 1
        if polls[0] >= POLLS:
            engine.increment_epoch()  # the loop's next check traps, with the twin's frames (a host's Trap has none)

    return poll, polls


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
    poll, polls = stopping_poll(engine)
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


# A cart as a toolchain links one: WASM-4's memory and functions imported from env (two of them, which wabt would
# write as a "compact import", a proposal neither V8 nor wasmtime reads), a mutable global, its own names
SPIN_AT = 5


def spin_cart(spin_at: int) -> str:
    """The cart whose update counts its calls in a global and draws, and at call ``spin_at`` calls $spin."""
    return f"""(module
  (import "env" "memory" (memory 1 1))
  (import "env" "trace" (func $trace (param i32)))
  (import "env" "rect" (func $rect (param i32 i32 i32 i32)))
  (global $n (mut i32) (i32.const 0))
  (func $spin (loop $l (br $l)))
  (func $update (export "update")
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (call $rect (i32.const 0) (i32.const 0) (global.get $n) (i32.const 4))
    (if (i32.eq (global.get $n) (i32.const {spin_at})) (then (call $spin)))))"""


def test_a_cart_s_twin_imports_the_poll_after_env_s_and_its_frames_map_to_the_cart_s_loop(tmp_path: Path) -> None:
    cart = wasmtime.wat2wasm(spin_cart(SPIN_AT))
    (tmp_path / "cart.wasm").write_bytes(cart)
    data, table = twin_of(cart)
    runs = json.loads(table)["runs"]
    assert [(i.module, i.name, i.kind) for i in imports(data)] == [
        *[(i.module, i.name, i.kind) for i in imports(cart)], (POLL_MODULE, POLL_NAME, "func")]
    names, twin_names = function_names(cart), function_names(data)
    assert names == {0: "trace", 1: "rect", 2: "spin", 3: "update"}
    # each defined function one index up (the poll is function 2), under its own name
    assert {i: n for i, n in twin_names.items() if i != 2} == {i + (i >= 2): n for i, n in names.items()}
    engine = wasmtime.Engine(_epochs())
    twin = wasmtime.Module(engine, data)  # default features: no compact imports
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1)
    poll, _ = stopping_poll(engine)
    linker = wasmtime.Linker(engine)
    linker.define(store, "env", "memory", wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, 1))))
    linker.define_func("env", "trace", wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda _: None)
    linker.define_func("env", "rect", wasmtime.FuncType([wasmtime.ValType.i32()] * 4, []), lambda *_: None)
    linker.define_func(POLL_MODULE, POLL_NAME, wasmtime.FuncType([], []), poll)
    update = linker.instantiate(store, twin).exports(store)["update"]
    assert isinstance(update, wasmtime.Func)
    with pytest.raises(wasmtime.Trap) as info:
        for _ in range(SPIN_AT):
            update(store)
    listing = wabt("wasm-objdump", "-d", str(tmp_path / "cart.wasm"))
    [loop] = [offset for body in instructions(listing) for offset, op in body if op == "loop"]
    frames = [(f.func_index - 1, module_offset(runs, f.module_offset)) for f in info.value.frames]
    assert frames[0] == (2, loop) and [names[i] for i, _ in frames] == ["spin", "update"], frames


def test_a_stripped_c_cart_has_a_twin_that_validates(tmp_path: Path) -> None:
    cart = build_cart(CARTS / "watris", tmp_path / "watris", replay_twin=True)
    module = (cart / "game.wasm").read_bytes()
    assert function_names(module) == {}  # linked with --strip-all: frames are named by index, as natively
    data, table = (cart / TWIN_NAME).read_bytes(), (cart / MAP_NAME).read_bytes()
    assert (data, table) == twin_of(module)
    assert json.loads(table)["module_sha256"] == hashlib.sha256(module).hexdigest()
    wasmtime.Module.validate(wasmtime.Engine(), data)
    build_cart(CARTS / "watris", tmp_path / "watris")  # a build without a twin leaves none of the last one's
    assert not (cart / TWIN_NAME).exists() and not (cart / MAP_NAME).exists()


def _epochs() -> wasmtime.Config:
    config = wasmtime.Config()
    config.epoch_interruption = True
    return config
