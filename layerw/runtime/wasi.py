"""Wasi: the WASI preview 1 subset a game gets — stdio into the log, virtual clocks, seeded random.

Only what libc needs is offered (``abi.WASI_IMPORTS``): no preopened directories, no sockets, no
environment. Clocks report *game time* (ticks / tick rate), and ``random_get`` draws from a
SplitMix64 stream seeded by the host, so even libc code that reads the clock or asks for entropy
stays deterministic on every host.

Spec: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

import wasmtime

from layerw import abi
from layerw.errors import GameExited
from layerw.runtime.guestmemory import Caller, GuestMemory

ERRNO_SUCCESS = 0
ERRNO_BADF = 8
ERRNO_INVAL = 28
ERRNO_SPIPE = 70
FILETYPE_CHARACTER_DEVICE = 2
STDOUT, STDERR = 1, 2
MASK64 = (1 << 64) - 1
IOV_MAX = 1024  # Spec: POSIX writev, EINVAL past IOV_MAX (wasi-libc's is 1024)
MAX_LOGGED = 64 * 1024  # bytes of one fd_write that reach the log; the guest is told all were written
MAX_RANDOM = 64 * 1024  # bytes one random_get may ask for (getentropy allows 256)


_I32 = ("i32",)
# Spec: each function's (params, results) as preview 1 defines them (wasm value types)
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fd_write": (_I32 * 4, _I32), "fd_close": (_I32, _I32), "fd_seek": (("i32", "i64", "i32", "i32"), _I32),
    "fd_fdstat_get": (_I32 * 2, _I32), "fd_prestat_get": (_I32 * 2, _I32), "fd_prestat_dir_name": (_I32 * 3, _I32),
    "clock_time_get": (("i32", "i64", "i32"), _I32), "clock_res_get": (_I32 * 2, _I32), "random_get": (_I32 * 2, _I32),
    "environ_get": (_I32 * 2, _I32), "environ_sizes_get": (_I32 * 2, _I32), "args_get": (_I32 * 2, _I32),
    "args_sizes_get": (_I32 * 2, _I32), "sched_yield": ((), _I32), "proc_exit": (_I32, ()),
}


class SplitMix64:
    """A tiny, fast, portable PRNG (also written in the browser client)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def bytes(self, n: int) -> bytes:
        words = [self.next() for _ in range((n + 7) // 8)]
        return struct.pack(f"<{len(words)}Q", *words)[:n]


def _memory(caller: Caller) -> GuestMemory:
    mem = caller.get("memory")
    assert isinstance(mem, GuestMemory)
    return mem


def _fits(caller: Caller, ptr: int, n: int) -> bool:
    """Whether [ptr, ptr + n) lies in the guest's memory (a bad pointer is EINVAL, never a host error)."""
    return ptr >= 0 and n >= 0 and ptr + n <= _memory(caller).data_len(caller)


class Wasi:
    """The WASI functions of one game instance, bound to its clock, random stream and log."""

    def __init__(self, game: str, clock_ns: Callable[[], int], rng: SplitMix64,
                 log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.game = game
        self.clock_ns = clock_ns
        self.rng = rng
        self.log = log
        self._pending: dict[int, bytes] = {STDOUT: b"", STDERR: b""}

    def functions(self) -> dict[str, Callable[..., Any]]:
        """Each WASI function's host function by name (each but proc_exit takes the caller first)."""
        funcs: dict[str, Callable[..., Any]] = {
            "fd_write": self.fd_write,
            "fd_close": lambda c, fd: ERRNO_SUCCESS if fd in (STDOUT, STDERR) else ERRNO_BADF,
            "fd_seek": lambda c, fd, off, whence, out: ERRNO_SPIPE,
            "fd_fdstat_get": self.fd_fdstat_get,
            "fd_prestat_get": lambda c, fd, out: ERRNO_BADF,
            "fd_prestat_dir_name": lambda c, fd, p, n: ERRNO_BADF,
            "clock_time_get": self.clock_time_get,
            "clock_res_get": self.clock_res_get,
            "random_get": self.random_get,
            "environ_get": lambda c, a, b: ERRNO_SUCCESS,
            "environ_sizes_get": self.sizes_get,
            "args_get": lambda c, a, b: ERRNO_SUCCESS,
            "args_sizes_get": self.sizes_get,
            "sched_yield": lambda c: ERRNO_SUCCESS,
            "proc_exit": self.proc_exit,
        }
        assert set(funcs) == set(SIGNATURES) == abi.WASI_IMPORTS
        return funcs

    def define(self, linker: wasmtime.Linker) -> None:
        types = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}
        for name, fn in self.functions().items():
            params, results = SIGNATURES[name]
            linker.define_func(abi.WASI_MODULE, name, wasmtime.FuncType([types[p] for p in params], [types[r] for r in results]),
                               fn, access_caller=name != "proc_exit")

    def fd_write(self, caller: Caller, fd: int, iovs: int, iovs_len: int, nwritten: int) -> int:
        if fd not in (STDOUT, STDERR):
            return ERRNO_BADF
        mem = _memory(caller)
        if not (iovs_len <= IOV_MAX and _fits(caller, iovs, 8 * iovs_len) and _fits(caller, nwritten, 4)):
            return ERRNO_INVAL
        vec = struct.unpack(f"<{2 * iovs_len}I", mem.read(caller, iovs, iovs + 8 * iovs_len))
        spans = [(vec[i], vec[i + 1]) for i in range(0, len(vec), 2)]
        if not all(_fits(caller, ptr, n) for ptr, n in spans):
            return ERRNO_INVAL
        data, total = bytearray(), 0
        for ptr, n in spans:
            total += n
            if len(data) < MAX_LOGGED:
                data += mem.read(caller, ptr, ptr + min(n, MAX_LOGGED - len(data)))
        mem.write(caller, struct.pack("<I", total & 0xFFFFFFFF), nwritten)
        self._emit(fd, bytes(data))
        return ERRNO_SUCCESS

    def _emit(self, fd: int, data: bytes) -> None:
        """Log whole lines, prefixed with the game's name; keep a partial line for later."""
        *lines, rest = (self._pending[fd] + data).split(b"\n")
        self._pending[fd] = rest[-4096:]
        level = logging.INFO if fd == STDOUT else logging.WARNING
        for line in lines:
            self.log.log(level, "[%s] %s", self.game, line.decode("utf-8", "replace"))

    def fd_fdstat_get(self, caller: Caller, fd: int, out: int) -> int:
        if fd not in (STDOUT, STDERR):
            return ERRNO_BADF
        if not _fits(caller, out, 24):
            return ERRNO_INVAL
        # Spec: fdstat = {u8 filetype; u16 flags; u64 rights_base; u64 rights_inheriting}, 24 bytes.
        _memory(caller).write(caller, struct.pack("<BxHxxxxQQ", FILETYPE_CHARACTER_DEVICE, 0, 1 << 6, 0), out)
        return ERRNO_SUCCESS

    def clock_time_get(self, caller: Caller, clock_id: int, precision: int, out: int) -> int:
        if not 0 <= clock_id <= 3 or not _fits(caller, out, 8):
            return ERRNO_INVAL
        _memory(caller).write(caller, struct.pack("<Q", self.clock_ns()), out)
        return ERRNO_SUCCESS

    def clock_res_get(self, caller: Caller, clock_id: int, out: int) -> int:
        if not 0 <= clock_id <= 3 or not _fits(caller, out, 8):
            return ERRNO_INVAL
        _memory(caller).write(caller, struct.pack("<Q", 1000), out)
        return ERRNO_SUCCESS

    def random_get(self, caller: Caller, buf: int, n: int) -> int:
        if n > MAX_RANDOM or not _fits(caller, buf, n):
            return ERRNO_INVAL
        _memory(caller).write(caller, self.rng.bytes(n), buf)
        return ERRNO_SUCCESS

    def sizes_get(self, caller: Caller, count_out: int, size_out: int) -> int:
        if not (_fits(caller, count_out, 4) and _fits(caller, size_out, 4)):
            return ERRNO_INVAL
        mem = _memory(caller)
        mem.write(caller, b"\0\0\0\0", count_out)
        mem.write(caller, b"\0\0\0\0", size_out)
        return ERRNO_SUCCESS

    def proc_exit(self, code: int) -> None:
        raise GameExited(f"{self.game} called proc_exit({code})", game=self.game, code=code)
