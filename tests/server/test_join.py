"""`layerw join`: two native clients started together, through `layerw serve`'s rooms, agree."""

from __future__ import annotations

import subprocess
import sys

from layerw.server.app import create_app
from layerw.server.catalog import StoreCatalog
from layerw.store.store import Store
from tests.server_thread import serving


def test_two_joins_print_the_same_state_hash(store: Store, tmp_path: object) -> None:
    with serving(create_app(StoreCatalog(store), store=store)) as url:
        room = f"{url}/play/pong?room=cli"
        cmd = [sys.executable, "-m", "layerw.cli", "join", room, "--headless", "--ticks", "300"]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    lasts = [out.strip().splitlines()[-1] for out, _ in outs]
    assert lasts[0].startswith("state-hash ") and lasts[0] == lasts[1]
    assert [out.strip().splitlines()[-2] for out, _ in outs] == ["tick 300", "tick 300"]
