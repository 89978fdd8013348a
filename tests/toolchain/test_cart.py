"""build_cart: WASM-4 carts from C (the project's zig) or WAT into a build directory, typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerw.bundle import Bundle
from layerw.cart import imports, is_cart
from layerw.errors import CompileError, ConfigError, GameOutOfMemory
from layerw.toolchain.cart import build_cart, is_cart_source
from tests.runtime.wasm4.conftest import CARTS


def test_a_c_cart_builds_to_one_imported_page_and_wasm4_imports(tmp_path: Path) -> None:
    out = build_cart(CARTS / "watris", tmp_path / "w")
    bundle = Bundle.open(out)
    assert is_cart(bundle.module) and bundle.config.width == bundle.config.height == 160
    found = {i.name: i for i in imports(bundle.module)}
    assert found["memory"].limits == (1, 1)
    assert {"blit", "rect", "text", "tone", "diskr", "diskw"} <= set(found)


def test_a_wat_cart_builds_and_bad_sources_fail_typed(tmp_path: Path) -> None:
    assert is_cart(Bundle.open(build_cart(CARTS / "raw-assembly", tmp_path / "r")).module)
    bad = tmp_path / "bad" / "src"
    bad.mkdir(parents=True)
    (bad / "main.c").write_text("void update(void) { this is not C; }\n")
    assert is_cart_source(bad.parent)
    with pytest.raises(CompileError, match="main.c"):
        build_cart(bad.parent, tmp_path / "bad-out")
    with pytest.raises(ConfigError, match="no cart sources"):
        build_cart(tmp_path / "bad-out")
    big = tmp_path / "big.wasm"
    big.write_bytes(bytes.fromhex("0061736d01000000") + bytes.fromhex("020f0103656e76066d656d6f7279020002"))
    with pytest.raises(GameOutOfMemory):  # imports a 2-page memory
        build_cart(big, tmp_path / "big-out")


def test_a_game_directory_is_not_a_cart_source(tmp_path: Path) -> None:
    (tmp_path / "layerw.toml").write_text('[game]\nname = "g"\n')
    (tmp_path / "main.c").write_text("")
    assert not is_cart_source(tmp_path) and not is_cart_source(tmp_path / "nothing")
