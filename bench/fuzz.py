"""Fuzz: the hostile-input property tests and generated modules of tests/hostile, run long.

    python -m bench.fuzz                       every property x20 examples, x20 wasm-smith seeds (minutes)
    python -m bench.fuzz --scale 200 -k smith  just the generated modules, 4 800 seeds per flavour

The suite runs each property with a small, fixed (derandomised) example budget; here the budget is
multiplied by ``--scale`` and examples are random, so every run explores new inputs. A failure
prints the smallest input hypothesis found and a ``@reproduce_failure`` line to replay it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=20, help="examples and seeds per property, times the suite's")
    ap.add_argument("-k", dest="select", help="only tests matching this pytest -k expression")
    args = ap.parse_args(argv)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout", "0",
           str(ROOT / "tests" / "hostile"), *(["-k", args.select] if args.select else [])]
    env = os.environ | {"LAYERW_FUZZ_SCALE": str(args.scale)}
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
