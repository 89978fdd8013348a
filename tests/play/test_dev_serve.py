"""``layerw dev GAME --serve PORT`` as a user starts it: it says where it serves, and serves the
running build to browsers until stopped (Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from layerw.toolchain.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[2]
START_S = 300  # the first build, on a loaded machine
# `layerw` with Ctrl-C's default handler whatever this process was given: a shell's background job (a CI
# runner's, say) ignores SIGINT, a child inherits the ignore, and Python then leaves Ctrl-C ignored
CLI_WITH_CTRL_C = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "runpy.run_module('layerw.cli', run_name='__main__', alter_sys=True)")


def test_dev_serve_prints_its_url_and_serves_the_build(tmp_path: Path) -> None:
    game = scaffold(tmp_path / "served")
    proc = subprocess.Popen([sys.executable, "-c", CLI_WITH_CTRL_C, "dev", str(game), "--headless", "--serve", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="300", PYTHONFAULTHANDLER="1"))
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + START_S
        said: list[str] = []
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            said.append(line)
            found = re.search(r"serving served at (http://127\.0\.0\.1:\d+)/", line)
            url = found.group(1) if found else None
        assert url is not None, "".join(said)
        page = httpx.get(f"{url}/", follow_redirects=True, timeout=20)
        assert page.status_code == 200 and 'data-src="/dev/builds/1/"' in page.text
        assert httpx.get(f"{url}/dev/builds/1/game.json", timeout=20).json()["name"] == "served"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # say where it was (SIGABRT: faulthandler prints every thread's
            proc.send_signal(signal.SIGABRT)  # stack) and what it printed, and leave no process behind
            try:
                out, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            raise AssertionError(f"layerw dev did not stop within 60 s of Ctrl-C; it said:\n{''.join(said)}{out}") from None
    assert proc.returncode == 0, out
    assert "stopped" in out and "state-hash" in out
