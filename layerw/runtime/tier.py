"""Tier: which code generator runs a game's module, chosen once per game start (``start_game``).

- ``auto`` (the default): the AOT tier where it keeps every guarantee (a core module, the per-call
  deadline as its CPU limit, no debugger, Linux x86-64 with its toolchain), else wasmtime; the
  choice and its reason are logged at INFO (``layerw.runtime.tierchoice``).

- ``wasmtime``: Cranelift, in-process; its CPU limit (epoch, fuel, off) or the watchdog worker
  bounds each call (``CpuLimit``). Runs core modules, components and WASM-4 carts.
- ``aot``: the module translated ahead of time by wasm2c and compiled by zig to a native library
  (``layerw.runtime.aot``): every sandbox guarantee of the wasmtime tier (memory cap, a CPU
  deadline per call ending in GameTimedOut, stack overflow, the contract's imports only, the same
  typed errors and bit-identical state) at near-native speed; the deadline is a watchdog thread's signal
  that costs guest code nothing. Core modules on Linux x86-64 only.
"""

from __future__ import annotations

import enum


class Tier(enum.Enum):
    WASMTIME = "wasmtime"
    AOT = "aot"
    AUTO = "auto"
