"""bench/carts.py's workloads do what its table says: the busy cart draws all over the screen and
plays a tone each frame, the empty cart draws nothing; both keep the native host's state moving."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.carts import NativeCart, build_carts
from layerw.runtime.engine import Engine


def test_the_busy_cart_draws_and_sounds_every_frame(tmp_path: Path, engine: Engine) -> None:
    builds = build_carts(tmp_path)
    busy, empty = NativeCart(builds["busy-cart"], engine), NativeCart(builds["empty-cart"], engine)
    try:
        hashes = set()
        for _ in range(3):
            busy.frame()
            empty.frame()
            indices = busy.game.cart.framebuffer.indices()
            assert np.count_nonzero(indices) > 160 * 160 // 2  # blits, shapes and text cover most of the screen
            assert len(np.unique(indices)) == 4
            assert [t.tick for t in busy.game.tone_events] == [busy.game.tick_count - 1]
            hashes.add(busy.game.state_hash())
        assert len(hashes) == 3  # the frame counter and the blits move
        assert np.count_nonzero(empty.game.cart.framebuffer.indices()) == 0 and not empty.game.tone_events
    finally:
        busy.close()
        empty.close()
