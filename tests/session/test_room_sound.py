"""A room's game is heard by nobody: its ticks leave the game's sound block unread."""

from __future__ import annotations

from pathlib import Path

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.runtime.memoryhost import MemoryHost
from layerw.session.room import Room
from tests.runtime.sound.game import SCORE, build_game


def test_a_rooms_ticks_read_no_sound(tmp_path: Path, engine: Engine) -> None:
    room = Room("r", Bundle.open(build_game(tmp_path)), engine, seed=SCORE)
    try:
        for _ in range(60):
            room.step()
        assert isinstance(room.game, MemoryHost) and room.game.last_sound == (b"", 0, [])  # (it sounds by then)
    finally:
        room.close()
