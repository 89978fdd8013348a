"""Plugin: a component that implements one interface a game imports, linked at load time.

The game's layerw.toml names the interface (fixed when the game is built) and the component that
implements it (chosen when the game is loaded): swapping the component changes behaviour without
rebuilding the game. Each plugin runs in a store of its own and gets only what its manifest
grants: its imports are classified into capabilities (``wasi:filesystem`` = files, ``wasi:sockets``
and ``wasi:http`` = network, the rest of ``wasi:`` = wasi: stdio, clocks, random) and a plugin that
imports anything not granted is refused before it runs (``CapabilityDenied``). "wasi" is linked
with ``add_wasip2`` and an empty WASI context (no preopened directory, no environment, no sockets).

The game's calls reach the plugin through host functions (the component values pass through the
host once); a trap inside the plugin becomes ``PluginCrashed`` naming the plugin, raised from the
game's call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime
import wasmtime.component as wc

from layerw.bundle import Bundle
from layerw.config import PluginRef
from layerw.errors import CapabilityDenied, InvalidModule, PluginCrashed
from layerw.runtime.canon import Caller, trap_of
from layerw.runtime.engine import Engine

CAPABILITY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("wasi:filesystem/", "files"), ("wasi:sockets/", "network"), ("wasi:http/", "network"), ("wasi:", "wasi"),
)


def capability_of(import_name: str) -> str:
    """The capability an import needs; anything outside WASI is no capability a host can grant."""
    for prefix, capability in CAPABILITY_PREFIXES:
        if import_name.startswith(prefix):
            return capability
    return f"import {import_name}"


class Plugin:
    def __init__(self, bundle: Bundle, ref: PluginRef, engine: Engine, *, game: str) -> None:
        self.ref = ref
        self.slot = ref.slot
        self.game = game
        self.engine = engine
        self.deadline_ms = bundle.config.tick_ms
        self.component = engine.compile_component(bundle.read_plugin(ref))
        self._check_capabilities(engine)
        self.store = wasmtime.Store(engine.wasmtime)
        self.store.set_limits(memory_size=bundle.config.memory_bytes)
        linker = wc.Linker(engine.wasmtime)
        if "wasi" in ref.capabilities:
            linker.add_wasip2()
            self.store.set_wasi(wasmtime.WasiConfig())
        engine.arm(self.store, self.deadline_ms)
        try:
            instance = linker.instantiate(self.store, self.component)
        except wasmtime.WasmtimeError as e:
            trap = trap_of(e)
            if trap is not None:
                raise self._crashed(*trap, "instantiate", -1) from e
            raise InvalidModule(f"plugin {self.slot!r} of {game} cannot be instantiated: {str(e).splitlines()[0]}") from e
        self.funcs = self._exports(instance, engine)

    def _check_capabilities(self, engine: Engine) -> None:
        needs: dict[str, list[str]] = {}
        for name in self.component.type.imports(engine.wasmtime):
            capability = capability_of(name)
            if capability not in self.ref.capabilities:
                needs.setdefault(capability, []).append(name)
        if needs:
            listed = "; ".join(f"{cap} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
                               for cap, names in sorted(needs.items()))
            raise CapabilityDenied(f"plugin {self.slot!r} of {self.game} needs capabilities its manifest does not grant: "
                                   f"{listed}. Grant them in [plugins.{self.slot}] capabilities (a plugin may be "
                                   "granted only \"wasi\") or use a plugin that does without",
                                   component=self.slot, missing=tuple(sorted(needs)))

    def _exports(self, instance: wc.Instance, engine: Engine) -> dict[str, Caller]:
        index = instance.get_export_index(self.store, self.ref.interface)
        extern = self.component.type.exports(engine.wasmtime).get(self.ref.interface)
        exported = extern.ty if extern is not None else None
        if index is None or not isinstance(exported, wc.ComponentInstanceType):
            raise InvalidModule(f"plugin {self.slot!r} of {self.game} does not export {self.ref.interface}")
        funcs = {}
        for name in exported.exports(engine.wasmtime):
            func_index = instance.get_export_index(self.store, name, index)
            func = instance.get_func(self.store, func_index) if func_index is not None else None
            if func is not None:
                funcs[name] = Caller(func, self.store)
        return funcs

    def define(self, linker: wc.Linker, tick: Callable[[], int]) -> None:
        """Offer the plugin's functions to the game as the interface it imports."""
        with linker.root() as root, root.add_instance(self.ref.interface) as iface:
            for name, caller in self.funcs.items():
                iface.add_func(name, self._forward(name, caller, tick))

    def _forward(self, name: str, caller: Caller, tick: Callable[[], int]) -> Callable[..., Any]:
        def call(store: Any, *args: Any) -> Any:
            self.engine.arm(self.store, self.deadline_ms)
            try:
                return caller(*args)
            except wasmtime.WasmtimeError as e:
                trap = trap_of(e) or ("error", str(e).splitlines()[0])
                raise self._crashed(*trap, name, tick()) from e
        return call

    def _crashed(self, code: str, message: str, call: str, tick: int) -> PluginCrashed:
        what = "ran past the game's CPU deadline" if code == "interrupt" else f"trapped at tick {tick} in {call}"
        return PluginCrashed(f"plugin {self.slot!r} of {self.game} {what}: {message}",
                             game=self.game, tick=tick, plugin=self.slot, trap_code=code)

    def close(self) -> None:
        self.funcs = {}
        self.store.close()
