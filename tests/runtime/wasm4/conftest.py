"""Fixtures for the WASM-4 profile: example carts built by the project's toolchain, WAT carts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from layerw.cart import CartBundle
from layerw.toolchain import zig
from layerw.toolchain.cart import compile_cart

CARTS = Path(__file__).resolve().parent / "carts"  # WASM-4's example carts (ISC, see carts/LICENSE.txt)
COMPAT = Path(__file__).resolve().parent / "compat"  # carts of ours written as other toolchains write them
# WASM-4's Zig template's build: no entry point, start and update exported, the memory imported at
# exactly one page, an 8 KiB stack first and the data after it
ZIG_CART_FLAGS = ["-target", "wasm32-freestanding", "-O", "ReleaseSmall", "-fno-entry", "--export=start",
                  "--export=update", "--import-memory", "--initial-memory=65536", "--max-memory=65536",
                  "--stack", "8192", "--global-base=14752"]


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


def build_zig_cart(out: Path) -> Path:
    """compat/zigcart.zig built into ``out`` as WASM-4's Zig template builds a cart, with the project's zig."""
    proc = zig.run(["build-exe", str(COMPAT / "zigcart.zig"), *ZIG_CART_FLAGS, f"-femit-bin={out}"], cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def zig_cart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_zig_cart(tmp_path_factory.mktemp("zig-cart") / "zigcart.wasm")
