"""SpeakerLibrary: ``lwspeaker.c`` (the device's callback, its ring and declicker) as a native shared
library, compiled by zig cc on first use and cached, loaded with ctypes.

miniaudio's device thread calls ``lw_speaker_data`` directly, so it never waits for the GIL (a
callback written in Python does, whenever the game's thread is preempted holding it). The library
is cached under ``<cache root>/speaker`` keyed by what it is built from (the source, the generated
layout header, the zig and miniaudio versions, the flags), bounded like the other caches; a cold
build takes about a second once zig's libc for the target is built (which the AOT tier shares).
No compiler, no speaker: ``ToolchainError`` (``CompileError`` when zig rejects the source) says why
and how to fix it; nothing falls back to a callback in Python.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import platform
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

from _miniaudio import ffi as ma_ffi

from layerw.diskbudget import DiskBudget, cache_root, max_bytes_from_env
from layerw.errors import AudioDeviceError, CompileError, ToolchainError
from layerw.play import speaker_layout
from layerw.play.speaker_layout import Declick, Ring, SpeakerState
from layerw.toolchain import zig

log = logging.getLogger("layerw.audio")
SOURCE = Path(__file__).with_name("lwspeaker.c")
FLAGS = ["-O2", "-fPIC", "-DNDEBUG", "-std=gnu11", "-Wall", "-Werror"]
P_I16 = ctypes.POINTER(ctypes.c_int16)


def target() -> list[str]:
    """Linux: the glibc target the AOT tier also builds for (zig's libc for it is built once, shared);
    elsewhere the host's own."""
    if sys.platform.startswith("linux"):
        return ["-target", f"{platform.machine()}-linux-gnu", "-mcpu=baseline"]
    return []


class SpeakerLibrary:
    """The loaded library, its functions typed. ``data_callback``: ``lw_speaker_data``'s address."""

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache if cache is not None else cache_root() / "speaker"
        offset = ma_ffi.offsetof("ma_device", "pUserData")
        self.header = speaker_layout.header(offset)
        key = "\0".join([f"zig-{version('ziglang')}", f"miniaudio-{version('miniaudio')}", *target(), *FLAGS,
                         self.header, SOURCE.read_text()])
        self.path = self.cache / f"lwspeaker-{hashlib.sha256(key.encode()).hexdigest()}.so"
        budget = DiskBudget([self.cache], max_bytes_from_env())
        if self.path.is_file():
            budget.used(self.path)
        else:
            self._build(budget)
        lib = ctypes.CDLL(str(self.path))
        for which, struct in enumerate((Ring, Declick, SpeakerState)):
            lib.lw_layout_size.restype, lib.lw_layout_size.argtypes = ctypes.c_int64, [ctypes.c_int]
            if lib.lw_layout_size(which) != ctypes.sizeof(struct):
                raise AudioDeviceError(f"{self.path}: {struct.__name__} is laid out differently in C and ctypes")
        self.ring_write = lib.lw_ring_write
        self.ring_write.argtypes = [ctypes.POINTER(Ring), ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64]
        self.ring_write.restype = None
        self.ring_read = lib.lw_ring_read
        self.ring_read.argtypes = [ctypes.POINTER(Ring), P_I16, ctypes.c_int64, ctypes.c_int64]
        self.ring_read.restype = ctypes.c_int64
        self.declick_fill = lib.lw_declick_fill
        self.declick_fill.argtypes = [ctypes.POINTER(Declick), P_I16, ctypes.c_int64, ctypes.c_int64]
        self.declick_fill.restype = None
        self.speaker_callback = lib.lw_speaker_callback  # what lw_speaker_data does, callable with a state at hand
        self.speaker_callback.argtypes = [ctypes.POINTER(SpeakerState), P_I16, ctypes.c_int64]
        self.speaker_callback.restype = None
        self.now_ns = lib.lw_now_ns
        self.now_ns.argtypes, self.now_ns.restype = [], ctypes.c_int64
        address = ctypes.cast(lib.lw_speaker_data, ctypes.c_void_p).value
        assert address is not None  # a symbol the library defines
        self.data_callback: int = address
        self._lib = lib  # kept loaded while anything uses its functions

    def _build(self, budget: DiskBudget) -> None:
        log.info("compiling the speaker's device callback (lwspeaker.c, zig cc); only the first start does this")
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="layerw-speaker-") as tmp:
            work = Path(tmp)
            (work / "lwspeaker_layout.h").write_text(self.header)
            try:
                done = zig.run(["cc", "-shared", *target(), *FLAGS, f"-I{work}", str(SOURCE), "-o", str(work / "lib.so")],
                               cwd=work)
            except ToolchainError as e:
                raise ToolchainError(f"the speaker's device callback is C compiled on first use, and {e}; or run "
                                     "without --sound") from e
            if done.returncode != 0:
                raise CompileError(f"zig cc failed to compile the speaker's device callback:\n{done.stderr.strip()[-2000:]}")
            self.cache.mkdir(parents=True, exist_ok=True)
            budget.write(self.path, (work / "lib.so").read_bytes())  # whole or not at all, then counted
        log.info("compiled the speaker's device callback in %.1f s", time.perf_counter() - t0)


_LOCK = threading.Lock()
_LOADED: list[SpeakerLibrary] = []


def speaker_library() -> SpeakerLibrary:
    """The process's one SpeakerLibrary, built or loaded on first use."""
    with _LOCK:
        if not _LOADED:
            _LOADED.append(SpeakerLibrary())
        return _LOADED[0]
