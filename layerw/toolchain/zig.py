"""Zig: the C/C++ compiler, from the ``ziglang`` PyPI package (no system compiler needed).

The zig cache (where zig keeps the wasi-libc it builds on first use, 20-50 s) lives in
``ZIG_GLOBAL_CACHE_DIR`` when set, else ``~/.cache/layerw/zig``, so repeat builds are fast.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from layerw.errors import ToolchainError

TARGET = "wasm32-wasi"


def cache_dir() -> Path:
    env = os.environ.get("ZIG_GLOBAL_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "layerw" / "zig"


def run(args: list[str], cwd: Path | None = None, native: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``zig ARGS``; a missing ziglang package fails early with how to fix it."""
    if importlib.util.find_spec("ziglang") is None:
        raise ToolchainError("the ziglang package is missing: run `make test` (or pip install ziglang)")
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(cache_dir()))
    try:
        return subprocess.run([sys.executable, "-m", "ziglang", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, check=False)
    except OSError as e:
        raise ToolchainError(f"cannot run zig: {e}") from e
