"""The hand-written hostile module corpus: each case a module (WAT text or raw bytes), the limits it
runs under, and the one outcome it must end in (``None``: it runs, harmlessly)."""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass, field

from layerw import abi
from layerw.errors import (
    CommandListError,
    ContractError,
    GameCrashed,
    GameExited,
    GameOutOfMemory,
    GameTimedOut,
    InvalidModule,
    LayerWError,
)
from tests.wat import CMD_CAP, CMD_PTR, INPUT_PTR, IO_PTR, STATE_BEGIN, contract_wat

HEADER = b"\0asm\x01\0\0\0"
W = abi.WASI_MODULE
EINVAL, EBADF = 28, 8
OP = {op.name: op.code for op in abi.OPS}


@dataclass(frozen=True)
class Case:
    name: str
    wasm: bytes | str
    expect: type[LayerWError] | None
    match: str = ""  # a fragment the error message must hold
    limits: dict[str, int] = field(default_factory=dict)
    peak_mb: int = 64  # the host's peak RSS may grow by at most this much while the case runs


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def hexstr(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def io(**fields: int) -> bytes:
    v = {"input_ptr": INPUT_PTR, "input_size": abi.INPUT.size, "cmd_ptr": CMD_PTR, "cmd_capacity": CMD_CAP,
         "state_begin": STATE_BEGIN} | fields
    return struct.pack("<8I", abi.IO_MAGIC, abi.ABI_VERSION, v["input_ptr"], v["input_size"], v["cmd_ptr"],
                       v["cmd_capacity"], v["state_begin"], 0)


def must(call: str, value: int) -> str:
    """Guest code that traps unless ``call`` returns ``value``: the host's answer is checked inside."""
    return f"(if (i32.ne {call} (i32.const {value})) (then unreachable))"


def frame(data: bytes, *, cap: int = CMD_CAP, pages: int = 1) -> str:
    """A module whose lw_render returns ``data`` as its command list."""
    return contract_wat(render=f"(i32.const {len(data)})", pages=pages, io=io(cmd_capacity=cap),
                        extra=f'(data (i32.const {CMD_PTR}) "{hexstr(data)}")')


def cmd(op: str, count: int, arg: int = 0, body: bytes = b"") -> bytes:
    return struct.pack("<4I", OP[op], count, arg, 0) + body


def sprite(x: float, y: float, w: float, h: float, rotation: float = 0.0, flags: int = 0) -> bytes:
    return struct.pack("<9f3I", x, y, w, h, 0, 0, 16, 16, rotation, 0xFFFFFFFF, flags, 0)


def imports(*names: str) -> str:
    sigs = {
        "fd_write": "(param i32 i32 i32 i32) (result i32)", "random_get": "(param i32 i32) (result i32)",
        "clock_time_get": "(param i32 i64 i32) (result i32)", "clock_res_get": "(param i32 i32) (result i32)",
        "fd_fdstat_get": "(param i32 i32) (result i32)", "args_sizes_get": "(param i32 i32) (result i32)",
        "environ_sizes_get": "(param i32 i32) (result i32)", "proc_exit": "(param i32)",
        "asset_request": "(param i32 i32) (result i32)", "asset_size": "(param i32) (result i32)",
        "asset_read": "(param i32 i32 i32 i32) (result i32)", "image_size": "(param i32) (result i32)",
        "log": "(param i32 i32 i32)",
    }
    for sig in abi.IMPORTS:  # every host function of the contract, as abi.py declares it
        params = f"(param {' '.join(sig.params)})" if sig.params else ""
        results = f" (result {' '.join(sig.results)})" if sig.results else ""
        sigs.setdefault(sig.name, f"{params}{results}".strip())
    ns = {n: (abi.IMPORT_MODULE if n in {s.name for s in abi.IMPORTS} else W) for n in names}
    return " ".join(f'(import "{ns[n]}" "{n}" (func ${n} {sigs[n]}))' for n in names)


def _big(funcs: int) -> str:
    return contract_wat(extra=" ".join(f"(func (result i32) (i32.add (i32.const {i}) (i32.const 1)))"
                                       for i in range(funcs)))


def _nested(depth: int) -> str:
    return contract_wat(tick="(block " * depth + "nop" + ")" * depth)


LOOP = "(loop (br 0))"
GROW_BOMB = "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable"
RECURSE = '(func $down (param i32) (result i32) (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))'
IOV = 12288  # where guest code builds WASI iovecs

CASES: list[Case] = [
    # --- malformed and truncated binaries ------------------------------------------------------
    Case("empty file", b"", InvalidModule, "not a wasm binary"),
    Case("WAT text instead of a binary", b"(module)", InvalidModule, "not a wasm binary"),
    Case("4 KiB of random bytes", random.Random(7).randbytes(4096), InvalidModule),
    Case("magic only", b"\0asm", InvalidModule),
    Case("wasm version 2", b"\0asm\x02\0\0\0", InvalidModule),
    Case("a component's header", b"\0asm\x0d\x00\x01\x00", InvalidModule),
    Case("section claiming 4 GiB", HEADER + b"\x01" + leb(0xFFFFFFFF) + b"\x60", InvalidModule),
    Case("type vector of 2^32-1 entries", HEADER + b"\x01\x05" + leb(0xFFFFFFFF), InvalidModule),
    Case("unknown section id 0x7f", HEADER + b"\x7f\x01\x00", InvalidModule),
    Case("function and code sections disagree", HEADER + b"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00",
         InvalidModule),
    Case("body that does not type-check", contract_wat(tick="(drop (i32.add (i32.const 1)))"), InvalidModule),
    Case("custom section of 8 MiB", contract_wat(extra='(@custom "junk" "' + "x" * (8 << 20) + '")'), None,
         peak_mb=160),
    Case("10 000 functions", _big(10_000), None, peak_mb=256),
    Case("blocks nested 5 000 deep", _nested(5_000), None, peak_mb=256),
    Case("50 000 locals", contract_wat(extra="(func " + "(local i64) " * 50_000 + ")"), None, peak_mb=128),
    # --- memories, tables, data ----------------------------------------------------------------
    Case("initial memory of 4 GiB", contract_wat(pages=65536), GameOutOfMemory, "initial memory"),
    Case("memory above 4 GiB", contract_wat(pages=65537), InvalidModule),
    Case("shared memory", contract_wat(pages="1 1 shared"), InvalidModule, "shared memory support is disabled"),
    Case("a 64-bit memory", contract_wat(pages="i64 1").replace("(data (i32.const", "(data (i64.const"), None),
    Case("a second memory", contract_wat(extra="(memory $two 1)"), InvalidModule, "memory count too high"),
    Case("table of 10 million elements", contract_wat(extra="(table 10000000 funcref)"), InvalidModule,
         "table minimum size"),
    Case("five tables", contract_wat(extra=" ".join("(table 1 funcref)" for _ in range(5))), InvalidModule,
         "table count too high"),
    Case("data segment past memory", contract_wat(extra='(data (i32.const 0x7ffffff0) "boom")'), GameCrashed,
         "in instantiate: trapped: out of bounds memory access"),
    Case("start function loops", contract_wat(extra=f"(func $start {LOOP}) (start $start)"), GameTimedOut,
         "in instantiate"),
    # --- deep recursion (stack overflow) -------------------------------------------------------
    Case("recursion in lw_tick", contract_wat(tick="(drop (call $down (i32.const 0)))", extra=RECURSE),
         GameCrashed, "call stack exhausted"),
    Case("recursion in lw_render", contract_wat(render="(call $down (i32.const 0))", extra=RECURSE),
         GameCrashed, "call stack exhausted"),
    Case("recursion in _initialize", contract_wat(initialize="(drop (call $down (i32.const 0)))", extra=RECURSE),
         GameCrashed, "call stack exhausted"),
    Case("recursion with 1 000 locals a frame",
         contract_wat(tick="(call $fat)", extra="(func $fat " + "(local v128) " * 1000 + "(call $fat))"),
         GameCrashed, "call stack exhausted"),
    Case("recursion through call_indirect",
         contract_wat(tick="(call_indirect (type $v) (i32.const 0))",
                      extra="(type $v (func)) (table 1 funcref) (elem (i32.const 0) $lw_tick)"),
         GameCrashed, "call stack exhausted"),
    # --- memory.grow and table.grow bombs --------------------------------------------------------
    Case("memory.grow a page at a time in lw_tick", contract_wat(tick=GROW_BOMB), GameOutOfMemory, "cap of 4 MiB"),
    Case("memory.grow bomb in _initialize", contract_wat(initialize=GROW_BOMB), GameOutOfMemory),
    Case("memory.grow of 65 535 pages at once",
         contract_wat(tick=must("(memory.grow (i32.const 65535))", -1)), None),
    Case("grow to the cap and fill every byte",
         contract_wat(tick="(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))"
                           "(memory.fill (i32.const 65536) (i32.const 255) "
                           "(i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 65536)))"), None),
    Case("table.grow bomb", contract_wat(
        tick="(loop (br_if 0 (i32.ne (table.grow $t (ref.null func) (i32.const 100000)) (i32.const -1)))) unreachable",
        extra="(table $t 0 funcref)"), GameCrashed, "unreachable"),
    Case("GC array of 400 MB (wasm GC)", contract_wat(
        extra="(type $a (array (mut i32))) (global $keep (mut (ref null $a)) (ref.null $a))",
        tick="(global.set $keep (array.new $a (i32.const 7) (i32.const 100000000)))"), GameOutOfMemory,
        "GC heap out of memory"),
    # --- command lists ---------------------------------------------------------------------------
    Case("lw_render returns -1", contract_wat(render="(i32.const -1)"), GameCrashed, "lw_render returned -1"),
    Case("lw_render returns 2 GiB", contract_wat(render="(i32.const 0x7fffffff)"), GameCrashed, "lw_render returned"),
    Case("lw_render reaches into the scratch tail", contract_wat(render=f"(i32.const {CMD_CAP})"), GameCrashed),
    Case("unknown opcode", frame(struct.pack("<4I", 999, 1, 0, 0)), CommandListError, "unknown op 999"),
    Case("sprite count 2^32-1", frame(cmd("SPRITES", 0xFFFFFFFF, 1)), CommandListError, "overruns"),
    Case("sprite count whose byte size wraps 32 bits", frame(cmd("SPRITES", (1 << 32) // 48 + 1, 1)),
         CommandListError, "overruns"),
    Case("text length 2^32-3", frame(cmd("TEXT", 1, 0xFFFFFFFD, bytes(16))), CommandListError, "overruns"),
    Case("text with count 2", frame(cmd("TEXT", 2, 0, bytes(16))), CommandListError, "count 2"),
    Case("header cut short", frame(bytes(10)), CommandListError, "truncated"),
    Case("viewport of NaN", frame(cmd("VIEWPORT", 1, 0, struct.pack("<4f", math.nan, 0, 10, 10))),
         CommandListError, "not finite"),
    Case("sprites of absurd sizes, unknown texture",
         frame(cmd("SPRITES", 5, 0xFFFFFFFF, sprite(math.nan, 0, 1, 1) + sprite(0, 0, math.inf, -math.inf)
                   + sprite(-1e38, -1e38, 3e38, 3e38, rotation=1e30) + sprite(1e-45, 0, 1e-45, 1e-45)
                   + sprite(0, 0, 1e9, 1e9, flags=0xFFFFFFFF))), None),
    Case("5 000 sprites", frame(cmd("SPRITES", 5000, 1, sprite(1, 2, 3, 4) * 5000), cap=256 << 10, pages=8), None),
    # --- host calls with hostile arguments ---------------------------------------------------------
    Case("asset_request of memory past the end",
         contract_wat(imports=imports("asset_request"),
                      tick=must("(call $asset_request (i32.const 0x7ffffff0) (i32.const 16))", -1)
                      + must("(call $asset_request (i32.const 0) (i32.const -1))", -1)
                      + must("(call $asset_request (i32.const -8) (i32.const 4))", -1)
                      + must("(call $asset_request (i32.const 0) (i32.const 1000000))", -1)), None),
    Case("asset reads of unknown handles and bad buffers",
         contract_wat(imports=imports("asset_read", "asset_size", "image_size"),
                      tick=must("(call $asset_read (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8))", -1)
                      + must("(call $asset_read (i32.const -1) (i32.const 0) (i32.const 0) (i32.const 8))", -1)
                      + must("(call $asset_read (i32.const 0x7fffffff) (i32.const 0) (i32.const 0) (i32.const 8))", -1)
                      + must("(call $asset_size (i32.const -5))", -1)
                      + must("(call $image_size (i32.const 0x7fffffff))", -1)), None),
    Case("log of memory past the end, odd levels",
         contract_wat(imports=imports("log"),
                      tick="(call $log (i32.const 99) (i32.const 0x7ffffff0) (i32.const 16))"
                           "(call $log (i32.const -7) (i32.const -16) (i32.const 16))"
                           "(call $log (i32.const 2) (i32.const 0) (i32.const 0x7fffffff))"
                           "(call $log (i32.const 1) (i32.const 0) (i32.const 4096))"), None),
    Case("WASI calls with pointers past memory",
         contract_wat(imports=imports("fd_write", "clock_time_get", "clock_res_get", "random_get", "fd_fdstat_get",
                                      "args_sizes_get", "environ_sizes_get"),
                      tick=must("(call $fd_write (i32.const 1) (i32.const -8) (i32.const 1) (i32.const 0))", EINVAL)
                      + must("(call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const -1))", EINVAL)
                      + must("(call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x10000000) (i32.const 0))", EINVAL)
                      + must("(call $fd_write (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 0))", EBADF)
                      + must("(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 0x7fffffff))", EINVAL)
                      + must("(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const -4))", EINVAL)
                      + must("(call $clock_res_get (i32.const 1) (i32.const 65532))", EINVAL)
                      + must("(call $random_get (i32.const -100) (i32.const 10))", EINVAL)
                      + must("(call $random_get (i32.const 0) (i32.const 0x100000))", EINVAL)
                      + must("(call $fd_fdstat_get (i32.const 1) (i32.const 65530))", EINVAL)
                      + must("(call $args_sizes_get (i32.const 65535) (i32.const 0))", EINVAL)
                      + must("(call $environ_sizes_get (i32.const 0) (i32.const -1))", EINVAL)), None),
    Case("fd_write of an iovec pointing past memory",
         contract_wat(imports=imports("fd_write"),
                      tick=f"(i32.store (i32.const {IOV}) (i32.const 0x7ffffff0)) (i32.store (i32.const {IOV + 4}) "
                           "(i32.const 100))"
                           + must(f"(call $fd_write (i32.const 1) (i32.const {IOV}) (i32.const 1) (i32.const 0))",
                                  EINVAL)), None),
    Case("fd_write of 1 024 iovecs each covering all memory (4 GiB in one call)",
         contract_wat(imports=imports("fd_write"), pages=64,
                      tick=f"(local $i i32) (loop (i32.store (i32.add (i32.const {IOV}) (i32.shl (local.get $i) "
                           "(i32.const 3))) (i32.const 0)) (i32.store (i32.add (i32.const "
                           f"{IOV + 4}) (i32.shl (local.get $i) (i32.const 3))) (i32.const {64 << 16})) "
                           "(local.set $i (i32.add (local.get $i) (i32.const 1))) "
                           "(br_if 0 (i32.lt_u (local.get $i) (i32.const 1024))))"
                           + must(f"(call $fd_write (i32.const 2) (i32.const {IOV}) (i32.const 1024) (i32.const 0))",
                                  0)), None),
    Case("stdout flood", contract_wat(imports=imports("fd_write"),
                                      tick=f"(i32.store (i32.const {IOV}) (i32.const 0)) (i32.store (i32.const {IOV + 4}) "
                                           f"(i32.const 4096)) (memory.fill (i32.const 0) (i32.const 10) (i32.const 4096))"
                                           f"(loop (drop (call $fd_write (i32.const 1) (i32.const {IOV}) (i32.const 1) "
                                           "(i32.const 8))) (br 0))"), GameTimedOut),
    # --- imports of things not granted ------------------------------------------------------------
    Case("import env.teleport", contract_wat(imports='(import "env" "teleport" (func))'), ContractError,
         "unknown import 'env.teleport'"),
    Case("import WASI path_open", contract_wat(imports=f'(import "{W}" "path_open" (func (param i32 i32 i32 i32 i32 '
                                                       'i64 i64 i32 i32) (result i32)))'), ContractError,
         "path_open"),
    Case("import WASI sock_accept", contract_wat(imports=f'(import "{W}" "sock_accept" (func (param i32 i32 i32) '
                                                         '(result i32)))'), ContractError, "sock_accept"),
    Case("import layerw.open_socket", contract_wat(imports='(import "layerw" "open_socket" (func))'), ContractError,
         "layerw.open_socket"),
    Case("import a memory", contract_wat(imports='(import "env" "memory" (memory 1))'), ContractError, "env.memory"),
    Case("import a table", contract_wat(imports='(import "env" "table" (table 1 funcref))'), ContractError),
    Case("import a global", contract_wat(imports='(import "env" "g" (global i32))'), ContractError),
    Case("import layerw.log with the wrong signature", contract_wat(imports='(import "layerw" "log" (func (param i64)))'),
         ContractError, "wrong signature"),
    Case("import with a 10 KB name", contract_wat(imports=f'(import "env" "{"x" * 10_000}" (func))'), ContractError),
    # --- the contract itself ---------------------------------------------------------------------
    Case("no memory export", contract_wat().replace('(export "memory")', ""), ContractError, "memory"),
    Case("memory exported as a global", contract_wat(extra='(global (export "memory") i32 (i32.const 0))').replace(
        '(memory (export "memory") 1)', "(memory 1)"), ContractError, "memory"),
    Case("lw_tick takes a parameter", contract_wat().replace('(export "lw_tick")', '(export "lw_tick") (param i32)'),
         ContractError, "lw_tick"),
    Case("lw_init returns 0", contract_wat().replace(f"(i32.const {IO_PTR}))", "(i32.const 0))", 1), InvalidModule,
         "not an lw_io address"),
    Case("lw_init returns an address past memory", contract_wat().replace(f"(i32.const {IO_PTR}))", "(i32.const -16))", 1),
         InvalidModule, "not an lw_io address"),
    Case("lw_io with the wrong magic", contract_wat(io=b"\0" * 32), InvalidModule, "ABI"),
    Case("lw_io input block past memory", contract_wat(io=io(input_ptr=0xFFFFFF00)), InvalidModule, "lw_io"),
    Case("lw_io command buffer past memory", contract_wat(io=io(cmd_ptr=0xFFFFF000)), InvalidModule, "lw_io"),
    Case("lw_io command capacity 4 GiB", contract_wat(io=io(cmd_capacity=0xFFFFFFF0)), InvalidModule, "lw_io"),
    Case("lw_io command capacity 2 bytes", contract_wat(io=io(cmd_capacity=2)), InvalidModule, "lw_io"),
    Case("lw_io state beyond the command buffer", contract_wat(io=io(state_begin=0xFFFFFFF0)), InvalidModule, "lw_io"),
    Case("lw_io input size wrong", contract_wat(io=io(input_size=7)), InvalidModule, "input block"),
    Case("trap in _initialize", contract_wat(initialize="unreachable"), GameCrashed, "unreachable"),
    Case("proc_exit in lw_init", contract_wat(imports=imports("proc_exit"), init="(call $proc_exit (i32.const 3))"),
         GameExited, "proc_exit(3)"),
    Case("proc_exit in lw_render", contract_wat(imports=imports("proc_exit"),
                                                render="(call $proc_exit (i32.const 4)) (i32.const 0)"),
         GameExited, "proc_exit(4)"),
    Case("integer divide by zero", contract_wat(tick="(drop (i32.div_s (i32.const 1) (i32.const 0)))"), GameCrashed,
         "divide by zero"),
    Case("call_indirect past the table", contract_wat(tick="(call_indirect (type $v) (i32.const 7))",
                                                      extra="(type $v (func)) (table 1 funcref)"), GameCrashed,
         "out of bounds table access"),
    Case("load past memory", contract_wat(tick="(drop (i32.load (i32.const -4)))"), GameCrashed, "out of bounds"),
]

# an infinite loop in every entry point (run by test_modules under each CPU limit)
LOOPS = {
    "_initialize": contract_wat(initialize=LOOP),
    "lw_init": contract_wat(init=LOOP),
    "lw_tick": contract_wat(tick=LOOP),
    "lw_render": contract_wat(render=f"{LOOP} (i32.const 0)"),
    "start": contract_wat(extra=f"(func $start {LOOP}) (start $start)"),
}
