"""`layerw run --online-saves URL`: a native game's slots go to the server when the play ends and
come back on another device (another save directory, the same player key) before its game starts;
a slot deleted in play is deleted there too, and another player's key sees none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from layerw.play.online_saves import OnlineSaves, PlayerKey
from layerw.play.play import PlayOptions, play
from layerw.play.save_sync import SaveSync
from layerw.saves import Saves, Slot
from layerw.server.app import create_app
from layerw.server.catalog import DirCatalog
from layerw.store.local import LocalStore
from tests.runtime.test_saves import saves_wat
from tests.server_thread import serving
from tests.wat import bundle


def test_slots_follow_the_player_to_another_device(tmp_path: Path) -> None:
    writer = bundle(tmp_path / "writer", saves_wat(), name="saver")  # tick 0 writes slot "progress" (16 bytes, v7)
    reader = bundle(tmp_path / "reader", saves_wat(write_len=None), name="saver")
    key_file = tmp_path / "player.key"
    with serving(create_app(DirCatalog([tmp_path / "writer"]), store=LocalStore(tmp_path / "store"))) as url:
        run = subprocess.run([sys.executable, "-m", "layerw.cli", "run", str(tmp_path / "writer"), "--headless",
                              "--ticks", "2", "--saves", str(tmp_path / "device-a"), "--online-saves", url,
                              "--player-key", str(key_file)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        written = Saves(tmp_path / "device-a").read("progress")
        assert written == Slot(7, bytes(range(16)))
        key = PlayerKey.load_or_create(key_file)
        with OnlineSaves(url, "saver", key) as online:
            assert online.read("progress") == written  # pushed when the play ended
        with OnlineSaves(url, "saver", PlayerKey.load_or_create(tmp_path / "other.key")) as other:
            assert other.names() == []  # nobody else's

        play(reader, PlayOptions(ticks=1, saves=tmp_path / "device-b", online_saves=url, player_key=key_file))
        assert Saves(tmp_path / "device-b").read("progress") == written  # pulled before the game started

        with SaveSync(Saves(tmp_path / "device-b"), OnlineSaves(url, "saver", key)) as sync:
            sync.pull()
            Saves(tmp_path / "device-b").delete("progress")  # as a game deleting its slot in play
            assert sync.push() == ["progress"]
        with OnlineSaves(url, "saver", key) as online:
            assert online.names() == []
    assert writer.config.name == reader.config.name == "saver"
