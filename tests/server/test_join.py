"""`layerw join`: two native clients started together, through `layerw serve`'s rooms, agree."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.store.store import Store
from tests.conftest import GAMES
from tests.server_thread import serving


def test_two_joins_print_the_same_state_hash(store: Store) -> None:
    with serving(create_app(StoreCatalog(store), store=store)) as url:
        room = f"{url}/play/pong?room=cli"
        cmd = [sys.executable, "-m", "layerw.cli", "join", room, "--headless", "--ticks", "300"]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    lasts = [out.strip().splitlines()[-1] for out, _ in outs]
    assert lasts[0].startswith("state-hash ") and lasts[0] == lasts[1]
    assert [out.strip().splitlines()[-2] for out, _ in outs] == ["tick 300", "tick 300"]


def test_run_from_a_server_as_a_read_only_store(store: Store, built: Callable[[Path], Path], tmp_path: Path) -> None:
    build = built(GAMES / "pong")
    run = ["--headless", "--ticks", "120", "--seed", "3"]

    def last_hash(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "layerw.cli", "run", *args, *run], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "LAYERW_CACHE_DIR": str(tmp_path)})
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    with serving(create_app(StoreCatalog(store), store=store)) as url:
        assert last_hash("pong", "--store", url) == last_hash(str(build))


def test_join_in_a_window_on_a_virtual_display(store: Store) -> None:
    """Without --headless the player sees the room in a real window (here on Xvfb)."""
    with serving(create_app(StoreCatalog(store), store=store)) as url:
        proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "layerw.cli", "join",
                               f"{url}/play/pong?room=window", "--ticks", "120"],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == "tick 120" and lines[-1].startswith("state-hash ")
