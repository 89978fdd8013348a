"""GuestMemory and Caller: what a host function sees of the instance that called it.

Host functions (``HostImports``, ``Wasi``) take the caller first and reach the guest's memory as
``caller.get("memory")``. On wasmtime these are ``wasmtime.Caller`` and ``wasmtime.Memory``; the
AOT tier passes its own (``layerw.runtime.aot.guest``) with the same methods, so each host
function is written once for every tier.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class GuestMemory(Protocol):
    """A guest's linear memory, read and written through the store (or caller) that owns it."""

    def read(self, store: Any, start: int, stop: int) -> bytearray: ...

    def write(self, store: Any, value: bytes | bytearray, start: int) -> Any: ...

    def data_len(self, store: Any) -> int: ...


class Caller(Protocol):
    """The calling instance, as a host function receives it."""

    def get(self, name: str) -> Any: ...
