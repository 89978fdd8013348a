"""Hand-written modules for host tests: valid contract plumbing around a chosen body."""

from __future__ import annotations

import struct
from pathlib import Path

import wasmtime

from layerw import abi
from layerw.bundle import Bundle
from layerw.config import GameConfig

IO_PTR = 1024
INPUT_PTR = 2048
CMD_PTR = 8192
CMD_CAP = 4096
STATE_BEGIN = 1024


def io_block() -> bytes:
    return struct.pack("<8I", abi.IO_MAGIC, abi.ABI_VERSION, INPUT_PTR, abi.INPUT.size,
                       CMD_PTR, CMD_CAP, STATE_BEGIN, 0)


def contract_wat(*, tick: str = "", render: str = "(i32.const 0)", init: str = "", imports: str = "",
                 pages: int | str = 1, exports: tuple[str, ...] = ("lw_init", "lw_tick", "lw_render"),
                 initialize: str = "", extra: str = "", io: bytes | None = None) -> str:
    """A module that follows the contract around the given bodies; ``extra`` adds module fields
    (functions, tables, a start function), ``io`` replaces the lw_io block."""
    data = "".join(f"\\{b:02x}" for b in (io_block() if io is None else io))
    funcs = {
        "lw_init": f'(func $lw_init (export "lw_init") (param i32 i32) (result i32) {init} (i32.const {IO_PTR}))',
        "lw_tick": f'(func $lw_tick (export "lw_tick") {tick})',
        "lw_render": f'(func $lw_render (export "lw_render") (result i32) {render})',
    }
    return f"""(module {imports}
      (memory (export "memory") {pages})
      (data (i32.const {IO_PTR}) "{data}")
      (func $_initialize (export "_initialize") {initialize})
      {" ".join(funcs[e] for e in exports)}
      {extra})"""


def bundle(tmp: Path, wasm: bytes | str, name: str = "hostile", **config: object) -> Bundle:
    """Write a build directory holding ``wasm`` (WAT text is assembled) and open it."""
    data = wasmtime.wat2wasm(wasm) if isinstance(wasm, str) else wasm
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "game.wasm").write_bytes(data)
    (tmp / "layerw.toml").write_text(GameConfig.from_dict({"game": {"name": name}, "limits": config}).to_toml())
    return Bundle.open(tmp)
