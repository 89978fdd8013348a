"""A published version keeps its build's symbols outside its chunks: a game run from the store names
source lines in a trap, and unpublishing the version removes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerw.bundle import SYMBOLS_NAME
from layerw.errors import GameCrashed, NotPublished
from layerw.runtime.engine import Engine
from layerw.runtime.game import Game
from layerw.runtime.inputs import InputState
from layerw.store.bundle import StoreBundle
from layerw.store.local import LocalStore
from layerw.store.publish import publish
from tests.runtime.test_symbols import CRASH, WILD_STORE, line_of


def test_published_symbols_name_a_trap_and_go_with_their_version(built: Callable[[Path], Path], engine: Engine,
                                                                  tmp_path: Path) -> None:
    build = built(CRASH)
    store = LocalStore(tmp_path / "store")
    result = publish(build, store)
    assert store.symbols("crash", "1.0.0") == (build / SYMBOLS_NAME).read_bytes()
    assert result.bytes_total == len((build / "game.wasm").read_bytes())  # not among what players download
    with StoreBundle(str(tmp_path / "store"), "crash", cache_dir=tmp_path / "cache") as bundle, \
            Game(bundle, engine, seed=WILD_STORE, audio=False) as game:
        with pytest.raises(GameCrashed) as info:
            for _ in range(5):
                game.tick(InputState(1))
    assert f"at store_far (crash.c:{line_of('wild store')})" in str(info.value)

    publish(build, store, "other")  # the same content again: the version and its symbols stay as they were
    assert store.symbols("crash", "1.0.0") == (build / SYMBOLS_NAME).read_bytes()
    store.delete("channels/crash/latest.json")
    store.delete("channels/crash/other.json")
    store.delete_version("crash", "1.0.0")
    with pytest.raises(NotPublished, match="has no symbols"):
        store.symbols("crash", "1.0.0")
