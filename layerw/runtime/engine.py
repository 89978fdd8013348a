"""Engine: one wasmtime engine per CPU-limit mode, and the on-disk cache of compiled modules.

Compiling a game with Cranelift takes long enough to matter at start-up, so compiled artefacts
are cached by (module SHA-256, engine settings, wasmtime version): a warm start deserialises
instead of compiling. Components (games and plugins, ``compile_component``) share the cache; a
componentize-py plugin carries a whole CPython, seconds to compile cold, milliseconds warm. The
cache stays under ``LAYERW_CACHE_MAX_MB``, least recently used first (``layerw.diskbudget``).

With ``debug_info`` the engine compiles unoptimised and gives gdb or lldb native DWARF for the
guest's code (``layerw run --debug``, README "Debugging and profiling"); it skips the cache.

CPU limits (``CpuLimit``):
- ``epoch``: wasmtime epoch interruption; the epoch advances once per ``EPOCH_MS`` of the calling
  threads' CPU time (``EpochClock``: a loaded machine's waiting is not counted) and each call gets
  a deadline in epochs. Costs a check at each loop back-edge.
- ``fuel``: wasmtime fuel metering; each call gets ``FUEL_PER_MS`` units per millisecond of its
  deadline. Deterministic, but costs a counter update per basic block.
- ``off``: no checks; the call runs to completion (for trusted code and benchmarks).
- ``watchdog``: no checks in the guest; the game runs in a worker process that the host kills
  past the deadline (``layerw.runtime.worker``). Not an engine setting: an Engine refuses it, and
  ``layerw.runtime.open_game`` turns it into a worker running on an ``off`` engine.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import wasmtime
import wasmtime.component

from layerw.contract import wasm_features
from layerw.diskbudget import DiskBudget, cache_root, max_bytes_from_env
from layerw.errors import InvalidModule, UnsupportedCpuLimit
from layerw.observability import tracing
from layerw.runtime.ctypes_types import HELD as _HELD  # noqa: F401  (see that module)
from layerw.runtime.epochclock import EpochClock

log = logging.getLogger("layerw.engine")
_Compiled = TypeVar("_Compiled", wasmtime.Module, wasmtime.component.Component)

EPOCH_MS = 2
FUEL_PER_MS = 1_000_000
WASM_MAGIC = b"\0asm"
COMPONENT_LAYER = b"\x0d\x00\x01\x00"  # version 0xd, layer 1: a component, not a core module


class CpuLimit(enum.Enum):
    """How a game's calls are bounded in CPU time; ``open_game`` picks the host from it."""

    EPOCH = "epoch"
    FUEL = "fuel"
    OFF = "off"
    WATCHDOG = "watchdog"

    @property
    def in_process(self) -> bool:
        """True when an Engine enforces this limit itself (inside the guest's calls)."""
        return self is not CpuLimit.WATCHDOG


def cache_dir() -> Path:
    return cache_root() / "modules"


class Engine:
    """A wasmtime engine configured for games, with a compiled-module cache."""

    def __init__(self, cpu_limit: CpuLimit = CpuLimit.EPOCH, cache: Path | None = None,
                 cache_max_bytes: int | None = None, *, debug_info: bool = False) -> None:
        if not cpu_limit.in_process:
            raise UnsupportedCpuLimit(f"an Engine cannot enforce CPU limit {cpu_limit.value!r} in-process: open the game "
                                      f"with open_game(bundle, cpu_limit=CpuLimit.{cpu_limit.name}) to run it in a "
                                      "watchdog-bounded worker")
        self.cpu_limit = cpu_limit
        config = wasm_features()  # SIMD, and exceptions for C++ games built with [build] exceptions
        # debug_info: native DWARF for the JIT code, registered with gdb/lldb's JIT interface;
        # unoptimised, so lines and variables stay where the module's DWARF says
        self.debug_info = debug_info
        config.debug_info = debug_info
        config.cranelift_opt_level = "none" if debug_info else "speed"
        config.epoch_interruption = cpu_limit is CpuLimit.EPOCH
        config.consume_fuel = cpu_limit is CpuLimit.FUEL
        self.wasmtime = wasmtime.Engine(config)
        self.cache = cache if cache is not None else cache_dir()
        self.budget = DiskBudget([self.cache], cache_max_bytes if cache_max_bytes is not None else max_bytes_from_env())
        self._fingerprint = f"wasmtime-{version('wasmtime')}-{cpu_limit.value}-simd-exceptions-speed"
        self._cache_warned = False
        self._epochs = EpochClock(self.wasmtime.increment_epoch, EPOCH_MS / 1000) if cpu_limit is CpuLimit.EPOCH else None

    def compile(self, wasm: bytes) -> wasmtime.Module:
        """Compile (or load from the cache) a module; malformed bytes raise InvalidModule."""
        if wasm[:4] != WASM_MAGIC:
            # wasmtime would try to parse these bytes as WAT text: reject them here.
            raise InvalidModule(f"not a wasm binary module (starts with {wasm[:4]!r}, expected {WASM_MAGIC!r})")
        return self._cached(wasmtime.Module, b"", wasm, "module")

    def compile_component(self, wasm: bytes) -> wasmtime.component.Component:
        """Compile (or load from the cache) a component; anything else raises InvalidModule."""
        if wasm[:4] != WASM_MAGIC or wasm[4:8] != COMPONENT_LAYER:
            raise InvalidModule(f"not a wasm component (header {wasm[:8]!r}); build it with `layerw build --component`")
        return self._cached(wasmtime.component.Component, b"component\0", wasm, "component")

    def _key(self, tag: bytes, wasm: bytes) -> Path:
        digest = hashlib.sha256(self._fingerprint.encode() + b"\0" + tag + wasm).hexdigest()
        return self.cache / f"{digest}.cwasm"

    def _cached(self, kind: type[_Compiled], tag: bytes, wasm: bytes, what: str) -> _Compiled:
        with tracing.span("compile", kind=what, bytes=len(wasm)):  # milliseconds when cached, seconds when not
            return self._load_or_compile(kind, tag, wasm, what)

    def _load_or_compile(self, kind: type[_Compiled], tag: bytes, wasm: bytes, what: str) -> _Compiled:
        """Deserialise the cached artefact, else compile and cache it (a write failure is logged
        once and only costs the next start a compile)."""
        if self.debug_info:  # compiled fresh: the debugger learns of JIT code as it is compiled
            try:
                return kind(self.wasmtime, wasm)
            except wasmtime.WasmtimeError as e:
                raise InvalidModule(f"{what} does not validate: {str(e).splitlines()[0]}") from e
        path = self._key(tag, wasm)
        if path.is_file():
            try:
                compiled = kind.deserialize_file(self.wasmtime, str(path))
                self.budget.used(path)
                return compiled
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # stale or truncated artefact: compile again
        try:
            compiled = kind(self.wasmtime, wasm)
        except wasmtime.WasmtimeError as e:
            raise InvalidModule(f"{what} does not validate: {str(e).splitlines()[0]}") from e
        try:
            self.budget.write(path, compiled.serialize())  # a temporary file of its own: rooms compile on several threads
        except OSError as e:
            if not self._cache_warned:
                log.warning("cannot write compiled %ss to %s (%s): every start will compile", what, self.cache, e)
                self._cache_warned = True
        return compiled

    def is_cached(self, wasm: bytes) -> bool:
        return self._key(b"", wasm).is_file()

    def arm(self, store: wasmtime.Store, deadline_ms: int) -> None:
        """Give the next call into ``store``, made by this thread, its CPU budget."""
        if self._epochs is not None:
            self._epochs.watch()
            store.set_epoch_deadline(max(1, -(-deadline_ms // EPOCH_MS)) + 1)
        elif self.cpu_limit is CpuLimit.FUEL:
            store.set_fuel(deadline_ms * FUEL_PER_MS)

    def close(self) -> None:
        if self._epochs is not None:
            self._epochs.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
