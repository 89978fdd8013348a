"""Server fixtures: a local store with the sample games published into it by the real publisher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from layerw.store import open_store
from layerw.store.publish import publish
from layerw.store.store import Store
from tests.conftest import GAMES


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, built: Callable[[Path], Path]) -> Iterator[Store]:
    with open_store(str(tmp_path_factory.mktemp("store"))) as s:
        for game in ("pong", "sprites"):
            publish(built(GAMES / game), s, "latest")
        yield s
