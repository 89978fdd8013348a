"""Fixtures for the WASM-4 profile: example carts built by the project's toolchain, WAT carts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from layerw.cart import CartBundle
from layerw.toolchain.cart import compile_cart

CARTS = Path(__file__).resolve().parent / "carts"  # WASM-4's example carts (ISC, see carts/LICENSE.txt)


@pytest.fixture(scope="session")
def cart(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build an example cart once per session; returns its .wasm file."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = compile_cart(CARTS / name, tmp_path_factory.mktemp("carts") / f"{name}.wasm")
        return built[name]

    return get


def wat_cart(tmp: Path, wat: str, name: str = "wat-cart") -> CartBundle:
    """A cart assembled from WAT text, as a bundle."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return CartBundle(path)
