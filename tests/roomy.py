"""A roomy per-call deadline for tests about something else than the deadline: ``[limits] tick_ms`` is
wall-clock time on wasmtime's epoch tier (its ticker) and in a browser (the page's Watchdog); only the
AOT tier and the watchdog worker (on Linux) count CPU time. So a loaded machine that starves a healthy
game for longer than its 100 ms may stop it with GameTimedOut."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOMY_TICK_MS = 5000  # no healthy tick or render comes near it, however loaded the machine


def with_roomy_deadline(build_dir: Path, dest: Path | None = None) -> Path:
    """Give the build at ``build_dir`` (or a copy of it at ``dest``) a ROOMY_TICK_MS deadline; returns
    the build directory changed."""
    if dest is not None:
        build_dir = Path(shutil.copytree(build_dir, dest))
    toml = build_dir / "layerw.toml"
    text = toml.read_text()
    lines = [line for line in text.splitlines() if line.startswith("tick_ms = ")]
    assert len(lines) == 1, f"{toml} has no single tick_ms line: {lines}"
    toml.write_text(text.replace(f"\n{lines[0]}\n", f"\ntick_ms = {ROOMY_TICK_MS}\n"))
    return build_dir
